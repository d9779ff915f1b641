"""`mrsandbox lesson`: every mode computed from the run and consistent with `mrsandbox deploy`'s
own output, the execution sample run and compared with the trace, the page stepped through in
a real headless browser, bad input refused."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from sandbox.lesson import MODES, Lesson
from sandbox.lesson.graph import node_of
from sandbox.quiz.runs import run_command
from tests.test_golden import read_markdown

BASE = "mrsandbox deploy --regions us-east-1,eu-west-1,ap-south-1 model_v1"
RUNS = [
    "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1",
    f"{BASE} --fail eu-west-1:deploy:1",
    f"{BASE} --fail eu-west-1:verify --on-failure stop",
    f"{BASE} --fail ap-south-1:deploy --on-failure rollback",
    f"{BASE} --fail eu-west-1:verify --on-failure skip --seed 4",
    f"{BASE} --fail us-east-1:deploy --max-retries 1",
    f"{BASE} --leave-out verify_deployment:eu-west-1",
    f"{BASE} --leave-out monitor_health",
]
LESSON_QUESTIONS = (
    "Why do we verify deployment after deploying to each region instead of verifying all at "
    "the end?",
    "What happens if deployment fails in one region?",
    "Why is traffic routing set up only after all regions are verified?",
)


@pytest.fixture(scope="module", params=RUNS)
def made(request) -> tuple[str, dict]:
    command = request.param
    return command, Lesson.from_command(command).to_dict()


def test_the_json_holds_exactly_the_ten_modes_and_the_command(made):
    command, doc = made
    assert list(doc) == [*MODES, "command"]
    assert doc["command"] == command


def test_the_tables_are_those_deploy_prints(made, invoke):
    command, doc = made
    printed = invoke(*command.split()[1:], "--format", "json")
    deployed = json.loads(printed.output)
    assert doc["process_table"] == deployed["steps"]
    assert {k: doc["status_tracker"][k] for k in ("columns", "rows")} == deployed["tracker"]
    assert doc["status_tracker"]["snapshots"] == deployed["snapshots"]


def test_the_execution_sample_runs_and_makes_the_same_trace(made):
    command, doc = made
    scope: dict = {}
    exec(doc["execution_sample"], scope)  # as a learner pastes it into Python
    ran = scope["d"].trace.to_dict("full")
    expected = run_command(command).trace.to_dict("full")
    assert ran["steps"] == expected["steps"]
    assert ran["snapshots"] == expected["snapshots"]
    assert ran["outcome"] == expected["outcome"]
    for name in ("deploy_model", "verify_deployment", "routing_setup", "monitor_health"):
        assert name in doc["execution_sample"]


def test_the_flow_has_a_node_for_every_step_and_an_edge_for_every_move(made):
    command, doc = made
    d = run_command(command)
    ids = [n["id"] for n in doc["process_flow"]["nodes"]]
    path = ["start", *(node_of(s, d.outcome)[0] for s in d.trace.steps)]
    assert ids == list(dict.fromkeys(path))  # in the order the run first reached them
    moves = {(e["from"], e["to"]) for e in doc["process_flow"]["edges"]}
    assert moves == set(itertools.pairwise(path))
    assert ids[-1] == "end" or "end" in ids


def test_key_moments_ask_the_lessons_three_and_answer_from_the_run(made):
    _, doc = made
    moments = doc["key_moments"]
    assert tuple(m["question"] for m in moments[:3]) == LESSON_QUESTIONS
    last = len(doc["process_table"])
    for m in moments:
        assert m["answer"] and all(1 <= n <= last for n in m["steps"])
    failed = [s for s in doc["process_table"] if "failed" in s["result"]]
    raised = [m for m in moments[3:] if "after step" in m["question"]]
    assert len(raised) == len(failed)


def test_what_a_failure_does_is_answered_by_running_each_policy(invoke):
    doc = Lesson.from_command(RUNS[0]).to_dict()
    answer = doc["key_moments"][1]["answer"]
    for policy in ("retry", "stop", "rollback", "skip"):
        ran = invoke(
            "deploy",
            "--regions",
            "us-east-1,eu-west-1",
            "model_v1",
            "--fail",
            "eu-west-1:deploy",
            "--on-failure",
            policy,
            "--format",
            "json",
        )
        ending = json.loads(ran.output)["steps"][-1]["next_step"]
        assert f"{policy}: {ending}" in answer


def test_the_snapshot_and_transcript_state_the_run(made):
    command, doc = made
    assert 1 <= len(doc["concept_snapshot"]) <= 5
    outcome = run_command(command).outcome
    assert f"Outcome: {outcome}" in doc["concept_snapshot"][-1]
    lines = doc["transcript"]
    assert len(lines) == len(doc["process_table"]) + 1  # an opening, then one a step
    for line, step in zip(lines[1:], doc["process_table"], strict=True):
        assert line.startswith(f"Step {step['step']}")
        assert step["next_step"] in line


def test_the_visual_quiz_asks_three_questions_about_this_runs_tables(made):
    command, doc = made
    quiz = doc["visual_quiz"]
    # three, or what a run of a few steps can ask (no question is padded)
    assert len(quiz) == 3 or (len(doc["process_table"]) <= 5 and len(quiz) >= 2)
    flags = command.split("model_v1", 1)[1].replace("--leave-out", "").split()
    for q in quiz:
        assert q["evidence"] or q["kind"] == "left_out"
        assert sum(a["correct"] for a in q["answers"]) == 1
        # the same failures and policy as the run (a left-out call is the question's own)
        assert all(word in q["source"] for word in flags if word.startswith("--fail"))


def test_practice_and_test_are_for_these_regions_and_model():
    doc = Lesson.from_command(RUNS[1]).to_dict()
    assert [q["difficulty"] for q in doc["test"]] == sorted(
        (q["difficulty"] for q in doc["test"]), key=["easy", "medium", "hard"].index
    )
    assert len(doc["test"]) == 10
    syntax = [q for q in doc["practice"] if q["kind"] in ("syntax", "effect", "mistake")]
    assert len(syntax) == 3
    assert all("model_v1" in json.dumps(q) for q in syntax)


# --- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"), [("html", "lesson.html"), ("markdown", "lesson.md"), ("json", "lesson.json")]
)
def test_the_command_writes_each_format_into_out(invoke, tmp_path, fmt, name):
    result = invoke("lesson", "--format", fmt, "--out", str(tmp_path), *RUNS[0].split()[2:])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / name)
    text = (tmp_path / name).read_text()
    if fmt == "json":
        assert list(json.loads(text)) == [*MODES, "command"]
    elif fmt == "markdown":
        for title in ("Process Flow", "Execution Sample", "Key Moments", "Full Transcript"):
            assert f"## {title}" in text
    else:
        assert text.startswith("<!DOCTYPE html>")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing from a host


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give what mrsandbox deploy takes"),
        (["--regions", "us-east-1", "nosuch"], "unknown model 'nosuch'"),
        (["--format", "pdf", "--regions", "us-east-1", "model_v1"], "'pdf' is not one of"),
        (
            ["--regions", "us-east-1", "model_v1", "--fail", "eu-west-1:deploy"],
            "not one of --regions",
        ),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(invoke, args, says):
    result = invoke("lesson", *args)
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output


# --- the page in a real browser ------------------------------------------------------------


def test_the_page_steps_through_the_run_in_a_browser(browser, tmp_path):
    page = Path(tmp_path) / "lesson.html"
    page.write_text(Lesson.from_command(RUNS[1]).render("html"))
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-step]")
    last = len(rows)

    def current() -> list[str]:
        return [
            r.get_attribute("data-step")
            for r in browser.find_elements(By.CSS_SELECTOR, "tr.current")
        ]

    assert current() == []  # the start: no step yet
    for n in range(1, last + 1):
        browser.find_element(By.ID, "next-step").click()
        assert current() == [str(n)]
        node = browser.find_elements(By.CSS_SELECTOR, ".flow .node.current")
        assert len(node) == 1
    assert not browser.find_element(By.ID, "next-step").is_enabled()
    changed = browser.find_elements(By.CSS_SELECTOR, "td.changed")
    assert [c.get_attribute("id") for c in changed] == []  # the End row changes nothing
    browser.find_element(By.ID, "prev-step").click()
    browser.find_element(By.ID, "prev-step").click()
    assert current() == [str(last - 2)]
    for section in MODES:
        assert browser.find_elements(By.ID, section), section
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


# --- from Python -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [5, None, "mrsandbox serve", "deploy --regions 'a"])
def test_a_line_that_is_not_a_deploy_command_is_refused_by_name(command):
    from sandbox.errors import SandboxError

    with pytest.raises(SandboxError, match="command line"):
        Lesson.from_command(command)


def test_a_learners_own_calls_refused_ones_included_make_the_sample():
    from sandbox.errors import FlowError
    from sandbox.flow import Deployment

    d = Deployment(["us-east-1", "eu-west-1"], "model_v1", failures=["eu-west-1:deploy:1"])
    d.deploy_model("us-east-1")
    with pytest.raises(FlowError):
        d.routing_setup(d.regions)  # too early: refused
    d.verify_deployment("us-east-1")
    d.deploy_model("eu-west-1")
    d.verify_deployment("eu-west-1")
    d.routing_setup(d.regions)
    d.monitor_health(d.regions)
    doc = Lesson.from_deployment(d).to_dict()
    sample = doc["execution_sample"]
    assert "except FlowError as refused:" in sample
    assert sample.index("routing_setup(regions)") < sample.index("verify_deployment('us-east-1')")
    scope: dict = {}
    exec(sample, scope)
    assert scope["d"].trace.to_dict("full")["steps"] == d.trace.to_dict("full")["steps"]
    assert doc["process_table"] == d.trace.to_dict("full")["steps"]
    assert "--fail eu-west-1:deploy:1" in doc["command"]


def test_the_stepper_widget_moves_through_the_steps():
    lesson = Lesson.from_command(RUNS[1])
    stepper = lesson.stepper()
    last = len(lesson.deployment.trace.steps)
    assert (
        stepper.at == 0
        and stepper.previous.disabled
        and 'class="current"' not in (stepper.table.value)
    )
    stepper.next.click()
    assert stepper.at == 1 and '<tr data-step="1" class="current"' in stepper.table.value
    stepper.next.click()  # step 2 deploys us-east-1: deployment_status changes
    assert 'class="changed"' in stepper.variables.value
    assert "{&#x27;us-east-1&#x27;: &#x27;success&#x27;}" in stepper.variables.value
    for _ in range(last + 3):
        stepper.next.click()
    assert stepper.at == last and stepper.next.disabled
    stepper.previous.click()
    assert stepper.at == last - 1


def test_a_live_run_gives_the_same_lesson_as_the_simulated_one(invoke, tmp_path):
    """The same steps and variables on real servers; only the times differ."""
    args = ["--regions", "us-east-1,eu-west-1", "model_v1", "--fail", "eu-west-1:deploy:1"]
    live = invoke("lesson", "--format", "json", *args, "--live", "--time-scale", "0.01")
    assert live.exit_code == 0, live.output
    simulated = json.loads(invoke("lesson", "--format", "json", *args).output)
    live_doc = json.loads(live.output)
    strip = lambda steps: [{k: v for k, v in s.items() if k != "t"} for s in steps]  # noqa: E731
    assert strip(live_doc["process_table"]) == strip(simulated["process_table"])
    assert live_doc["status_tracker"]["rows"] == simulated["status_tracker"]["rows"]
    assert live_doc["process_flow"] == simulated["process_flow"]


def test_a_lesson_shows_as_its_page_in_jupyter():
    html = Lesson.from_command(RUNS[0])._repr_html_()
    assert 'id="next-step"' in html and 'id="prev-step"' in html and "data-step=" in html


# --- the material's own run ------------------------------------------------------------------

MATERIAL_RUN = "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1"


def test_the_material_run_gives_the_materials_page_mode_by_mode(invoke):
    from sandbox.quiz.material import load_set

    lesson = Lesson.from_command(MATERIAL_RUN)
    doc = lesson.to_dict()
    # the tables, cell for cell, as the material prints them (its golden copies)
    table = read_markdown("lesson_process_table.md")
    columns = ("step", "action", "region", "result", "next_step")
    assert [[str(s[c]) for c in columns] for s in doc["process_table"]] == table[1:]
    tracker = read_markdown("lesson_status_tracker.md")
    assert ["Variable", *doc["status_tracker"]["columns"]] == tracker[0]
    assert [[r["variable"], *r["values"]] for r in doc["status_tracker"]["rows"]] == tracker[1:]
    # the visual quiz: the material's questions, options and keys
    material = load_set("visual")
    ours = lesson.quizzes["visual_quiz"]
    assert [q.text for q in ours.questions] == [q.text for q in material.questions]
    assert [[o.text for o in q.options] for q in ours.questions] == [
        [o.text for o in q.options] for q in material.questions
    ]
    assert [q.key for q in ours.questions] == ["A", "C", "B"]  # the material's letters
    # the flow: the material's nodes, in its order, among ours (its diagram draws "Verify
    # Region 1" after "Deploy Model to Region 2", which the run's order contradicts)
    labels = [n["label"] for n in doc["process_flow"]["nodes"]]
    material_nodes = [
        "Start Deployment",
        "Select Regions",
        "Deploy Model to us-east-1",
        "Deploy Model to eu-west-1",
        "Traffic Routing",
        "Deployment Complete",
    ]
    at = [labels.index(node) for node in material_nodes]
    assert at == sorted(at)
    # the execution sample: the material's loop, word for word
    for line in (
        "for region in regions:",
        "    deploy_model(region)",
        "    verify_deployment(region)",
        "routing_setup(regions)",
        "monitor_health(regions)",
    ):
        assert line in doc["execution_sample"].splitlines()


# --- runs a newcomer tried ---------------------------------------------------------------------


def test_a_one_region_run_gets_a_lesson(invoke):
    result = invoke("lesson", "--format", "json", "--region", "us-east-1", "model_v1")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert len(doc["test"]) == 10 and doc["process_table"][-1]["action"] == "End"


def test_extra_regions_carry_into_the_counterfactual_runs(invoke, tmp_path):
    extra = tmp_path / "lab.toml"
    extra.write_text('[[region]]\nname = "lab-1"\nlocation = "Lab"\nlat = 42.36\nlon = -71.06\n')
    result = invoke(
        "lesson",
        "--format",
        "json",
        "--extra-regions",
        str(extra),
        "--regions",
        "us-east-1,lab-1",
        "model_v1",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert "lab-1" in doc["key_moments"][1]["answer"]  # the failure asked of lab-1, run there


def test_the_model_word_as_typed_is_the_one_taught():
    doc = Lesson.from_command("mrsandbox deploy --regions us-east-1,eu-west-1 model_v1_1").to_dict()
    assert "Deployment(regions, 'model_v1_1')" in doc["execution_sample"]
    scope: dict = {}
    exec(doc["execution_sample"], scope)
    assert scope["d"].model.version == "1.1.0"
    assert "model_v1 1.1.0" in doc["concept_snapshot"][0]


def test_what_a_failure_does_keeps_the_runs_own_settings():
    doc = Lesson.from_command(
        f"{BASE} --fail eu-west-1:deploy --max-retries 5 --fail ap-south-1:verify:1"
    ).to_dict()
    answer = doc["key_moments"][1]["answer"]
    assert "after 6 attempts" in answer  # five retries, as this run allows
    assert "(steps " not in doc["key_moments"][0]["answer"].replace("(steps 3", "")


def test_a_left_out_question_has_one_right_answer():
    doc = Lesson.from_command(
        "mrsandbox deploy --seed 12345678901234 --regions us-east-1,eu-west-1 model_v1 "
        "--fail us-east-1:deploy:2 --max-retries 1"
    ).to_dict()
    for q in doc["visual_quiz"]:
        if q["kind"] == "left_out":
            for a in q["answers"]:
                assert (
                    a["correct"]
                    or "still ends as" not in a["feedback"]
                    or ("remain" in q["question"] and "{}" not in a["feedback"])
                )


def test_lesson_options_after_the_deploy_arguments_are_refused(invoke):
    result = invoke("lesson", "--regions", "us-east-1,eu-west-1", "model_v1", "--format", "json")
    assert result.exit_code == 2
    assert "--format after the deploy arguments" in result.output


def test_the_markdown_page_renders_its_tables():
    import mistune

    text = Lesson.from_command(RUNS[0]).render("markdown")
    html = mistune.create_markdown(plugins=["table"])(text)
    assert html.count("<table>") == 2
    assert html.count("<h2>") == len(MODES)  # quiz items are headings below their section
