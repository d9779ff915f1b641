"""`mrsandbox deploy` and `mrsandbox regions` as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.args.deploy import parse_deploy_args
from sandbox.core.regions import RegionCatalog
from sandbox.flow.deployment import POLICIES

NAMES = RegionCatalog.default().names()


def deploy_json(invoke, *args: str):
    result = invoke("deploy", *args, "--format", "json")
    return result.exit_code, json.loads(result.output)


def test_json_output_has_the_promised_keys(invoke):
    code, doc = deploy_json(invoke, "--regions", "us-east1,asia-northeast1", "model_v1")
    assert code == 0
    assert set(doc) == {
        *("model", "regions", "outcome", "steps", "snapshots", "tracker"),
        "health_transitions",
    }
    assert doc["health_transitions"] == []
    assert doc["model"] == "model_v1"
    assert doc["regions"] == ["us-east1", "asia-northeast1"]
    assert doc["outcome"] == "complete"
    assert set(doc["steps"][0]) == {"step", "action", "region", "result", "next_step", "t"}
    assert [s["after_step"] for s in doc["snapshots"]] == list(range(len(doc["steps"]) + 1))
    assert set(doc["snapshots"][0]["variables"]) == {
        "regions",
        "deployment_status",
        "verification_status",
        "routing_configured",
        "monitoring_active",
    }
    assert doc["tracker"]["columns"][0] == "Start" and doc["tracker"]["columns"][-1] == "Final"


@pytest.mark.parametrize(
    ("args", "code", "outcome"),
    [
        (["--fail", "eu-west-1:deploy:1"], 0, "complete"),
        (["--fail", "eu-west-1:deploy:3"], 1, "stopped"),
        (["--fail", "eu-west-1:deploy:3", "--max-retries", "3"], 0, "complete"),
        (["--fail", "eu-west-1:verify", "--on-failure", "rollback"], 1, "rolled_back"),
        (["--fail", "us-east-1:deploy", "--on-failure", "skip"], 0, "complete_with_skips"),
        (["--fail", "us-east-1:verify", "--on-failure", "stop"], 1, "stopped"),
    ],
)
def test_exit_status_follows_the_outcome(invoke, args, code, outcome):
    got_code, doc = deploy_json(invoke, "--regions", "us-east-1,eu-west-1", "model_v1", *args)
    assert (got_code, doc["outcome"]) == (code, outcome)


def test_text_markdown_html_formats(invoke):
    base = ["deploy", "--regions", "us-east-1,eu-west-1", "model_v2"]
    text = invoke(*base).output
    assert text.startswith(
        "Deployment of model_v2 (version 2.0.0) to us-east-1, eu-west-1\n\nProcess Table\nStep"
    )
    assert "Outcome: complete" in text
    md = invoke(*base, "--format", "markdown").output
    assert "### Status Tracker" in md and "| routing_configured | false |" in md
    page = invoke(*base, "--format", "html").output
    assert "<caption>Process Table</caption>" in page
    assert "{&#x27;us-east-1&#x27;: &#x27;success&#x27;}" in page


def test_full_tracker_has_a_column_per_step(invoke):
    _, doc = deploy_json(
        invoke, "--regions", "us-east-1,eu-west-1", "model_v1", "--tracker", "full"
    )
    assert doc["tracker"]["columns"] == ["Start"] + [f"After Step {n}" for n in range(1, 8)] + [
        "Final"
    ]


def test_model_from_a_path(invoke, tmp_path):
    from sandbox.core.models import load_model

    artifact = tmp_path / "mine.json"
    doc = load_model("model_v2").to_dict() | {"name": "mine"}
    artifact.write_text(json.dumps(doc))
    code, out = deploy_json(invoke, "--regions", "eu-north-1", str(artifact))
    assert (code, out["model"]) == (0, "mine")


def test_single_region_flag_deploys_one_region(invoke):
    code, doc = deploy_json(invoke, "--region", "eu-north-1", "model_v2")
    assert (code, doc["regions"]) == (0, ["eu-north-1"])


def test_extra_regions_file(invoke, tmp_path):
    extra = tmp_path / "lab.toml"
    extra.write_text('[[region]]\nname = "lab-1"\nlocation = "Lab"\nlat = 42.36\nlon = -71.06\n')
    code, doc = deploy_json(
        invoke, "--extra-regions", str(extra), "--regions", "lab-1,us-east-1", "model_v1"
    )
    assert (code, doc["regions"]) == (0, ["lab-1", "us-east-1"])
    more = tmp_path / "more.toml"
    more.write_text('[[region]]\nname = "lab-2"\nlocation = "Lab"\nlat = 40.0\nlon = -3.7\n')
    code, doc = deploy_json(
        invoke,
        *("--extra-regions", str(extra), "--extra-regions", str(more)),
        *("--regions", "lab-1,lab-2", "model_v1"),
    )
    assert (code, doc["regions"]) == (0, ["lab-1", "lab-2"])
    listed = invoke("regions", "--extra-regions", str(extra), "--from", "lab-1").output
    assert listed.splitlines()[-1].startswith("lab-1") and "estimate" in listed
    bad = tmp_path / "bad.toml"
    bad.write_text('[[region]]\nname = "lab-2"\nlocation = "Lab"\nlat = 420\nlon = 0\n')
    result = invoke("deploy", "--extra-regions", str(bad), "--regions", "lab-2", "model_v1")
    assert result.exit_code == 2
    assert "--extra-regions" in result.output and "region[0].lat" in result.output


USAGE_ERRORS = [
    # the lesson's syntax questions
    (
        "--regions us-west1 europe-west1 model_v2",
        "separated by commas, not spaces: "
        "mrsandbox deploy --regions us-west1,europe-west1 model_v2",
    ),
    (
        "--region us-east1 europe-west1 model_name",
        "--region takes a single region; for several regions use --regions",
    ),
    (
        "--region us-east1,europe-west1 model_name",
        "mrsandbox deploy --regions us-east1,europe-west1 model_name",
    ),
    (
        "--regions [us-east1 europe-west1] model_name",
        "without brackets: mrsandbox deploy --regions us-east1,europe-west1 model_name",
    ),
    ("--regions [us-east1,europe-west1] model_v1", "without brackets"),
    (
        "--regions ['us-east-1','eu-west-1'] model_v1",
        "without brackets: mrsandbox deploy --regions us-east-1,eu-west-1 model_v1",
    ),
    (
        '--regions ["us-east-1","eu-west-1"] model_v1',
        "without brackets: mrsandbox deploy --regions us-east-1,eu-west-1 model_v1",
    ),
    ("--regions [] model_v1", "without brackets: mrsandbox deploy --regions us-east-1,eu-west-1"),
    (
        "--regions us-east-1 --regions eu-west-1 model_v1",
        "--regions is given more than once; list every region in one --regions: "
        "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1",
    ),
    ("--region us-east-1 --region eu-west-1 model_v1", "--region is given more than once"),
    (
        "--regions us-east-1 --fail us-east-1:deploy:1 --fail us-east-1:deploy:2 model_v1",
        "us-east-1:deploy is already given",
    ),
    ("--regions us-east1 --seed -1 model_v1", "-1 is not in the range 0<=x<=9223372036854775807"),
    ("--regions us-east1 europe-west1", "--regions us-east1,europe-west1 MODEL"),
    ("--regions us-east1,us-east1 model_v1", "lists us-east1 more than once"),
    ("--regions , model_v1", "--regions is empty"),
    ("--regions us-east1,,asia-south1 model_v1", "empty name"),
    ("--regions us-east1- model_v1", "did you mean 'us-east1'"),
    ("--regions us-east1 model_v3", "unknown model 'model_v3'"),
    ("--regions us-east1", "missing MODEL"),
    ("model_v1", "missing --regions"),
    ("--regions us-east1 --region us-east4 model_v1", "not both"),
    ("--regions us-east1 model_v1 model_v2", "deploy takes one MODEL, got 2"),
    ("--regions us-east1 --fail us-east1 model_v1", "is not a failure"),
    ("--regions us-east1 --fail us-east1:deploy:0 model_v1", "COUNT must be a whole number"),
    ("--regions us-east1 --fail eu-west-1:deploy model_v1", "not one of --regions"),
    ("--regions us-east1 --on-failure panic model_v1", "'panic' is not one of"),
    ("--regions us-east1 --max-retries -1 model_v1", "--max-retries"),
    ("--regions us-east1 --max-retries 21 model_v1", "0<=x<=20"),
    ("--regions us-east1 --format yaml model_v1", "'yaml' is not one of"),
    ("--regions us-east1 --seed x model_v1", "'x' is not a valid integer"),
]


@pytest.mark.parametrize(("line", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2_with_the_fix(invoke, line, message):
    result = invoke("deploy", *line.split())
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    with pytest.raises(Exception) as parsed:
        parse_deploy_args(line.split())
    assert getattr(parsed.value, "exit_code", None) == 2


def test_empty_model_is_missing(invoke):
    result = invoke("deploy", "--regions", "us-east-1", "")
    assert result.exit_code == 2 and "missing MODEL" in result.output


def test_suggested_command_keeps_the_other_options(invoke):
    result = invoke(
        "deploy",
        "--regions",
        "us-west1",
        "europe-west1",
        "model_v2",
        "--seed",
        "4",
        "--fail",
        "us-west1:deploy:1",
        "--on-failure",
        "skip",
    )
    assert result.exit_code == 2
    assert (
        "mrsandbox deploy --regions us-west1,europe-west1 model_v2 --on-failure skip "
        "--fail us-west1:deploy:1 --seed 4"
    ) in " ".join(result.output.split())


def test_the_suggested_fix_runs(invoke):
    """The corrected command a usage error shows is itself a command that works."""
    result = invoke("deploy", "--regions", "us-west1", "europe-west1", "model_v2")
    fixed = " ".join(result.output.split()).split("not spaces: ")[1].split()
    assert fixed[:2] == ["mrsandbox", "deploy"]
    assert invoke(*fixed[1:]).exit_code == 0


def test_parse_deploy_args_accepts_the_lesson_command():
    request = parse_deploy_args(["--regions", "us-east1,europe-west1", "model_v1"])
    assert request.regions == ["us-east1", "europe-west1"]
    assert request.model.name == "model_v1"
    assert (request.on_failure, request.max_retries, request.fmt) == ("retry", 2, "text")


@settings(max_examples=40, deadline=None)
@given(
    regions=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True),
    policy=st.sampled_from(POLICIES),
    stage=st.sampled_from(["deploy", "verify"]),
    count=st.integers(1, 4),
    pick=st.integers(0, 3),
)
def test_outcome_and_exit_status_agree(regions, policy, stage, count, pick):
    from click.testing import CliRunner

    from sandbox.cli import main

    spec = f"{regions[pick % len(regions)]}:{stage}:{count}"
    args = ["deploy", "--regions", ",".join(regions), "model_v1", "--on-failure", policy]
    result = CliRunner().invoke(main, [*args, "--fail", spec, "--format", "json"])
    doc = json.loads(result.output)
    assert result.exit_code == (0 if doc["outcome"] in ("complete", "complete_with_skips") else 1)
    assert doc["steps"][-1]["action"] == "End"


def test_regions_command_lists_the_catalogue(invoke):
    result = invoke("regions")
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == len(NAMES)
    near = invoke("regions", "--from", "us-east-1")
    assert "measured (2017)" in near.output and "estimate" in near.output
    bad = invoke("regions", "--from", "us-east1-")
    assert bad.exit_code == 2 and "did you mean 'us-east1'" in bad.output
    assert "same site" in near.output and "between the sites of" in near.output


def test_regions_check_estimate_prints_each_pair_and_the_mean_error(invoke):
    checks = RegionCatalog.default().estimate_checks()
    result = invoke("regions", "--check-estimate")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    rows = [line.split() for line in lines[3:-1]]
    assert len(rows) == len(checks) == 45
    errors = [float(row[-1].rstrip("%")) for row in rows]
    assert errors == sorted(errors, reverse=True)
    by_pair = {(c.region_a, c.region_b): c for c in checks}
    for a, b, measured, estimate, _ in rows:
        check = by_pair[a, b]
        assert float(measured) == pytest.approx(check.measured_ms, abs=0.005)
        assert float(estimate) == pytest.approx(check.estimate_ms, abs=0.05)
    mean = float(lines[-1].split()[-1].rstrip("%"))
    assert mean == pytest.approx(sum(errors) / len(errors), abs=0.1)
    both = invoke("regions", "--check-estimate", "--from", "us-east-1")
    assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.parametrize(
    "command",
    [[str(Path(sys.executable).with_name("mrsandbox"))], [sys.executable, "-m", "sandbox"]],
)
def test_entry_points_run_as_real_processes(command):
    ok = subprocess.run(
        [*command, "deploy", "--regions", "us-east-1,eu-west-1", "model_v1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "All steps completed successfully" in ok.stdout
    bad = subprocess.run(
        [*command, "deploy", "--regions", "us-west1", "europe-west1", "model_v2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "separated by commas" in bad.stderr
    assert "Usage: mrsandbox deploy" in bad.stderr


def test_a_deeply_nested_artifact_is_a_usage_error(invoke, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = invoke("deploy", "--regions", "us-east-1", str(deep))
    assert result.exit_code == 2 and "nested too deeply" in result.output


@pytest.mark.parametrize(
    ("left", "steps", "unchanged"),
    [
        (["monitor_health"], 7, {"regions", "monitoring_active"}),
        (["routing_setup"], 6, {"regions", "routing_configured", "monitoring_active"}),
        (
            ["routing_setup", "monitor_health"],
            6,
            {"regions", "routing_configured", "monitoring_active"},
        ),
        (
            ["verify_deployment:us-east-1"],
            3,
            {"regions", "verification_status", "routing_configured", "monitoring_active"},
        ),
    ],
)
def test_leave_out_runs_the_loop_without_the_calls(invoke, left, steps, unchanged):
    args = [a for call in left for a in ("--leave-out", call)]
    code, doc = deploy_json(invoke, "--regions", "us-east-1,eu-west-1", "model_v1", *args)
    assert code == 1 and doc["outcome"] == "incomplete"
    assert len(doc["steps"]) == steps and doc["steps"][-1]["action"] == "End"
    start, end = doc["snapshots"][0]["variables"], doc["snapshots"][-1]["variables"]
    assert {v for v in start if start[v] == end[v]} == unchanged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--leave-out", "monitor_health", "--leave-out", "monitor_health"], "each call once"),
        (["--leave-out", "verify_deployment"], "write verify_deployment:us-east-1"),
        (["--leave-out", "deploy_model:ap-south-1"], "ap-south-1 is not one of the regions"),
        (["--leave-out", "select_region"], "expected one of deploy_model, verify_deployment"),
    ],
)
def test_leave_out_refuses_what_cannot_be_left_out(invoke, args, message):
    result = invoke("deploy", "--regions", "us-east-1,eu-west-1", "model_v1", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "--regions", "us-east-1", "model_v1", "--time-scale", "0.1"], "add --live"),
        (["deploy", "--regions", "us-east-1", "model_v1", "--processes"], "add --live"),
        (
            ["serve", "--regions", "us-east-1", "--health-interval", "1", "--health-timeout", "5"],
            "'--health-timeout': 5 s is not shorter than the probe interval (1 s)",
        ),
        (
            [
                *("serve", "--regions", "us-east-1,eu-west-1", "--policy", "weighted"),
                *("--weights", "us-east-1=1,us-east-1=2"),
            ],
            "us-east-1 is given twice",
        ),
    ],
)
def test_options_that_would_be_ignored_or_contradict_are_refused(invoke, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
