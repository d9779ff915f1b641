"""`mrsandbox lesson` of a rollout: every mode computed from the rollout `mrsandbox deploy` runs
(waves, shifts, bakes, retries, rollbacks), consistent with its JSON, the execution sample run
and compared with the trace, the visual quiz's keys read back from the tables, the page stepped
through in a real headless browser, bad input refused."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from sandbox.flow.tracer import display
from sandbox.lesson import MODES, Lesson
from sandbox.lesson.graph import ROLLOUT_ENDINGS, node_of
from sandbox.lesson.rollout import FAILED

THREE = "mrsandbox deploy --regions us-east-1,eu-west-1,ap-northeast-1 model_v1_1"
TWO = "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1_1"
ROLLOUTS = [
    f"{THREE} --strategy canary --fail eu-west-1:bake",
    f"{TWO} --strategy waves --fail eu-west-1:deploy:1 --seed 3",
    f"{TWO} --previous model_v1",
    f"{THREE} --strategy waves --waves 'us-east-1;eu-west-1,ap-northeast-1' "
    "--fail ap-northeast-1:verify --bake-s 0",
    f"{TWO} --strategy canary --fail us-east-1:deploy --max-retries 1",
    "mrsandbox deploy --regions eu-west-1 model_v1_1 --strategy canary --canary-percent 25 "
    "--bake-s 30",
]
ROLLOUT_QUESTIONS = (
    "Why do we verify deployment after deploying to each region instead of verifying all at "
    "the end?",
    "What happens if deployment fails in one region?",
    "Why does traffic shift to the new version only after it is verified?",
)


def deployed(invoke, command: str, *extra: str) -> dict:
    """What `mrsandbox deploy --format json` prints for `command`."""
    result = invoke(*shlex.split(command)[1:], *extra, "--format", "json")
    assert result.exit_code in (0, 1), result.output  # 1: rolled back
    return json.loads(result.output)


@pytest.fixture(scope="module", params=ROLLOUTS)
def made(request) -> tuple[str, Lesson, dict]:
    command = request.param
    lesson = Lesson.from_command(command)
    return command, lesson, lesson.to_dict()


def test_the_json_holds_exactly_the_ten_modes_and_the_command(made):
    command, _, doc = made
    assert list(doc) == [*MODES, "command"]
    assert doc["command"] == command


def test_the_tables_are_those_deploy_prints(made, invoke):
    command, _, doc = made
    printed = deployed(invoke, command)
    assert doc["process_table"] == printed["steps"]
    assert {k: doc["status_tracker"][k] for k in ("columns", "rows")} == printed["tracker"]
    assert doc["status_tracker"]["snapshots"] == printed["snapshots"]
    assert "serving_version" in {r["variable"] for r in printed["tracker"]["rows"]}


def test_the_execution_sample_runs_and_makes_the_same_trace(made):
    _, lesson, doc = made
    scope: dict = {}
    exec(doc["execution_sample"], scope)  # as a learner pastes it into Python
    ran = scope["rollout"].trace.to_dict("full")
    expected = lesson.trace.to_dict("full")
    assert ran["steps"] == expected["steps"]
    assert ran["snapshots"] == expected["snapshots"]
    assert ran["outcome"] == expected["outcome"]
    for name in ("run_deployment", "Rollout", "RolloutPlan", "start_users"):
        assert name in doc["execution_sample"]


def test_the_flow_draws_the_waves_shifts_bakes_and_rollbacks_the_run_took(made):
    _, lesson, doc = made
    steps, outcome = lesson.trace.steps, lesson.trace.outcome
    ids = [n["id"] for n in doc["process_flow"]["nodes"]]
    path = ["start", *(node_of(s, outcome, rollout=True)[0] for s in steps)]
    assert ids == list(dict.fromkeys(path))
    assert {(e["from"], e["to"]) for e in doc["process_flow"]["edges"]} == set(
        itertools.pairwise(path)
    )
    labels = {n["id"]: n["label"] for n in doc["process_flow"]["nodes"]}
    assert labels["start"] == "Start Rollout"
    assert labels["end"] == ROLLOUT_ENDINGS[outcome]
    kinds = {i.split(":")[0] for i in ids}
    for action, kind in (
        ("Start wave", "wave"),
        ("Shift traffic", "shift"),
        ("Bake", "bake"),
        ("Roll back deployment", "rollback"),
        ("Retry deployment", "retry"),
    ):
        assert (kind in kinds) == any(s.action == action for s in steps), action


def test_key_moments_ask_the_lessons_three_of_a_rollout_and_those_it_raises(made, invoke):
    command, lesson, doc = made
    moments = doc["key_moments"]
    assert tuple(m["question"] for m in moments[:3]) == ROLLOUT_QUESTIONS
    last = len(doc["process_table"])
    for m in moments:
        assert m["answer"] and all(1 <= n <= last for n in m["steps"])
    failed = [s for s in doc["process_table"] if s["result"] in FAILED]
    assert len([m for m in moments if "after step" in m["question"]]) == len(failed)
    printed = deployed(invoke, command)
    bakes = [m for m in moments if m["question"].startswith("What does the bake")]
    assert len(bakes) == len(printed["rollout"]["bakes"])
    for moment, bake in zip(bakes, printed["rollout"]["bakes"], strict=True):
        said = f"{bake['requests']} prediction{'' if bake['requests'] == 1 else 's'}, "
        assert said + f"{bake['failed']} failed" in moment["answer"]
        assert ("held" in moment["answer"]) == bool(bake["held"])
    rollback = [m for m in moments if m["question"] == "What does the rollback undo?"]
    back = [s["region"] for s in printed["steps"] if s["action"] == "Roll back deployment"]
    assert len(rollback) == (1 if back else 0)
    if back:
        assert (
            f"{', '.join(back)} back to {lesson.rollout.previous.version}" in rollback[0]["answer"]
        )
    users = next(m for m in moments if m["question"].startswith("Which versions answered"))
    for version, n in printed["users_by_version"].items():
        assert f"{version} answered {n['requests']} ({n['failed']} failed)" in users["answer"]


def test_what_a_failure_does_is_answered_by_running_the_rollout_with_it(invoke):
    command = ROLLOUTS[0]  # a bake failure in eu-west-1: the what-ifs have no other failure
    doc = Lesson.from_command(command).to_dict()
    answer = doc["key_moments"][1]["answer"]
    plain = command.split(" --fail")[0]
    for spec, said in (("eu-west-1:deploy:1", "only the first"), ("eu-west-1:deploy", "every")):
        ran = deployed(invoke, plain, "--fail", spec)
        last = ran["steps"][-1]
        if ran["outcome"] == "rolled_back":
            why = last["next_step"].removeprefix("Rolled back: ")
            ending = f"rolled back, because {why[:1].lower()}{why[1:]}"
        else:
            ending = f"{ran['outcome']} ({last['next_step']})"
        assert f"had {said} deployment to eu-west-1 failed, it would be {ending}" in answer


def test_a_failure_the_run_has_is_not_asked_about_as_if_it_had_not():
    doc = Lesson.from_command(ROLLOUTS[1]).to_dict()  # eu-west-1:deploy:1
    answer = doc["key_moments"][1]["answer"]
    assert "step 7 (Deploy model in eu-west-1)" in answer
    assert "only the first deployment to eu-west-1 failed, it would be complete" in answer
    assert "(as in this run)" in answer


def test_the_snapshot_and_transcript_state_the_run(made):
    _, lesson, doc = made
    snapshot = doc["concept_snapshot"]
    assert 1 <= len(snapshot) <= 5
    assert snapshot[-1].startswith(f"Outcome: {lesson.trace.outcome}")
    assert lesson.request.plan.strategy in snapshot[0]
    lines = doc["transcript"]
    assert len(lines) == len(doc["process_table"]) + 1
    assert f"serving {lesson.rollout.previous.version}" in lines[0]
    for line, step in zip(lines[1:], doc["process_table"], strict=True):
        assert line.startswith(f"Step {step['step']}")
        assert step["next_step"] in line


def test_the_visual_quizs_keys_are_read_back_from_the_tables(made):
    command, lesson, _ = made
    quiz = lesson.quizzes["visual_quiz"]
    trace = lesson.trace
    assert len(quiz.questions) == 3
    assert len({q.text for q in quiz.questions}) == 3
    for q in quiz.questions:
        assert q.source == command and q.evidence
        key = next(o.text for o in q.options if o.correct)
        state = re.search(r"What is (\w+) after step (\d+)\?", q.text)
        if state:
            variable, n = state.group(1), int(state.group(2))
            assert key == display(trace.snapshots[n][variable])
            continue
        n = int(key.removeprefix("Step "))
        row = trace.steps[n - 1]
        assert row.region in q.text
        same = (row.action, row.region, row.result)
        assert all((s.action, s.region, s.result) != same for s in trace.steps[: n - 1])


def test_practice_and_test_are_for_these_regions_and_the_new_version():
    lesson = Lesson.from_command(ROLLOUTS[1])
    assert len(lesson.quizzes["test"].questions) == 10
    drawn = [q for q in lesson.quizzes["practice"].questions if q.kind != "material"]
    assert len(drawn) == 3
    for q in drawn:  # the mistake question misspells the model on purpose
        said = q.text + q.shown_code + "".join(o.text for o in q.options)
        assert "us-east-1" in said and "eu-west-1" in said
        assert "model_v1_1" in said or q.kind == "mistake"


def test_a_live_rollout_gives_the_same_lesson_as_the_simulated_one(invoke):
    args = ["--regions", "us-east-1,eu-west-1", "model_v1_1", "--previous", "model_v1"]
    live = invoke("lesson", "--format", "json", *args, "--live", "--time-scale", "0.01")
    assert live.exit_code == 0, live.output
    simulated = json.loads(invoke("lesson", "--format", "json", *args).output)
    live_doc = json.loads(live.stdout)  # a loaded machine's users may fall behind: a warning
    assert all(line.startswith("Warning: ") for line in live.stderr.splitlines())
    assert live_doc["execution_sample"].startswith("# The run simulated")
    strip = lambda steps: [{k: v for k, v in s.items() if k != "t"} for s in steps]  # noqa: E731
    assert strip(live_doc["process_table"]) == strip(simulated["process_table"])
    assert live_doc["process_flow"] == simulated["process_flow"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--regions", "us-east-1", "model_v1", "--strategy", "canary"], "--previous"),
        (
            ["--regions", "us-east-1", "model_v1_1", "--previous", "model_v2"],
            "not a version of",
        ),
        (
            [
                "--regions",
                "us-east-1",
                "model_v1_1",
                "--strategy",
                "canary",
                "--on-failure",
                "skip",
            ],
            "a rollout retries",
        ),
        (
            [
                "--regions",
                "us-east-1",
                "model_v1_1",
                "--previous",
                "model_v1",
                "--fail",
                "us-east-1:bake",
            ],
            "no bake to catch it",
        ),
    ],
)
def test_bad_rollout_input_is_a_usage_error_naming_it(invoke, args, says):
    result = invoke("lesson", *args)
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output


def test_the_rollout_page_steps_through_its_waves_in_a_browser(browser, tmp_path):
    page = Path(tmp_path) / "lesson.html"
    lesson = Lesson.from_command(ROLLOUTS[0])
    page.write_text(lesson.render("html"))
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-step]")
    assert len(rows) == len(lesson.trace.steps)
    shifts = {s.step for s in lesson.trace.steps if s.action == "Shift traffic"}
    for n in range(1, len(rows) + 1):
        browser.find_element(By.ID, "next-step").click()
        current = browser.find_elements(By.CSS_SELECTOR, "tr.current")
        assert [r.get_attribute("data-step") for r in current] == [str(n)]
        assert len(browser.find_elements(By.CSS_SELECTOR, ".flow .node.current")) == 1
        changed = {
            c.get_attribute("id") for c in browser.find_elements(By.CSS_SELECTOR, "td.changed")
        }
        assert ("var-serving_version" in changed) == (n in shifts or n in _rollbacks(lesson))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def _rollbacks(lesson: Lesson) -> set[int]:
    return {s.step for s in lesson.trace.steps if s.action == "Roll back deployment"}


def test_the_stepper_widget_marks_the_version_each_shift_changes():
    lesson = Lesson.from_command(ROLLOUTS[0])
    stepper = lesson.stepper()
    shift = next(s.step for s in lesson.trace.steps if s.action == "Shift traffic")
    for _ in range(shift):
        stepper.next.click()
    assert stepper.at == shift
    changed = re.findall(r'<tr><th>(\w+)</th><td class="changed"', stepper.variables.value)
    assert changed == ["serving_version"]
    assert "1.0.0 90% / 1.1.0 10%" in stepper.variables.value


def test_the_stepper_displays_the_runs_tables_where_no_widget_is_drawn():
    lesson = Lesson.from_command(ROLLOUTS[0])
    stepper = lesson.stepper()
    data = stepper._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == stepper.model_id
    assert data["text/html"] == lesson.trace.render("html")
    assert data["text/plain"] == lesson.trace.render("text")
