"""Generated quizzes: well-formed over many seeds, reproducible, every lesson covered, and every
key recomputed independently: flow and syntax keys through the real CLI, routing keys from the
table the question shows and the policy's rule, experiment keys from the evidence or a CLI run."""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path

import pytest

from sandbox.errors import InvalidQuiz, InvalidScenario, SandboxError
from sandbox.experiment.scenario import load_scenario, parse_scenario
from sandbox.experiment.sweeps import with_value
from sandbox.flow.tracer import display
from sandbox.quiz.generate import KINDS, SYNTAX, generate, lesson_test, student_seed
from sandbox.quiz.misconceptions import MISCONCEPTIONS
from sandbox.quiz.model import DIFFICULTIES, Question
from sandbox.quiz.review import lesson_of
from sandbox.quiz.syntax_questions import MISTAKES, REFUSED

SEEDS = range(16)
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
LESSONS = {"routing", "failover", "detection", "dns_ttl", "canary", "why_verify", "why_routing"}


@pytest.fixture(scope="module")
def quizzes():
    return [generate(seed, count=10) for seed in SEEDS]


def cli_json(invoke, command: str) -> tuple[int, dict]:
    words = shlex.split(command)
    assert words[:2] == ["mrsandbox", "deploy"], command
    result = invoke(*words[1:], "--format", "json")
    return result.exit_code, json.loads(result.output) if result.exit_code in (0, 1) else {}


def test_every_question_is_well_formed(quizzes):
    for quiz in quizzes:
        assert len(quiz) == 10
        assert len({(q.text, q.code, q.evidence) for q in quiz.questions}) == len(quiz)
        for q in quiz.questions:
            assert q.kind in KINDS and q.difficulty in DIFFICULTIES
            assert q.source.startswith("mrsandbox "), q
            if q.value is not None:
                assert q.low <= q.value <= q.high
                continue
            texts = [o.text for o in q.options]
            assert 3 <= len(texts) <= 4 and len(set(texts)) == len(texts), q
            assert sum(o.correct for o in q.options) == 1, q
            for o in q.options:
                assert o.feedback
                assert (o.misconception is None) == o.correct
                if not o.correct:  # the belief, then what the run shows
                    assert o.misconception in MISCONCEPTIONS
                    assert MISCONCEPTIONS[o.misconception] in o.feedback


def test_a_quiz_of_ten_has_ten_kinds_and_at_most_two_syntax_questions(quizzes):
    for quiz in quizzes:
        kinds = [q.kind for q in quiz.questions]
        assert len(set(kinds)) == len(kinds), kinds
        assert sum(k in SYNTAX for k in kinds) <= 2, kinds
    asked = {q.kind for quiz in quizzes for q in quiz.questions}
    assert asked >= LESSONS, LESSONS - asked


def test_one_kind_asked_is_asked_again_and_again():
    quiz = generate(2, count=5, kinds=("routing",))
    assert [q.kind for q in quiz.questions] == ["routing"] * 5


def test_the_same_seed_gives_the_same_quiz_and_others_differ(quizzes):
    assert generate(7, count=10) == quizzes[7]
    texts = {tuple(q.text + q.code for q in quiz.questions) for quiz in quizzes}
    assert len(texts) == len(quizzes)
    keys = {q.key for quiz in quizzes for q in quiz.questions if q.value is None}
    assert keys >= {"A", "B", "C", "D"}


def test_a_student_id_seeds_a_variant_of_its_own():
    assert student_seed("ada") == student_seed(" Ada ") != student_seed("alan")
    assert student_seed("\udcff\udcfe")  # undecodable bytes of a command line still seed
    assert generate(student_seed("ada"), 4) != generate(student_seed("alan"), 4)
    with pytest.raises(InvalidQuiz, match="student id is empty"):
        student_seed("  ")
    with pytest.raises(InvalidQuiz, match=r"must be text, got 5; give it as '5'"):
        student_seed(5)  # type: ignore[arg-type]


# --- each key recomputed on its own -----------------------------------------------------------


def _state_key(invoke, q: Question) -> str:
    variable, n = re.search(r"What is (\w+) after step (\d+)\?", q.text).groups()
    _, doc = cli_json(invoke, q.source)
    assert q.evidence.startswith(("Status Tracker\n", "Process Table\n"))  # the run's table
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
    _, without = cli_json(invoke, q.source)
    variable = re.search(r"what would (\w+) be at the end", q.text).group(1)
    return display(without["snapshots"][-1]["variables"][variable])


def _routed(doc: dict) -> list[str]:
    routing = [s for s in doc["steps"] if s["action"] == "Setup traffic routing"]
    if not routing:
        return []
    scope = routing[0]["region"]
    return doc["regions"] if scope == "all regions" else scope.split(", ")


def _failure_key(invoke, q: Question) -> str:
    code, doc = cli_json(invoke, q.source)
    assert code == (0 if doc["outcome"].startswith("complete") else 1)
    if "How many times" in q.text:
        region = re.search(r"deploy the model to ([\w-]+),", q.text).group(1)
        rows = [
            s
            for s in doc["steps"]
            if s["region"] == region and s["action"] in ("Deploy model", "Retry deployment")
        ]
        return str(len(rows))
    if "outcome" in q.text:
        return doc["outcome"]
    return ", ".join(_routed(doc)) or "No region"


def _syntax_key(invoke, q: Question) -> str:
    verdicts = {o.text: cli_json(invoke, o.text)[0] for o in q.options}
    assert set(verdicts.values()) <= {0, 2}
    wanted = 2 if "refused" in q.text else 0
    (line,) = [text for text, code in verdicts.items() if code == wanted]
    return line


def _effect_key(invoke, q: Question) -> str:
    code, doc = cli_json(invoke, q.source)
    if code == 2:
        return REFUSED
    regions = doc["regions"]
    text = "The model is deployed to " + (
        f"{regions[0]} only" if len(regions) == 1 else ", then ".join(regions)
    )
    return text


def _mistake_key(invoke, q: Question) -> str:
    result = invoke(*shlex.split(q.source)[1:])
    assert result.exit_code == 2
    (mistake,) = [m for m, said in SAYS.items() if said in result.output]
    return MISTAKES[mistake]


def _table(evidence: str) -> list[list[str]]:
    """The rows of a text table: its cells, stripped, header first."""
    lines = [line for line in evidence.splitlines()[1:] if not set(line) <= set("-+")]
    return [[cell.strip() for cell in line.split("|")] for line in lines]


def _routing_key(invoke, q: Question) -> str:
    header, *rows = _table(q.evidence)
    cols = {name: i for i, name in enumerate(header)}
    rtt = next(i for name, i in cols.items() if name.startswith("round trip"))
    unhealthy = re.search(r"The probes mark ([\w-]+) unhealthy", q.text)
    healthy = [r for r in rows if not unhealthy or r[0] != unhealthy.group(1)]
    if "failover order" in cols:
        return min(healthy, key=lambda r: int(r[cols["failover order"]]))[0]
    if "recent error rate" in cols:
        rate = cols["recent error rate"]
        return min(healthy, key=lambda r: (float(r[rate].rstrip("%")), float(r[rtt])))[0]
    return min(healthy, key=lambda r: float(r[rtt]))[0]


def _why_verify_key(invoke, q: Question) -> str:
    _, doc = cli_json(invoke, q.source)
    deployed = sum(s["result"] == "Deployment success" for s in doc["steps"])
    return (
        f"verifying after each: {deployed} deployed; "
        f"verifying at the end: {len(doc['regions'])} deployed"
    )


def _why_routing_key(invoke, q: Question) -> str:
    _, doc = cli_json(invoke, q.source)
    if "as soon as it was deployed, before its verification" in q.text:
        deployed = {s["region"] for s in doc["steps"] if s["result"] == "Deployment success"}
        regions = [r for r in doc["regions"] if r in deployed]
    else:
        regions = _routed(doc)
    return ", ".join(regions) or "No region"


def _policy_key(invoke, q: Question) -> str:
    _, doc = cli_json(invoke, q.source)
    actions = {s["action"] for s in doc["steps"]}
    if "still get traffic" in q.text:
        assert _routed(doc) and doc["outcome"] == "complete_with_skips"
    elif "undeployed" in q.text:
        assert "Roll back deployment" in actions and doc["outcome"] == "rolled_back"
    elif "tried again" in q.text:
        assert "Retry deployment" in actions
    else:
        assert doc["outcome"] == "stopped" and "Retry deployment" not in actions
    return shlex.split(q.source)[-1]


RECOMPUTE = {
    "state": _state_key,
    "step": _step_key,
    "left_out": _left_out_key,
    "failure": _failure_key,
    "syntax": _syntax_key,
    "effect": _effect_key,
    "mistake": _mistake_key,
    "routing": _routing_key,
    "failover": _routing_key,
    "why_verify": _why_verify_key,
    "why_routing": _why_routing_key,
    "policy": _policy_key,
}


@pytest.mark.parametrize("kind", sorted(RECOMPUTE))
def test_every_key_recomputed_on_its_own_agrees(invoke, kind):
    quiz = generate(11, count=6, kinds=(kind,))
    assert len(quiz) >= 4
    for q in quiz.questions:
        assert RECOMPUTE[kind](invoke, q) == q.answer_text, (q.text, q.code, q.source)


def _probes(evidence: str) -> tuple[float, list[tuple[float, bool]]]:
    start = float(re.search(r"the fault starts at t = ([\d.]+) s", evidence).group(1))
    _, *rows = _table(evidence)
    return start, [(float(t), result == "passed") for t, result in rows]


def test_a_detection_key_is_read_from_the_probe_log_and_the_rule_of_thumb_is_wrong(invoke):
    quiz = generate(5, count=4, kinds=("detection",))
    assert len(quiz) == 4
    for q in quiz.questions:
        assert q.type == "numeric" and q.unit == "s" and q.difficulty == "hard"
        interval = float(re.search(r"every (\d+) s", q.text).group(1))
        threshold = int(re.search(r"threshold of (\d+)", q.text).group(1))
        start, probes = _probes(q.evidence)
        run = 0
        for t, passed in probes:
            run = 0 if passed or t < start else run + 1
            if run == threshold:
                break
        assert q.check(f"{t - start:.3f}")
        assert not q.check(str(interval * threshold))  # only the run's number is right
        result = invoke(*shlex.split(q.source)[1:], "--workers", "1")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        at = next(i for i, line in enumerate(lines) if "detection_s" in line)
        header, row = ([cell.strip() for cell in lines[i].split("|")] for i in (at, at + 2))
        assert float(row[header.index("detection_s")]) == pytest.approx(q.value, abs=1e-3)


def _health(evidence: str) -> tuple[float, float, float]:
    """A DNS question's health events: when the fault starts, when the region left the healthy
    set (unhealthy by the probes or ejected) for the first stretch, when the probes said so."""
    (start, _, _), *rows = _table(evidence)[1:]
    # out of the healthy set while the probes say unhealthy or the outlier detector ejects
    out, since, flags = [], None, {"unhealthy": False, "ejected": False}
    for t, event, _by in rows:
        flag = {"unhealthy": "unhealthy", "healthy": "unhealthy"}.get(event, "ejected")
        flags[flag] = event in ("unhealthy", "ejected")
        if any(flags.values()) and since is None:
            since = float(t)
        elif not any(flags.values()) and since is not None:
            out.append((since, float(t)))
            since = None
    stretches = [*out, (since, math.inf)] if since is not None else out
    probes = next(float(t) for t, event, by in rows if (event, by) == ("unhealthy", "probe"))
    return float(start), stretches[0][0], probes


def _ttl(q: Question) -> float:
    return float(re.search(r"keep each answer for (\d+) s", q.text).group(1))


def test_a_dns_ttl_key_is_when_the_region_left_the_healthy_set_for_good_plus_the_ttl():
    quiz = generate(3, count=4, kinds=("dns_ttl",))
    assert len(quiz) == 4
    seen_ejection_first = False
    for q in quiz.questions:
        ttl = _ttl(q)
        start, first, probes = _health(q.evidence)
        assert q.check(str(first + ttl)) and not q.check(str(first))
        seen_ejection_first |= first < probes and not q.check(str(probes + ttl))
        moved = float(re.search(r"moved at t = ([\d.]+) s", q.solution[-1]).group(1))
        assert start < moved <= first + ttl + 0.5  # the run agrees with the key
    assert seen_ejection_first  # outlier ejection took the region out before the probes did


def test_a_key_past_1000_s_is_stated_to_the_millisecond_in_the_key_and_the_solution():
    """The key and the solution state the number judged, not a rounding of it: a learner who
    types an end of the stated range is right."""
    scenario = load_scenario("outage_dns_ttl_60")
    doc = with_value(with_value(scenario.document, "faults[0].start_s", 1500), "duration_s", 2400)
    quiz = generate(0, 2, parse_scenario(doc, "late.toml"), kinds=("dns_ttl",))
    for q in quiz.questions:
        stated = re.fullmatch(r"(\S+) s \(right from (\S+) to (\S+) s\)", q.key)
        assert stated is not None and q.value > 1000, q.key
        assert tuple(map(float, stated.groups())) == (q.value, q.low, q.high)
        assert q.check(stated[2]) and q.check(stated[3])
        assert f"t = {stated[1]} s." in q.solution[1]


@pytest.mark.parametrize("scenario", [None, "outage_dns_ttl_60"])
def test_no_dns_ttl_mistake_answers_within_the_range_judged_right(scenario):
    threshold = load_scenario(scenario or "regional_outage").health.failure_threshold
    quizzes = [generate(seed, 3, scenario, kinds=("dns_ttl",)) for seed in range(3)]
    for q in (q for quiz in quizzes for q in quiz.questions):
        ttl = _ttl(q)
        start, first, probes = _health(q.evidence)
        assert q.check(f"{first + ttl:.3f}"), q.key
        mistakes = {
            "ttl_ignored": (first, probes),
            "ttl_from_fault": (start + ttl,),  # what the ejection a few seconds in tells apart
            "ttl_per_probe": (first + threshold * ttl,),
            "ejection_ignored": (probes + ttl,) if first < probes else (),
        }
        for misconception, answers in mistakes.items():
            assert misconception in MISCONCEPTIONS
            for answer in answers:
                assert not q.check(f"{answer:.3f}"), (misconception, answer, q.key)
                assert not q.low - 0.5 <= answer <= q.high + 0.5, (misconception, answer, q.key)


def _bad_version_requests(invoke, tmp_path: Path, name: str, changes: dict[str, int]) -> int:
    text = (Path("sandbox/data/scenarios") / f"{name}.toml").read_text()
    for key, value in changes.items():
        text = re.sub(rf"^{key} = \d+$", f"{key} = {value}", text, flags=re.MULTILINE)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    result = invoke("experiment", str(path), "--format", "json")
    return json.loads(result.output)["summary"]["by_version"]["1.1.0"]["requests"]


def test_a_canary_key_comes_from_both_rollouts_run_again(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    (q,) = generate(4, count=1, kinds=("canary",)).questions
    percent = int(re.search(r"canary_percent=(\d+)", q.source).group(1))
    bake = int(re.search(r"bake_s=(\d+)", q.source).group(1))
    canary = _bad_version_requests(
        invoke, tmp_path, "bad_version_canary", {"canary_percent": percent, "bake_s": bake}
    )
    sequential = _bad_version_requests(invoke, tmp_path, "bad_version_sequential", {})
    numbers = [int(n.replace(",", "")) for n in re.findall(r"about ([\d,]+)", q.answer_text)]
    assert numbers[0] == pytest.approx(canary, rel=0.05, abs=1)
    assert numbers[1] == pytest.approx(sequential, rel=0.05)
    assert 0 < canary < sequential


def test_a_canary_question_shows_both_rollouts_and_its_key_follows_from_them():
    (q,) = generate(4, count=1, kinds=("canary",)).questions
    percent = re.search(r"canary_percent=(\d+)", q.source).group(1)
    bake = re.search(r"bake_s=(\d+)", q.source).group(1)
    header, canary, sequential = _table(q.evidence)
    assert header[0] == "rollout" and "shown" in q.text
    assert canary[0] == f"canary ({percent}%, bake {bake} s)" and canary[2] == "rolled_back"
    assert sequential[0] == "sequential" and sequential[2:4] == ["complete", "no bake"]
    # the canary's first bake: each failed attempt at 1.1.0 was retried in a region serving
    # 1.0.0, so 1.1.0 served the rest of what the bake saw (to the key's two figures)
    served, failed = map(int, re.search(r"(\d+) predictions, (\d+) failed", canary[3]).groups())
    key = int(re.search(r"canary: about ([\d,]+)", q.answer_text).group(1).replace(",", ""))
    assert key == pytest.approx(served - failed, rel=0.05)


# --- the lesson's test ---------------------------------------------------------------------------


# 36, 38, 55, 65 and 145 once drew no test: a greedy draw filled medium with syntax kinds
@pytest.mark.parametrize("seed", [*range(6), 36, 38, 55, 65, 145])
def test_the_lessons_test_is_ten_questions_easy_to_hard(seed):
    test = lesson_test(seed)
    levels = [q.difficulty for q in test.questions]
    assert len(levels) == 10
    assert levels == sorted(levels, key=DIFFICULTIES.index)
    assert all(levels.count(level) >= 3 for level in DIFFICULTIES)
    kinds = [q.kind for q in test.questions]
    assert len(set(kinds)) == 10 and sum(k in SYNTAX for k in kinds) <= 2
    # the course's test: every lesson that teaches a kind is asked about
    assert {lesson_of(k) for k in kinds} == {lesson_of(k) for k in KINDS}
    assert lesson_test(seed) == test


def test_difficulty_follows_the_rubric():
    quiz = generate(9, count=40)
    by_kind: dict[str, set[str]] = {}
    for q in quiz.questions:
        by_kind.setdefault(q.kind, set()).add(q.difficulty)
    # one fact: easy; a rule over several facts: medium; facts no rule combines: hard
    assert by_kind["step"] == {"easy"} and by_kind["mistake"] == {"easy"}
    assert by_kind["detection"] == {"hard"} and by_kind["left_out"] == {"hard"}
    assert by_kind["why_verify"] == by_kind["why_routing"] == {"hard"}
    assert by_kind["policy"] == by_kind["dns_ttl"] == by_kind["canary"] == {"medium"}


# --- scenarios and bad settings -------------------------------------------------------------------


def test_a_scenario_sets_the_regions_and_the_fault():
    scenario = load_scenario("latency_spike")
    quiz = generate(3, count=8, scenario="latency_spike", kinds=("state", "step", "detection"))
    for q in quiz.questions:
        if q.kind in ("state", "step"):
            assert all(r in q.code for r in scenario.regions), q.code
        else:
            assert scenario.faults[0].region in q.text


def test_a_scenario_without_faults_gets_no_detection_question():
    quiz = generate(1, count=8, scenario="single_region_baseline")
    assert quiz.questions and all(q.kind != "detection" for q in quiz.questions)
    for q in quiz.questions:  # one region: questions without enough distractors were skipped
        assert len({o.text for o in q.options}) == len(q.options)


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
    assert len({(q.text, q.code, q.evidence) for q in quiz.questions}) == len(quiz)


def test_kinds_a_scenario_cannot_ask_are_refused_rather_than_a_shorter_quiz():
    # why_verify needs two regions; a one-region scenario cannot ask it
    with pytest.raises(InvalidQuiz, match=r"seed 0: drew 0 of 3 questions of kinds why_verify"):
        generate(0, count=3, scenario="single_region_baseline", kinds=("why_verify",))


def test_a_scenario_that_cannot_give_the_lessons_test_is_refused_saying_what_to_use():
    with pytest.raises(InvalidQuiz, match=r"cannot give the lesson.s test.*use the generated set"):
        lesson_test(1, scenario="single_region_baseline")
