"""Question sets written as TOML (the material's `visual` and `practice` sets in `quizzes/`, or an
instructor's own file in the same format): loaded, validated, and keyed by running the sandbox.

Each question's `[key]` table names the run that decides it (see `quizzes/README.md`); an
`answer` letter, where the set gives one, must agree with that run or the set does not load.
"""

from __future__ import annotations

import difflib
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from sandbox.args.common import MISTAKE_NAMES
from sandbox.args.request import is_model_name
from sandbox.core.checks import Range
from sandbox.core.documents import Doc, bundled_names, read_toml, show
from sandbox.core.models import bundled_models
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidQuiz, UnknownRegion
from sandbox.flow.deployment import Deployment
from sandbox.flow.sample import CALLS
from sandbox.flow.tracer import WATCHED, display
from sandbox.quiz.misconceptions import MISCONCEPTIONS
from sandbox.quiz.model import DIFFICULTIES, LETTERS, Option, Question, Quiz
from sandbox.quiz.runs import Verdict, deploy_words, judge, run_command

# What an option of a `mistake` question may mean: a mistake the parser names, or "other" for
# a belief the parser never states (e.g. "the flag should be singular").
MEANINGS = (*MISTAKE_NAMES, "other")
KINDS = ("state", "step", "left_out", "accepted", "effect", "mistake", "material")
QUESTION_KEYS = (
    *("id", "text", "code", "difficulty", "options", "answer"),
    *("hint", "solution", "mistakes", "key"),
)
KEY_KEYS = ("kind", "run", "variable", "step", "action", "call", "regions")
OPTION_KEYS = ("text", "means", "feedback", "misconception")
UNNAMED = "other"  # the misconception of a wrong option whose set names none


def material_sets() -> list[str]:
    """Names of the question sets shipped with the package (`visual`, `practice`)."""
    return bundled_names(files("sandbox.quizzes"))


def load_set(name_or_path: str | os.PathLike[str]) -> Quiz:
    """Load a bundled question set by name, or a set file by path, with every key computed."""
    document, source = read_toml(name_or_path, files("sandbox.quizzes"), "set", InvalidQuiz)
    name = os.path.basename(source).removesuffix(".toml")
    return parse_set(document, source, name)


def parse_set(document: dict[str, Any], source: str, name: str) -> Quiz:
    """A set document as a `Quiz`; errors name the file, the key path and the fix."""
    top = Doc(document, "", source, ("title", "questions"), InvalidQuiz)
    items = top.tables("questions")
    if not items:
        raise top.fail("questions", "no questions; add [[questions]] tables")
    title = top.text("title", name)
    questions: list[Question] = []
    for i, item in enumerate(items):
        question = _question(top.child(item, f"questions[{i}]", QUESTION_KEYS))
        same = [n for n, q in enumerate(questions) if q.id == question.id]
        if same:
            message = f"{question.id!r} is already the id of questions[{same[0]}]"
            raise top.fail(f"questions[{i}].id", message)
        questions.append(question)
    return Quiz(name, title, tuple(questions))


@dataclass(frozen=True)
class _Choice:
    text: str
    means: Any
    feedback: str
    misconception: str


def _choices(q: Doc) -> list[_Choice]:
    raw = q.table.get("options")
    if not isinstance(raw, list) or not 3 <= len(raw) <= len(LETTERS):
        raise q.fail(q.path("options"), f"expected a list of 3 to {len(LETTERS)} options")
    choices = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"text": item}
        elif not isinstance(item, dict):
            message = f'expected a string or a table {{ text = "..." }}, got {show(item)}'
            raise q.fail(q.path(f"options[{i}]"), message)
        o = q.child(item, q.path(f"options[{i}]"), OPTION_KEYS)
        means = o.table.get("means")
        if means is not None and not isinstance(means, str):
            means = o.strings("means")
        text, feedback = o.text("text").strip(), _optional_text(o, "feedback")
        choices.append(_Choice(text, means, feedback, _optional_text(o, "misconception")))
    texts = [c.text for c in choices]
    twice = sorted({t for t in texts if texts.count(t) > 1})
    if twice:
        raise q.fail(q.path("options"), f"option {twice[0]!r} appears more than once")
    return choices


def _optional_text(doc: Doc, key: str) -> str:
    value = doc.table.get(key, "")
    if not isinstance(value, str):
        raise doc.fail(doc.path(key), f"expected a string, got {show(value)}")
    return value


def _question(q: Doc) -> Question:
    choices = _choices(q)
    code = _optional_text(q, "code")
    key = q.sub("key", KEY_KEYS)
    kind = key.text("kind", choices=KINDS)
    answer = q.table.get("answer")
    letters = LETTERS[: len(choices)]
    if answer is not None and (not isinstance(answer, str) or answer not in letters):
        raise q.fail(q.path("answer"), f"expected one of {', '.join(letters)}, got {show(answer)}")
    if kind == "material":
        if answer is None:
            raise q.fail(q.path("answer"), "missing; a material key needs the answer letter")
        correct = [letter == answer for letter in letters]
        feedback, source, found, evidence = ["" for _ in choices], "", "", ""
        beliefs = [UNNAMED for _ in choices]
    else:
        keyed = KEYERS[kind](q, key, choices, code)
        correct, feedback, beliefs, source, found, evidence = keyed
    hits = [letters[i] for i, ok in enumerate(correct) if ok]
    if len(hits) != 1:
        fits = f"options {' and '.join(hits)} all fit" if hits else "no option fits"
        raise q.fail(q.path("key"), f"{found}, and {fits}")
    if answer is not None and hits[0] != answer:
        raise q.fail(
            q.path("answer"),
            f"the set says {answer}, but {found}: option {hits[0]} "
            f"({choices[letters.index(hits[0])].text})",
        )
    return Question(
        id=q.text("id"),
        text=q.text("text"),
        code=code,
        options=tuple(
            Option(c.text, ok, c.feedback or fb, None if ok else c.misconception or belief)
            for c, ok, fb, belief in zip(choices, correct, feedback, beliefs, strict=True)
        ),
        kind=kind,
        evidence=evidence,
        hint=_optional_text(q, "hint"),
        solution=tuple(q.strings("solution", [])),
        mistakes=tuple(q.strings("mistakes", [])),
        difficulty=q.text("difficulty", "medium", DIFFICULTIES),
        source=source,
    )


# correct, feedback and misconception per option, the command behind the key, what the run
# found, and the tables of the run the question is about
Keyed = tuple[list[bool], list[str], list[str], str, str, str]


def _by_text(
    choices: list[_Choice], key_text: str, evidence: str, beliefs: dict[str, str]
) -> tuple[list[bool], list[str], list[str]]:
    correct = [c.text == key_text for c in choices]
    feedback = [f"{'Right' if ok else 'No'}: {evidence}." for ok in correct]
    return correct, feedback, [beliefs.get(c.text, UNNAMED) for c in choices]


def _tables(d: Deployment) -> str:
    """The run's Process Table and full Status Tracker, as the terminal shows them."""
    return f"{d.trace.process_table().to_text()}\n\n{d.trace.status_tracker('full').to_text()}"


def _state(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    run = key.text("run")
    variable = key.text("variable", choices=WATCHED)
    d = _run(key, run)
    step = int(key.number("step", None, Range(0, len(d.trace.steps), whole=True)))
    shown = [display(s[variable]) for s in d.trace.snapshots]
    value = shown[step]
    found = f"`{run}` gives {variable} = {value} after step {step}"
    value_now = d.trace.snapshots[step][variable]
    latest = {k: value_now[k] for k in list(value_now)[-1:]} if isinstance(value_now, dict) else {}
    beliefs = {display(latest): "latest_only", shown[-1]: "final_state", shown[0]: "step_before"}
    if step + 1 < len(shown):
        beliefs[shown[step + 1]] = "step_after"
    if step > 0:
        beliefs[shown[step - 1]] = "step_before"
    keyed = _by_text(choices, value, f"after step {step}, {variable} is {value}", beliefs)
    return (*keyed, run, found, _tables(d))


def _step(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    run = key.text("run")
    action = key.text("action")
    d = _run(key, run)
    trace = d.trace
    steps = [s.step for s in trace.steps if s.action == action]
    if not steps:
        actions = ", ".join(dict.fromkeys(s.action for s in trace.steps))
        message = f"the run has no step {action!r}; its actions: {actions}"
        raise key.fail(key.path("action"), message)
    answer = f"Step {steps[0]}"
    found = f"`{run}` has {action!r} at step {steps[0]}"
    beliefs = {
        f"Step {s.step}": "end_row"
        if s.action == "End"
        else ("step_before" if s.step < steps[0] else "step_after")
        for s in trace.steps
    }
    keyed = _by_text(choices, answer, f"{action!r} is step {steps[0]}", beliefs)
    return (*keyed, run, found, _tables(d))


def _left_out(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    run = key.text("run")
    call = key.text("call")
    if call.partition(":")[0] not in CALLS:
        raise key.fail(key.path("call"), f"expected one of {', '.join(CALLS)}, got {call!r}")
    without = f"{run} --leave-out {call}"
    full = _run(key, run)
    names = unchanged_without(full, _run(key, without))
    if len(names) != 1:
        kept = ", ".join(names) or "none"
        raise key.fail(
            key.path("call"),
            f"leaving it out keeps {len(names)} variables at their start value ({kept}); "
            "leave out a call that only one variable depends on, e.g. monitor_health",
        )
    evidence = f"without {call}, {names[0]} keeps its start value; the full run changes it"
    found = f"`{without}` keeps {names[0]} at its start value"
    beliefs = {v: "still_changes" for v in WATCHED}
    return (*_by_text(choices, names[0], evidence, beliefs), without, found, _tables(full))


def unchanged_without(full: Deployment, without: Deployment) -> list[str]:
    """The watched variables that keep their start value without a call, unlike the full run."""
    start, end, real = without.trace.snapshots[0], without.trace.snapshots[-1], full.trace
    return [v for v in WATCHED if end[v] == start[v] != real.snapshots[-1][v]]


def _accepted(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    wanted = tuple(key.strings("regions"))
    catalog = RegionCatalog.default()
    for region in wanted:
        try:
            catalog.check(region)
        except UnknownRegion as e:
            raise key.fail(key.path("regions"), str(e)) from None
    verdicts = [_judge(q, f"options[{i}]", c.text) for i, c in enumerate(choices)]
    correct = [v.accepted and v.regions == wanted for v in verdicts]
    feedback = [
        f"mrsandbox deploy reads regions {', '.join(v.regions)}"
        if v.accepted
        else f"mrsandbox deploy refuses it: {v.message}"
        for v in verdicts
    ]
    beliefs = [
        v.mistake if v.mistake in MISCONCEPTIONS else "valid_is_invalid" if v.accepted else UNNAMED
        for v in verdicts
    ]
    right = [(c.text, v.model) for c, v, ok in zip(choices, verdicts, correct, strict=True) if ok]
    source = _runnable(*right[0]) if right else ""
    found = f"the parser must accept one line with regions {', '.join(wanted)}"
    return correct, feedback, beliefs, source, found, ""


def _effect(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    verdict = _judge(q, "code", code)
    for i, c in enumerate(choices):
        if c.means != "fails" and not isinstance(c.means, list):
            raise q.fail(q.path(f"options[{i}].means"), 'expected a list of regions or "fails"')
    correct = [
        c.means == "fails" if not verdict.accepted else c.means == list(verdict.regions)
        for c in choices
    ]
    said = (
        f"it deploys to {', '.join(verdict.regions)}"
        if verdict.accepted
        else f"it fails: {verdict.message}"
    )
    feedback = [f"{'Right' if ok else 'No'}: mrsandbox deploy shows {said}." for ok in correct]
    beliefs = [
        "valid_is_invalid"
        if c.means == "fails"
        else "order_ignored"
        if verdict.accepted and sorted(c.means) == sorted(verdict.regions)
        else "first_listed_only"
        if verdict.accepted and len(c.means) < len(verdict.regions)
        else "parser_guesses"
        for c in choices
    ]
    return correct, feedback, beliefs, _runnable(code), f"`{code}`: {said}", ""


def _mistake(q: Doc, key: Doc, choices: list[_Choice], code: str) -> Keyed:
    verdict = _judge(q, "code", code)
    for i, c in enumerate(choices):
        if c.means not in MEANINGS:
            close = difflib.get_close_matches(str(c.means), MEANINGS, n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(MEANINGS)}"
            raise q.fail(q.path(f"options[{i}].means"), f"expected a mistake's name: {fix}")
    if verdict.accepted:
        raise q.fail(q.path("code"), f"`{code}` is accepted: it has no mistake to name")
    correct = [c.means == verdict.mistake for c in choices]
    feedback = [f"{'Right' if ok else 'No'}: the parser says {verdict.message}" for ok in correct]
    found = f"the parser finds the mistake {verdict.mistake!r} in `{code}`"
    beliefs = ["wrong_diagnosis" for _ in choices]
    return correct, feedback, beliefs, _runnable(code), found, ""


def _runnable(command: str, model: str = "") -> str:
    """`command` as a `mrsandbox` command line that runs, a placeholder model made a real one."""
    words = deploy_words(command)
    if model and not is_model_name(model):
        words = [bundled_models()[0] if w == model else w for w in words]
    return shlex.join(["mrsandbox", "deploy", *words])


def _judge(q: Doc, where: str, command: str) -> Verdict:
    """The parser's verdict on a command line of the set (syntax only: placeholders pass)."""
    if not command.strip():
        raise q.fail(q.path(where), "missing; this key kind judges a `mrsandbox deploy` line")
    try:
        return judge(command, load_model=False)
    except InvalidQuiz as e:
        raise q.fail(q.path(where), str(e)) from None


def _run(key: Doc, run: str) -> Any:
    try:
        return run_command(run)
    except InvalidQuiz as e:
        raise key.fail(key.path("run"), str(e)) from None


KEYERS: dict[str, Callable[[Doc, Doc, list[_Choice], str], Keyed]] = {
    "state": _state,
    "step": _step,
    "left_out": _left_out,
    "accepted": _accepted,
    "effect": _effect,
    "mistake": _mistake,
}
