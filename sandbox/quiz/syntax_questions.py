"""Generated command-syntax questions (the practice set's `deploy --regions` kind): every option
that is a command line is judged by the real `mrsandbox deploy` parser."""

from __future__ import annotations

import random

from sandbox.quiz.model import Question
from sandbox.quiz.options import Variant, choices
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


def command_lines(variant: Variant) -> dict[str, str]:
    """The right command line and one per mistake, for the variant's regions and model."""
    r, model = variant.regions, variant.model
    listed = ",".join(r)
    spaced = " ".join(r)
    return {
        "": f"mrsandbox deploy --regions {listed} {model}",
        "spaces": f"mrsandbox deploy --regions {spaced} {model}",
        "singular_flag": f"mrsandbox deploy --region {spaced} {model}",
        "brackets": f"mrsandbox deploy --regions [{listed}] {model}",
        "no_model": f"mrsandbox deploy --regions {listed}",
        "flag_twice": f"mrsandbox deploy --regions {r[0]} --regions {','.join(r[1:])} {model}",
        "unknown_model": f"mrsandbox deploy --regions {listed} {model.replace('_v', '-v')}",
        "unknown_region": f"mrsandbox deploy --regions {listed.replace('-', '_', 1)} {model}",
        "repeated_region": f"mrsandbox deploy --regions {listed},{r[0]} {model}",
    }


def which_command(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "Which command deploys MODEL to these regions?": the only line the parser accepts."""
    verdicts = {line: judge(line) for line in command_lines(variant).values()}
    right = [
        line
        for line, v in verdicts.items()
        if v.accepted and v.regions == variant.regions and v.model == variant.model
    ]
    if len(right) != 1:
        return None
    distractors = [
        (line, f"mrsandbox deploy refuses it: {v.message}")
        for line, v in verdicts.items()
        if not v.accepted
    ]
    options = choices(right[0], "Right: mrsandbox deploy accepts it.", distractors, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        text=f"Which command line deploys {variant.model} to {_both(variant.regions)}?",
        options=options,
        hint="Use commas to separate regions after the --regions flag, then the model.",
        solution=(
            "The flag for several regions is --regions, with one comma-separated value.",
            f"{right[0]} is accepted; each other line is refused with a usage error.",
        ),
        mistakes=tuple(MISTAKES[m] for m in ("singular_flag", "spaces", "brackets")),
        difficulty="easy",
        source=right[0],
    )


def what_happens(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "Given this command, what will happen?": the regions it deploys to, or a usage error."""
    lines = command_lines(variant)
    line = rng.choice([lines[""], lines[rng.choice(list(MISTAKES))]])
    verdict = judge(line)
    r = variant.regions
    fails = "The command fails with a usage error (exit status 2)"
    texts = {
        r: f"The model is deployed to {_both(r)}",
        r[:1]: f"The model is deployed to {r[0]} only",
        r[-1:]: f"The model is deployed to {r[-1]} only",
        tuple(reversed(r)): f"The model is deployed to {_both(tuple(reversed(r)))}, in that order",
    }
    if verdict.accepted and verdict.regions not in texts:
        return None
    key = texts[verdict.regions] if verdict.accepted else fails
    told = _told(verdict)
    options = choices(
        key,
        f"Right: {told}",
        [(fails, f"It parses: {told}"), *((t, f"No: {told}") for t in texts.values())],
        rng,
    )
    if options is None:
        return None
    return Question(
        id=qid,
        text="Given this deployment command, what will happen?",
        code=line,
        options=options,
        hint="Commas separate regions; every listed region is deployed, in the listed order.",
        solution=(told,),
        mistakes=(
            ("Assuming only the first region is used", "Thinking valid syntax is invalid")
            if verdict.accepted
            else ("Assuming the command guesses what was meant", "Missing a syntax mistake")
        ),
        difficulty="medium",
        source=line,
    )


def likely_error(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "It fails. What is the likely error?": the mistake the parser names."""
    mistake = rng.choice(list(MISTAKES))
    line = command_lines(variant)[mistake]
    verdict = judge(line)
    if verdict.accepted or verdict.mistake not in MISTAKES:
        return None
    told = _told(verdict)
    options = choices(
        MISTAKES[verdict.mistake],
        f"Right: {told}",
        [
            (text, f"No: {told}")
            for m, text in MISTAKES.items()
            if m != verdict.mistake and m not in ALSO_TRUE.get(verdict.mistake, ())
        ],
        rng,
    )
    if options is None:
        return None
    return Question(
        id=qid,
        text="You run this command to deploy, but it fails. What is the likely error?",
        code=line,
        options=options,
        hint="Run it: mrsandbox deploy says what is wrong and prints the line to type instead.",
        solution=(told,),
        mistakes=("Blaming the model name for a region-list mistake",),
        difficulty="medium",
        source=line,
    )


def _both(regions: tuple[str, ...]) -> str:
    return ", ".join(regions[:-1]) + f" and {regions[-1]}" if len(regions) > 1 else regions[0]


def _told(verdict: Verdict) -> str:
    if verdict.accepted:
        return f"mrsandbox deploy deploys to {', '.join(verdict.regions)}, in that order."
    return f"mrsandbox deploy refuses it: {verdict.message}"
