"""Generated quizzes: well-formed over many seeds, reproducible, and every key recomputed
independently by running the question's `source` command through the real CLI."""

from __future__ import annotations

import json
import math
import re
import shlex

import pytest

from sandbox.errors import InvalidQuiz, InvalidScenario, SandboxError
from sandbox.experiment.scenario import load_scenario
from sandbox.flow.tracer import display
from sandbox.quiz.generate import KINDS, generate, student_seed
from sandbox.quiz.model import Question
from sandbox.quiz.syntax_questions import MISTAKES

FLOW_KINDS = tuple(k for k in KINDS if k != "detection")
SEEDS = range(30)
# What each parser mistake says on stderr, written here independently of the generator.
SAYS = {
    "spaces": "commas, not spaces",
    "singular_flag": "--region takes a single region",
    "brackets": "without brackets",
    "no_model": "missing MODEL",
    "flag_twice": "given more than once",
    "unknown_model": "unknown model",
    "unknown_region": "unknown region",
    "repeated_region": "list each region once",
}


@pytest.fixture(scope="module")
def quizzes():
    return [generate(seed, count=10, kinds=FLOW_KINDS) for seed in SEEDS]


def cli_json(invoke, command: str) -> tuple[int, dict]:
    words = shlex.split(command)
    assert words[:2] == ["mrsandbox", "deploy"], command
    result = invoke(*words[1:], "--format", "json")
    return result.exit_code, json.loads(result.output) if result.exit_code in (0, 1) else {}


def test_every_question_has_one_correct_option_and_no_duplicates(quizzes):
    for quiz in quizzes:
        assert len(quiz) == 10
        assert len({(q.text, q.code) for q in quiz.questions}) == len(quiz)  # none asked twice
        for q in quiz.questions:
            texts = [o.text for o in q.options]
            assert 3 <= len(texts) <= 4 and len(set(texts)) == len(texts), q
            assert sum(o.correct for o in q.options) == 1, q
            assert all(t.strip() for t in texts), q
            assert q.answer_text not in [o.text for o in q.options if not o.correct]
            assert all(o.feedback for o in q.options), q
            assert q.source.startswith("mrsandbox "), q


def test_the_same_seed_gives_the_same_quiz_and_others_differ(quizzes):
    assert generate(7, count=10, kinds=FLOW_KINDS) == quizzes[7]
    texts = {tuple(q.text + q.code for q in quiz.questions) for quiz in quizzes}
    assert len(texts) == len(quizzes)
    orders = {q.key for quiz in quizzes for q in quiz.questions}
    assert orders >= {"A", "B", "C"}  # the key moves between letters


def test_a_student_id_seeds_a_variant_of_its_own():
    assert student_seed("ada") == student_seed(" Ada ") != student_seed("alan")
    assert student_seed("\udcff\udcfe")  # undecodable bytes of a command line still seed
    assert generate(student_seed("ada"), 4, kinds=FLOW_KINDS) != generate(
        student_seed("alan"), 4, kinds=FLOW_KINDS
    )
    with pytest.raises(InvalidQuiz, match="student id is empty"):
        student_seed("  ")


def test_every_kind_appears(quizzes):
    kinds = {q.id.split("-")[0] for quiz in quizzes for q in quiz.questions}
    assert kinds == set(FLOW_KINDS)


def _state_key(invoke, q: Question) -> str:
    variable, n = re.search(r"What is (\w+) after step (\d+)\?", q.text).groups()
    _, doc = cli_json(invoke, q.source)
    return display(doc["snapshots"][int(n)]["variables"][variable])


ASKS = {  # what a question asks -> the first row that answers it: (action, result or any)
    r"does the first deployment to ([\w-]+) happen": ("Deploy model", None),
    r"is the deployment to ([\w-]+) first retried": ("Retry deployment", None),
    r"does the verification of ([\w-]+) succeed": ("Verify deployment", "Verification success"),
    r"is traffic routing configured()": ("Setup traffic routing", None),
    r"does health monitoring start()": ("Start health monitoring", None),
}


def _step_key(invoke, q: Question) -> str:
    _, doc = cli_json(invoke, q.source)
    for pattern, (action, result) in ASKS.items():
        match = re.search(pattern, q.text)
        if match:
            region = match.group(1)
            step = next(
                s["step"]
                for s in doc["steps"]
                if s["action"] == action
                and (not region or s["region"] == region)
                and result in (None, s["result"])
            )
            return f"Step {step}"
    raise AssertionError(q.text)


def _left_out_key(invoke, q: Question) -> str:
    full_command = q.source.split(" --leave-out ")[0]
    _, without = cli_json(invoke, q.source)
    _, full = cli_json(invoke, full_command)
    start, end = without["snapshots"][0]["variables"], without["snapshots"][-1]["variables"]
    final = full["snapshots"][-1]["variables"]
    if "which variable would remain" in q.text:
        (name,) = [v for v in start if start[v] == end[v] != final[v]]
        return name
    variable = re.search(r"what would (\w+) be at the end", q.text).group(1)
    return display(end[variable])


def _failure_key(invoke, q: Question) -> str:
    code, doc = cli_json(invoke, q.source)
    assert code == (0 if doc["outcome"].startswith("complete") else 1)
    if "How many times" in q.text:
        region = re.search(r"deployed to ([\w-]+), retries", q.text).group(1)
        rows = [
            s
            for s in doc["steps"]
            if s["region"] == region and s["action"] in ("Deploy model", "Retry deployment")
        ]
        return str(len(rows))
    if "outcome" in q.text:
        return doc["outcome"]
    routing = [s for s in doc["steps"] if s["action"] == "Setup traffic routing"]
    if not routing:
        return "none"
    scope = routing[0]["region"]
    return ", ".join(doc["regions"]) if scope == "all regions" else scope


def _syntax_key(invoke, q: Question) -> str:
    accepted = []
    for option in q.options:
        code, _ = cli_json(invoke, option.text)
        assert code in (0, 2), option.text
        if code == 0:
            accepted.append(option.text)
    (line,) = accepted
    return line


def _effect_key(invoke, q: Question) -> str:
    code, doc = cli_json(invoke, q.source)
    if code == 2:
        return "The command fails with a usage error (exit status 2)"
    regions = doc["regions"]
    names = ", ".join(regions[:-1]) + f" and {regions[-1]}"
    (text,) = [o.text for o in q.options if o.text == f"The model is deployed to {names}"]
    return text


def _mistake_key(invoke, q: Question) -> str:
    result = invoke(*shlex.split(q.source)[1:])
    assert result.exit_code == 2
    (mistake,) = [m for m, said in SAYS.items() if said in result.output]
    return MISTAKES[mistake]


RECOMPUTE = {
    "state": _state_key,
    "step": _step_key,
    "left_out": _left_out_key,
    "failure": _failure_key,
    "syntax": _syntax_key,
    "effect": _effect_key,
    "mistake": _mistake_key,
}


def test_every_key_recomputed_through_the_cli_agrees(quizzes, invoke):
    for quiz in quizzes[:12]:
        for q in quiz.questions:
            kind = q.id.split("-")[0]
            assert RECOMPUTE[kind](invoke, q) == q.answer_text, (q.text, q.code, q.source)


def test_a_detection_key_is_the_sweeps_measurement(invoke):
    quiz = generate(5, count=2, kinds=("detection",))
    assert len(quiz) == 2
    for q in quiz.questions:
        assert q.kind == "numeric" and q.unit == "s"
        interval = float(re.search(r"every (\d+) s", q.text).group(1))
        threshold = int(re.search(r"threshold of (\d+)", q.text).group(1))
        # What the probe timing model allows is right, the bounds the sweep's row prints beside
        # the measurement: about interval x threshold; less than a threshold's worth less, never.
        assert q.low <= interval * (threshold - 1) + 1 and q.high >= interval * threshold
        assert q.low <= q.value <= q.high
        assert q.check(str(interval * threshold))
        assert not q.check(str(interval * (threshold - 1) - 1))
        result = invoke(*shlex.split(q.source)[1:], "--workers", "1")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        at = next(i for i, line in enumerate(lines) if "detection_s" in line)
        header, row = ([cell.strip() for cell in lines[i].split("|")] for i in (at, at + 2))
        measured = float(row[header.index("detection_s")])
        assert q.value == round(measured, 1)
        low, high = (float(row[header.index(f"expected_detection_{e}_s")]) for e in ("low", "high"))
        assert (q.low, q.high) == (math.floor(10 * low) / 10, math.ceil(10 * high) / 10)


def test_a_scenario_sets_the_regions_and_the_fault(tmp_path):
    scenario = load_scenario("latency_spike")
    quiz = generate(3, count=6, scenario="latency_spike")
    for q in quiz.questions:
        if q.kind == "multiple_choice" and q.code:
            assert all(r in q.code for r in scenario.regions), q.code
    detections = [q for q in quiz.questions if q.kind == "numeric"]
    assert all(scenario.faults[0].region in q.text for q in detections)


def test_a_scenario_without_faults_gets_no_detection_question():
    quiz = generate(1, count=8, scenario="single_region_baseline")
    assert quiz.questions and all(q.kind == "multiple_choice" for q in quiz.questions)
    for q in quiz.questions:  # one region: questions without enough distractors were skipped
        assert len({o.text for o in q.options}) == len(q.options) >= 3


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seed": -1}, InvalidQuiz, "seed must be a whole number >= 0"),
        ({"count": 0}, InvalidQuiz, "count must be a whole number from 1 to 100"),
        ({"count": 101}, InvalidQuiz, "count must be"),
        ({"kinds": ("state", "guess")}, InvalidQuiz, "question kinds are"),
        ({"kinds": ()}, InvalidQuiz, "question kinds are"),
        ({"scenario": "no_such_scenario"}, InvalidScenario, "not a bundled scenario"),
    ],
)
def test_bad_settings_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message) as caught:
        generate(**kwargs)
    assert isinstance(caught.value, SandboxError)


def test_a_scenario_with_one_region_repeats_no_question():
    quiz = generate(0, count=12, scenario="single_region_baseline")
    assert len({(q.text, q.code) for q in quiz.questions}) == len(quiz)


def test_no_distractor_is_also_true(quizzes):
    for quiz in quizzes:
        for q in quiz.questions:
            if q.id.startswith("mistake") and (
                "--region " in q.code or q.code.count("--regions") > 1
            ):
                assert "Missing comma between regions" not in [o.text for o in q.options]
            if q.id.startswith("failure") and "receive traffic" in q.text:
                routed = q.answer_text.split(", ")
                for o in q.options:
                    if o.correct:
                        continue
                    if q.answer_text == "none":
                        assert "no region gets traffic" in o.feedback
                    else:  # each region the option gets wrong is named in its feedback
                        named = (set(o.text.split(", ")) ^ set(routed)) - {"none"}
                        assert all(r in o.feedback for r in named), (o, routed)
