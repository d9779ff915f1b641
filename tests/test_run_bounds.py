"""A run estimated to take longer than the bound of wall time starts only with --yes: the estimate
from a run's own inputs, the message and exit status 2 before anything starts, and --yes."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import requests

from sandbox import HealthPolicy, run_deployment
from sandbox.args.deploy import parse_deploy_args
from sandbox.dashboard import mount
from sandbox.experiment import bounds
from sandbox.experiment.bounds import (
    MAX_WALL_S,
    SIM_REQUESTS_PER_S,
    Estimate,
    run_estimate,
    sweep_estimate,
    wall_text,
)
from sandbox.experiment.rollout import USERS_PER_S, rollout_scenario
from sandbox.experiment.scenario import parse_scenario
from sandbox.live import LiveFleet
from sandbox.sim.fleet import SimFleet

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def document(**top: object) -> dict:
    """A scenario document: two groups of users, three regions, `top` on top."""
    clients = [
        {"region": "eu-west-2", "rate_per_s": 40.0},
        {"region": "us-east-2", "rate_per_s": 25.0},
    ]
    return {
        "name": "bounds",
        "duration_s": 600.0,
        "deployment": {"regions": REGIONS},
        "clients": clients,
        **top,
    }


def toml_text(doc: dict) -> str:
    """`doc` (scalars, the deployment table and the clients) as a TOML file."""

    def pairs(table: dict) -> list[str]:
        return [f"{k} = {json.dumps(v)}" for k, v in table.items()]

    lines = pairs({k: v for k, v in doc.items() if k not in ("deployment", "clients")})
    lines += ["[deployment]", *pairs(doc["deployment"])]
    for client in doc["clients"]:
        lines += ["[[clients]]", *pairs(client)]
    text = "\n".join(lines) + "\n"
    assert tomllib.loads(text) == doc  # the file says what the test computes from
    return text


# -- the estimate ---------------------------------------------------------------------------------


def test_a_simulated_run_takes_its_requests_at_the_simulations_speed():
    doc = document()
    requests_sent = sum(c["rate_per_s"] for c in doc["clients"]) * doc["duration_s"]
    estimate = run_estimate(parse_scenario(doc, "t"))
    assert estimate.wall_s == pytest.approx(requests_sent / SIM_REQUESTS_PER_S)
    assert f"{requests_sent:,.0f} simulated requests" in estimate.why


def test_a_live_run_takes_its_emulated_seconds_times_its_time_scale():
    doc = document(mode="live", time_scale=0.25, duration_s=1234.0)
    estimate = run_estimate(parse_scenario(doc, "t"))
    assert estimate.wall_s == pytest.approx(doc["duration_s"] * doc["time_scale"])
    assert "1234 s of emulated users at time scale 0.25" in estimate.why


@pytest.mark.parametrize(
    ("waves", "count"),
    [(None, len(REGIONS)), ([["us-east-1"], ["eu-west-1", "ap-northeast-1"]], 2)],
)
def test_a_live_rollout_takes_its_start_then_every_waves_bake(waves, count):
    rollout = {"model": "model_v1_1", "strategy": "canary", "bake_s": 5000.0, "start_s": 30.0}
    rollout |= {"waves": waves} if waves else {}
    doc = document(mode="live", time_scale=0.5, duration_s=60.0, rollout=rollout)
    doc["deployment"]["model"] = "model_v1"
    emulated = rollout["start_s"] + count * rollout["bake_s"]
    estimate = run_estimate(parse_scenario(doc, "t"))
    assert estimate.wall_s == pytest.approx(emulated * doc["time_scale"])
    assert f"5000 s of bake x {count} waves after 30 s of users" in estimate.why


def test_a_rollout_shorter_than_the_scenario_takes_the_scenarios_duration():
    rollout = {"model": "model_v1_1", "strategy": "waves", "bake_s": 10.0}
    doc = document(mode="live", time_scale=2.0, duration_s=900.0, rollout=rollout)
    estimate = run_estimate(parse_scenario(doc, "t"))
    assert estimate.wall_s == pytest.approx(doc["duration_s"] * doc["time_scale"])


@pytest.mark.parametrize("live", [True, False])
def test_a_deploy_rollout_takes_every_waves_bake(live):
    bake, scale = 86400.0, 0.5
    line = ["--regions", ",".join(REGIONS), "model_v1_1", "--strategy", "canary"]
    line += ["--bake-s", str(bake)] + (["--live", "--time-scale", str(scale)] if live else [])
    estimate = run_estimate(rollout_scenario(parse_deploy_args(line)))
    emulated = len(REGIONS) * bake  # canary: one region a wave
    if live:
        assert estimate.wall_s == pytest.approx(emulated * scale)
    else:
        users = USERS_PER_S * len(REGIONS) * emulated
        assert estimate.wall_s == pytest.approx(users / SIM_REQUESTS_PER_S)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_a_sweep_shares_its_runs_estimates_among_its_workers(workers):
    runs = [Estimate(100.0, "a"), Estimate(700.0, "b"), Estimate(250.0, "c")]
    estimate = sweep_estimate(runs, workers)
    total = sum(run.wall_s for run in runs)
    assert estimate.wall_s == pytest.approx(total / min(workers, len(runs)))
    assert estimate.why.startswith(f"3 runs on {min(workers, 3)} workers, the longest about")
    assert "(b)" in estimate.why


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        *((45, "45 s"), (90.5, "90.5 s"), (150, "2.5 min")),
        *((3600, "1 h"), (9000, "2.5 h"), (259200, "3 days")),
    ],
)
def test_durations_read_as_a_person_says_them(seconds, text):
    assert wall_text(seconds) == text


# -- the commands ---------------------------------------------------------------------------------


@pytest.fixture
def nothing_starts(monkeypatch):
    """Fail the test if a fleet (simulated or live) or a sweep's process pool is built."""

    def refuse(*args, **kwargs):
        raise AssertionError("a run started")

    for owner in (LiveFleet, SimFleet, concurrent.futures.ProcessPoolExecutor):
        monkeypatch.setattr(owner, "__init__", refuse)


def scenario_file(tmp_path: Path, doc: dict) -> str:
    path = tmp_path / "long.toml"
    path.write_text(toml_text(doc))
    return str(path)


LIVE_LONG = document(mode="live", time_scale=1.0, duration_s=MAX_WALL_S + 1)
SIM_HEAVY = document(duration_s=600.0, clients=[{"region": "eu-west-2", "rate_per_s": 100_000.0}])


@pytest.mark.parametrize(
    ("doc", "fix"),
    [(LIVE_LONG, "duration_s or time_scale"), (SIM_HEAVY, "duration_s or rate_per_s")],
)
def test_a_long_experiment_says_how_long_and_starts_nothing_without_yes(
    invoke, tmp_path, nothing_starts, doc, fix
):
    out = tmp_path / "out"
    result = invoke("experiment", scenario_file(tmp_path, doc), "--out", str(out))
    estimate = run_estimate(parse_scenario(doc, "t"))
    assert estimate.over
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lower = f"the scenario's {fix}"
    assert result.stderr == f"Error: {estimate.refusal(lower)}\n"
    assert not out.exists()  # a refused run leaves nothing behind


@pytest.mark.parametrize("live", [True, False])
def test_a_long_rollout_says_how_long_and_starts_nothing_without_yes(invoke, nothing_starts, live):
    # simulated, the bake alone cannot be over the bound with few regions: use many
    regions = REGIONS if live else [*REGIONS, "eu-west-2", "us-west-2", "eu-central-1"]
    regions += [] if live else ["ap-south-1", "sa-east-1", "ca-central-1"]
    line = ["--regions", ",".join(regions), "model_v1_1", "--strategy", "canary"]
    line += ["--bake-s", "86400"] + (["--live"] if live else [])
    estimate = run_estimate(rollout_scenario(parse_deploy_args(line)))
    assert estimate.over
    result = invoke("deploy", *line)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    fix = "--bake-s or --time-scale" if live else "--bake-s"
    assert result.stderr == f"Error: {estimate.refusal(fix)}\n"
    assert f"about {wall_text(estimate.wall_s)} of wall time" in result.stderr


def test_a_long_sweep_says_how_long_and_starts_nothing_without_yes(
    invoke, tmp_path, nothing_starts
):
    doc = document(mode="live", time_scale=1.0, duration_s=1000.0)
    durations, seeds, workers = (1000.0, 1500.0), 3, 2
    line = ["sweep", scenario_file(tmp_path, doc), "--vary", "duration_s=1000.0,1500.0"]
    result = invoke(*line, "--seeds", str(seeds), "--workers", str(workers))
    wall = sum(durations) * doc["time_scale"] * seeds / workers
    assert wall > MAX_WALL_S
    assert result.exit_code == 2, result.output
    runs = f"{len(durations) * seeds} runs on {workers} workers"
    assert f"about {wall_text(wall)} of wall time ({runs}, the longest" in result.stderr
    assert "add --yes to run it, or lower --seeds" in result.stderr
    assert result.stdout == ""


def test_a_sweep_within_the_bound_runs_without_yes(invoke, tmp_path):
    doc = document(duration_s=20.0)
    line = ["sweep", scenario_file(tmp_path, doc), "--vary", "duration_s=10.0,20.0"]
    result = invoke(*line, "--seeds", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") > 2 and "this run would take" not in result.stderr


@pytest.mark.parametrize("mode", ["live", "sim"])
def test_yes_lets_a_run_over_the_bound_start(invoke, tmp_path, monkeypatch, mode):
    doc = document(
        duration_s=4.0, **({"mode": "live", "time_scale": 0.05} if mode == "live" else {})
    )
    estimate = run_estimate(parse_scenario(doc, "t"))
    monkeypatch.setattr(bounds, "MAX_WALL_S", estimate.wall_s / 2)  # a small run, over the bound
    path = scenario_file(tmp_path, doc)
    refused = invoke("experiment", path, "--format", "json")
    assert refused.exit_code == 2 and "add --yes to run it" in refused.stderr
    ran = invoke("experiment", path, "--format", "json", "--yes")
    assert ran.exit_code in (0, 1), ran.output
    assert "this run would take" not in ran.stderr
    assert '"sent"' in ran.stdout


def test_yes_takes_no_value(invoke, tmp_path):
    result = invoke("experiment", scenario_file(tmp_path, LIVE_LONG), "--yes=no")
    assert result.exit_code == 2
    assert "Option '--yes' does not take a value" in result.stderr


def test_the_real_command_refuses_a_days_long_bake_at_once():
    line = ["--regions", ",".join(REGIONS), "model_v1_1", "--strategy", "canary", "--live"]
    line += ["--bake-s", "86400"]
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "deploy", *line],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    emulated = len(REGIONS) * 86400.0
    assert done.stderr.splitlines() == [
        f"Error: this run would take about {wall_text(emulated)} of wall time (86400 s of bake x "
        f"{len(REGIONS)} waves at time scale 1), over the bound of {wall_text(MAX_WALL_S)}; add "
        "--yes to run it, or lower --bake-s or --time-scale"
    ]


# -- the dashboard's rollout ----------------------------------------------------------------------


@pytest.fixture
def dashboard():
    fleet = LiveFleet(REGIONS, time_scale=0.02, seed=2)
    board = mount(fleet)
    try:
        with fleet:
            policy = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=2)
            d = run_deployment(REGIONS, "model_v1", backend=fleet, health=policy)
            assert d.outcome == "complete"
            board.follow(d)
            yield fleet
    finally:
        board.close()


def test_the_dashboard_asks_for_yes_before_a_long_rollout(dashboard):
    def post(body: dict) -> requests.Response:
        headers = {"Authorization": f"Bearer {dashboard.admin_token}"}
        url = f"{dashboard.gateway_url}/dashboard/api/rollout"
        return requests.post(url, json=body, headers=headers, timeout=10)

    body = {"model": "model_v1_1", "strategy": "canary", "bake_s": 86400}
    wall = len(REGIONS) * body["bake_s"] * dashboard.time_scale
    assert wall > MAX_WALL_S
    refused = post(body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error.startswith(f"bake_s: this run would take about {wall_text(wall)} of wall time")
    assert error.endswith('add "yes": true to run it, or lower bake_s')
    bad = post(body | {"yes": "true"})
    assert (
        bad.status_code == 400 and bad.json()["error"] == 'yes: expected true or false, got "true"'
    )
    started = post(body | {"yes": True})
    assert started.status_code == 202, started.text


def test_a_lesson_of_a_days_long_rollout_asks_for_yes_as_deploy_does(invoke):
    line = ["--regions", ",".join(REGIONS), "model_v1_1", "--strategy", "canary", "--live"]
    line += ["--bake-s", "86400"]  # two days of wall time at time scale 1
    deployed = invoke("deploy", *line)
    taught = invoke("lesson", "--format", "json", *line)
    assert taught.exit_code == deployed.exit_code == 2
    assert taught.stdout == "" and taught.stderr == deployed.stderr
    assert "add --yes to run it, or lower --bake-s or --time-scale" in taught.stderr
    late = invoke("lesson", *line, "--yes")
    assert late.exit_code == 2 and "--yes after the deploy arguments" in late.stderr
