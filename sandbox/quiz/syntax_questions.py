"""Generated command-syntax questions (the practice set's `deploy --regions` kind): every option
that is a command line is judged by the real `mrsandbox deploy` parser, and every wrong option's
feedback is the parser's verdict on the command that option describes."""

from __future__ import annotations

import random
import shlex

from sandbox.quiz.model import Question, rubric
from sandbox.quiz.options import Variant, Wrong, choices
from sandbox.quiz.runs import Verdict, judge

# The parser's name for a mistake -> how a learner would say it.
MISTAKES = {
    "spaces": "Missing comma between regions",
    "singular_flag": "--region takes one region; several need --regions",
    "brackets": "Regions must not be put in brackets",
    "no_model": "The model name is missing",
    "flag_twice": "--regions is given twice instead of one list",
    "unknown_model": "The model name is not a known model",
    "unknown_region": "A region name is misspelled",
    "repeated_region": "A region is listed twice",
}
# Descriptions that also fit another mistake's line, so they are never its distractors: the fix
# of `--region a b` and of `--regions a --regions b` does add commas.
ALSO_TRUE = {"singular_flag": {"spaces"}, "flag_twice": {"spaces"}}
REFUSED = "The command is refused with a usage error (exit status 2)"


def command_lines(variant: Variant) -> dict[str, str]:
    """One line per mistake, for the variant's regions and model."""
    r, model = variant.regions, variant.model
    listed = ",".join(r)
    spaced = " ".join(r)
    misspelt = ",".join((_misspelt(r[0]), *r[1:]))
    return {
        "spaces": f"mrsandbox deploy --regions {spaced} {model}",
        "singular_flag": f"mrsandbox deploy --region {spaced} {model}",
        "brackets": f"mrsandbox deploy --regions [{listed}] {model}",
        "no_model": f"mrsandbox deploy --regions {listed}",
        "flag_twice": f"mrsandbox deploy --regions {r[0]} --regions {','.join(r[1:])} {model}",
        "unknown_model": f"mrsandbox deploy --regions {listed} {model.replace('_v', '-v')}",
        "unknown_region": f"mrsandbox deploy --regions {misspelt} {model}",
        "repeated_region": f"mrsandbox deploy --regions {listed},{r[0]} {model}",
    }


def right_lines(regions: tuple[str, ...], model: str) -> list[str]:
    """Lines that deploy `model` to `regions` in that order, written four accepted ways."""
    listed = ",".join(regions)
    return [
        f"mrsandbox deploy --regions {listed} {model}",
        f"mrsandbox deploy --regions {shlex.quote(', '.join(regions))} {model}",
        f"mrsandbox deploy {model} --regions {listed}",
        f"mrsandbox deploy --regions={listed} {model}",
    ]


def which_command(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "Which command line deploys MODEL to these regions?" (one accepted line among refused
    ones) or "Which one is refused?" (one refused line among accepted ones), half each, so that
    no way of writing a line is the key more often than the others."""
    accepted = right_lines(variant.regions, variant.model)
    refused = command_lines(variant)
    verdicts = {line: judge(line) for line in [*accepted, *refused.values()]}
    if any(not verdicts[line].accepted for line in accepted):
        return None
    if any(verdicts[line].accepted for line in refused.values()):
        return None
    said = {line: _told(v) for line, v in verdicts.items()}
    if rng.random() < 0.5:
        key = rng.choice(accepted)
        text = f"Which command line deploys {variant.model} to {_both(variant.regions)}?"
        wrong = [Wrong(line, m, said[line]) for m, line in refused.items()]
        right = f"Right: {said[key]}"
        rule = f"{key} is accepted; each other line is refused with a usage error."
    else:
        mistake = rng.choice(list(refused))
        key = refused[mistake]
        text = (
            f"Three of these lines deploy {variant.model} to {_both(variant.regions)}. "
            "Which one is refused?"
        )
        wrong = [Wrong(line, "valid_is_invalid", said[line]) for line in accepted]
        right = f"Right: {said[key]}"
        rule = f"{key} is refused: {verdicts[key].message}"
    options = choices(key, right, wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="syntax",
        text=text,
        options=options,
        hint="Read each line as the parser does: one --regions flag whose value is one "
        "comma-separated list, and the model as the one argument.",
        solution=(
            "The flag for several regions is --regions, with one comma-separated value.",
            rule,
        ),
        mistakes=tuple(MISTAKES[m] for m in ("singular_flag", "spaces", "brackets")),
        difficulty=rubric(2, rule_suffices=True),
        source=key,
    )


def what_happens(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "Given this command, what will happen?": the regions it deploys to, in order, or a usage
    error. What the line does is drawn first, evenly over the options' kinds."""
    r, model = variant.regions, variant.model
    texts = {
        r: f"The model is deployed to {_then(r)}",
        tuple(reversed(r)): f"The model is deployed to {_then(tuple(reversed(r)))}",
        r[:1]: f"The model is deployed to {r[0]} only",
        r[-1:]: f"The model is deployed to {r[-1]} only",
    }
    effect = rng.choice([*texts, "refused"])
    if effect == "refused":
        line = command_lines(variant)[rng.choice(list(MISTAKES))]
    elif len(effect) == 1:
        line = f"mrsandbox deploy --region {effect[0]} {model}"
    else:
        line = rng.choice(right_lines(tuple(effect), model))
    verdict = judge(line)
    if verdict.accepted and verdict.regions not in texts:
        return None
    key = texts[verdict.regions] if verdict.accepted else REFUSED
    told = _told(verdict)
    listed = verdict.regions if verdict.accepted else ()

    def misread(regions: tuple[str, ...]) -> str:
        """The belief behind an option deploying `regions` when the line deploys `listed`."""
        if not listed:
            return "parser_guesses"
        if len(listed) == 1:
            return "unnamed_regions"
        if len(regions) > 1:
            return "order_ignored"
        return "first_listed_only" if regions[0] == listed[0] else "last_listed_only"

    wrong = [
        Wrong(REFUSED, "valid_is_invalid", told),
        *(Wrong(t, misread(regions), told) for regions, t in texts.items()),
    ]
    options = choices(key, f"Right: {told}", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="effect",
        text="Given this deployment command, what will happen?",
        code=line,
        options=options,
        hint="Read the line as the parser does: the flag, its value, then the model.",
        solution=(told,),
        mistakes=(
            ("Assuming only the first region is used", "Thinking valid syntax is invalid")
            if verdict.accepted
            else ("Assuming the command guesses what was meant", "Missing a syntax mistake")
        ),
        difficulty=rubric(2, rule_suffices=True),
        source=line,
    )


def likely_error(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "It fails. What is the likely error?": the mistake the parser names; each wrong option's
    feedback shows a line with the mistake it names and the parser's verdict on that line."""
    lines = command_lines(variant)
    mistake = rng.choice(list(MISTAKES))
    verdict = judge(lines[mistake])
    if verdict.accepted or verdict.mistake not in MISTAKES:
        return None
    wrong = []
    for m, text in MISTAKES.items():
        if m == verdict.mistake or m in ALSO_TRUE.get(verdict.mistake, ()):
            continue
        why = f"A line with that mistake, {lines[m]}, gets: {judge(lines[m]).message}"
        wrong.append(Wrong(text, "wrong_diagnosis", why))
    told = _told(verdict)
    options = choices(MISTAKES[verdict.mistake], f"Right: {told}", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="mistake",
        text="You run this command to deploy, but it fails. What is the likely error?",
        code=lines[mistake],
        options=options,
        hint="Run it: mrsandbox deploy says what is wrong and prints the line to type instead.",
        solution=(told,),
        mistakes=("Blaming the model name for a region-list mistake",),
        difficulty=rubric(1),
        source=lines[mistake],
    )


def _misspelt(region: str) -> str:
    """`region` as a typing slip would give it: its first '-' as '_', or its last letter twice."""
    return region.replace("-", "_", 1) if "-" in region else region + region[-1]


def _both(regions: tuple[str, ...]) -> str:
    return ", ".join(regions[:-1]) + f" and {regions[-1]}" if len(regions) > 1 else regions[0]


def _then(regions: tuple[str, ...]) -> str:
    return ", then ".join(regions)


def _told(verdict: Verdict) -> str:
    if verdict.accepted:
        return f"mrsandbox deploy accepts it and deploys to {_then(verdict.regions)}."
    return f"mrsandbox deploy refuses it: {verdict.message}"
