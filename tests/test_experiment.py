"""Failure-injection experiments in simulation: accounting, determinism, detection, the CLI."""

from __future__ import annotations

import copy
import csv
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.core import percentile
from sandbox.experiment import run_experiment
from sandbox.experiment.columns import rows
from sandbox.experiment.scenario import bundled_scenarios, load_scenario, parse_scenario

SMALL = {
    "name": "small",
    "seed": 1,
    "duration_s": 200,
    "deployment": {"regions": ["us-east-1", "eu-west-1"]},
    "health": {"interval_s": 10, "failure_threshold": 3, "healthy_threshold": 2},
    "clients": [{"region": "eu-west-2", "rate_per_s": 5}, {"region": "us-east-2", "rate_per_s": 3}],
    "faults": [{"region": "eu-west-1", "kind": "outage", "start_s": 50, "duration_s": 80}],
    "steady_state": {"max_error_rate": 0.05},
}


def scenario(**changes):
    doc = copy.deepcopy(SMALL)
    for key, value in changes.items():
        doc[key] = value
    return parse_scenario(doc, "small.toml")


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0
    assert percentile([5.0], 1) == 5.0


def test_every_request_is_accounted_for():
    e = run_experiment(scenario())
    s = e.journal["summary"]
    assert s["sent"] == len(e.log) == s["succeeded"] + s["failed"] > 0
    assert sum(p["sent"] for p in s["phases"].values()) == s["sent"]
    assert sum(p["failed"] for p in s["phases"].values()) == s["failed"]
    assert sum(s["traffic_share"].values()) == pytest.approx(1.0)
    assert all(0 <= t < 200 for t in e.log.column("t"))


def test_same_seed_same_journal_byte_for_byte():
    first = json.dumps(run_experiment(scenario()).journal)
    assert json.dumps(run_experiment(scenario()).journal) == first
    assert json.dumps(run_experiment(scenario(seed=2)).journal) != first


def test_outage_is_detected_failed_over_and_recovered():
    e = run_experiment(scenario())
    fault = e.journal["summary"]["per_fault"][0]
    assert 20 - 1e-9 <= fault["detection_s"] <= 30 + 1
    assert fault["failover_s"] is not None and fault["failover_s"] < fault["detection_s"] + 1
    assert 10 <= fault["recovery_s"] <= 20 + 1
    kinds = [ev["event"] for ev in e.events]
    assert kinds.index("fault_start") < kinds.index("health_unhealthy") < kinds.index("fault_end")
    assert "routing_change" in kinds
    times, regions = e.log.column("t"), e.log.column("region")
    during = [r for t, r in zip(times, regions, strict=True) if 60 <= t < 120]
    assert set(during) == {e.log.regions.index("us-east-1")}


@settings(max_examples=25, deadline=None)
@given(
    interval=st.sampled_from([2.0, 5.0, 10.0, 20.0]),
    threshold=st.integers(1, 5),
    start=st.floats(10, 100),
    seed=st.integers(0, 10_000),
)
def test_detection_is_within_one_interval_of_interval_times_threshold(
    interval, threshold, start, seed
):
    e = run_experiment(
        scenario(
            seed=seed,
            duration_s=start + interval * threshold + 3 * interval + 20,
            health={"interval_s": interval, "timeout_s": 1, "failure_threshold": threshold},
            faults=[{"region": "eu-west-1", "kind": "outage", "start_s": start}],
            clients=[{"region": "eu-west-2", "rate_per_s": 1}],
        )
    )
    detected = e.journal["summary"]["per_fault"][0]["detection_s"]
    expected = interval * threshold
    assert expected - interval - 1e-6 <= detected <= expected + 1


@settings(max_examples=20, deadline=None)
@given(
    rates=st.lists(st.floats(0.5, 20), min_size=1, max_size=3),
    kind=st.sampled_from(["outage", "latency", "error_rate", "timeout"]),
    retries=st.integers(0, 2),
    seed=st.integers(0, 1000),
)
def test_accounting_holds_for_random_scenarios(rates, kind, retries, seed):
    params = {
        "outage": {},
        "latency": {"latency_ms": 500, "jitter_ms": 100},
        "error_rate": {"error_rate": 0.5},
        "timeout": {"timeout_ms": 3000},
    }[kind]
    clients = ["eu-west-2", "us-east-2", "ap-south-1"]
    e = run_experiment(
        scenario(
            seed=seed,
            routing={"retries": retries},
            clients=[{"region": c, "rate_per_s": r} for c, r in zip(clients, rates, strict=False)],
            faults=[
                {"region": "eu-west-1", "kind": kind, "start_s": 40, "duration_s": 60, **params}
            ],
        )
    )
    s = e.journal["summary"]
    assert s["sent"] == s["succeeded"] + s["failed"] == len(e.log)
    assert all(1 <= a <= retries + 1 for a in e.log.column("attempts"))
    assert json.dumps(e.journal) == json.dumps(run_experiment(e.scenario).journal)


def test_steady_state_deviation_is_reported():
    held = run_experiment(scenario())
    assert held.journal["deviated"] is False and held.journal["status"] == "completed"
    strict = run_experiment(scenario(steady_state={"max_p99_ms": 1}))
    assert strict.journal["deviated"] is True
    assert not strict.journal["steady_states"]["before"]["held"]


def test_a_deployment_that_does_not_complete_aborts_the_experiment():
    e = run_experiment(
        scenario(
            deployment={
                "regions": ["us-east-1", "eu-west-1"],
                "on_failure": "stop",
                "failures": ["us-east-1:deploy"],
            }
        )
    )
    assert (e.journal["status"], e.journal["deviated"]) == ("aborted", True)
    assert e.journal["summary"]["sent"] == 0


@pytest.mark.parametrize("name", bundled_scenarios())
def test_every_bundled_scenario_runs(name):
    e = run_experiment(load_scenario(name))
    assert e.journal["status"] == "completed"
    assert e.journal["summary"]["sent"] > 0


def test_bundled_scenarios_show_what_they_promise():
    caught = run_experiment(load_scenario("bad_model_caught"))
    assert caught.deployment.outcome == "complete_with_skips"
    assert caught.journal["summary"]["traffic_share"]["eu-west-1"] == 0
    retries = run_experiment(load_scenario("flaky_region_retries")).journal
    no_retries = run_experiment(load_scenario("flaky_region_no_retries")).journal
    assert retries["summary"]["failed"] < no_retries["summary"]["failed"]
    assert not retries["deviated"] and no_retries["deviated"]
    single = run_experiment(load_scenario("single_region_baseline")).journal
    multi = run_experiment(load_scenario("regional_outage")).journal
    assert (
        single["summary"]["latency_ms"]["p50"]
        > multi["summary"]["phases"]["before"]["latency_ms"]["p50"]
    )


def test_experiment_command_writes_journal_csv_and_plots(invoke, tmp_path):
    result = invoke("experiment", "regional_outage", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "marked unhealthy after" in result.output
    journal = json.loads((tmp_path / "journal.json").read_text())
    low, high = journal["summary"]["per_fault"][0]["expected_detection_s"]
    assert f"(expected {low:g} to {high:g} s: 3 failed probes in a row" in result.output
    assert set(journal) >= {
        "name",
        "seed",
        "status",
        "deviated",
        "steady_states",
        "summary",
        "events",
        "scenario",
    }
    with (tmp_path / "requests.csv").open() as rows:
        table = list(csv.reader(rows))
    assert table[0] == [
        *("t_s", "client_region", "served_by", "attempts", "latency_ms", "outcome", "version")
    ]
    assert len(table) - 1 == journal["summary"]["sent"]
    for name in ("traffic.png", "latency.png", "errors.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert "wall_s" in json.loads((tmp_path / "run.json").read_text())
    again = tmp_path / "again"
    invoke("experiment", "regional_outage", "--out", str(again))
    assert (again / "journal.json").read_bytes() == (tmp_path / "journal.json").read_bytes()


def test_experiment_command_exit_status(invoke, tmp_path):
    assert invoke("experiment", "latency_spike").exit_code == 1
    doc = invoke("experiment", "regional_outage", "--format", "json")
    assert json.loads(doc.output)["deviated"] is False
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nduration_s = 10\n[[clients]]\nregion = "eu-west-1"\nrate_per_s = 1\n'
        '[deployment]\nregions = ["eu-west-1"]\n[[faults]]\nregion = "eu-west-1"\n'
        'kind = "outage"\nstart_s = -5\n'
    )
    result = invoke("experiment", str(bad))
    assert result.exit_code == 2
    assert "faults[0].start_s: expected a number from 0 to 10, got -5" in " ".join(
        result.output.split()
    )
    assert invoke("experiment").exit_code == 2
    listed = invoke("experiment", "--list").output
    assert all(name in listed for name in bundled_scenarios())


LIVE_SMALL = SMALL | {
    "seed": 3,
    "clients": [{"region": "eu-west-2", "rate_per_s": 4}, {"region": "us-east-2", "rate_per_s": 2}],
}


def test_sim_and_live_agree_on_a_small_scenario():
    """Detection within one probe interval of each other, each region's share within 0.1."""
    sim = run_experiment(parse_scenario(LIVE_SMALL, "small"))
    live_doc = LIVE_SMALL | {"mode": "live", "time_scale": 0.05}
    live = run_experiment(parse_scenario(live_doc, "small"))
    ours, real = sim.journal["summary"], live.journal["summary"]
    assert real["sent"] == real["succeeded"] + real["failed"] > 500
    assert abs(ours["per_fault"][0]["detection_s"] - real["per_fault"][0]["detection_s"]) <= 10
    for region, share in ours["traffic_share"].items():
        assert abs(share - real["traffic_share"][region]) <= 0.1
    assert real["availability"] >= 0.99
    assert [e["event"] for e in live.events][:1] == ["fault_start"]


def test_a_bad_model_at_run_time_shows_as_wrong_answers():
    e = run_experiment(
        scenario(
            faults=[{"region": "eu-west-1", "kind": "bad_model", "start_s": 50, "duration_s": 60}]
        )
    )
    s = e.journal["summary"]
    assert s["wrong_answers"] > 0 and s["failed"] >= s["wrong_answers"]
    assert e.journal["steady_states"]["during"]["held"] is False
    assert s["per_fault"][0]["failover_s"] is None  # nothing marked it down: no failover
    outcomes = {row[5] for row in rows(e.log)}
    assert "wrong" in outcomes


def test_healthiest_policy_sends_traffic_back_after_recovery():
    e = run_experiment(scenario(routing={"policy": "healthiest"}))
    rows = zip(e.log.column("t"), e.log.column("region"), e.log.column("ok"), strict=True)
    late = [region for t, region, ok in rows if t > 170 and ok]
    assert e.log.regions.index("eu-west-1") in late


def test_out_folder_errors_and_aborted_text(invoke, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad = invoke("experiment", "regional_outage", "--out", str(blocker / "sub"))
    assert bad.exit_code == 2 and "cannot create" in bad.output
    aborted = tmp_path / "aborted.toml"
    aborted.write_text(
        'name = "a"\nduration_s = 10\n[deployment]\nregions = ["eu-west-1"]\non_failure = "stop"\n'
        'failures = ["eu-west-1:deploy"]\n[[clients]]\nregion = "eu-west-1"\nrate_per_s = 1\n'
    )
    result = invoke("experiment", str(aborted))
    assert result.exit_code == 1
    assert "did not complete (stopped): no user traffic was sent" in result.output


TIME_SCALED = """
name = "a time scale, no mode"
duration_s = 20
time_scale = 0.02

[deployment]
regions = ["us-east-1"]

[[clients]]
region = "us-east-2"
rate_per_s = 2
"""


def test_the_mode_on_the_command_line_is_applied_before_the_file_is_checked(invoke, tmp_path):
    path = tmp_path / "scaled.toml"
    path.write_text(TIME_SCALED)
    refused = invoke("experiment", str(path))
    assert refused.exit_code == 2 and 'time_scale: only for mode = "live"' in refused.output
    live = invoke("experiment", str(path), "--mode", "live", "--format", "json")
    assert live.exit_code == 0, live.output
    journal = json.loads(live.stdout)  # a loaded machine may add a warning on stderr
    assert journal["scenario"]["mode"] == "live" and journal["summary"]["sent"] > 0
    path.write_text(TIME_SCALED.replace("duration_s = 20", 'duration_s = 20\nmode = "live"'))
    sim = invoke("experiment", str(path), "--mode", "sim", "--format", "json")
    assert sim.exit_code == 0, sim.output
    assert json.loads(sim.output)["scenario"]["mode"] == "sim"


def test_with_no_other_region_no_failover_is_promised_and_the_report_says_so():
    e = run_experiment(
        scenario(
            deployment={"regions": ["us-east-1"]},
            faults=[{"region": "us-east-1", "kind": "outage", "start_s": 0}],
        )
    )
    fault = e.journal["summary"]["per_fault"][0]
    assert fault["detection_s"] is not None  # the probes see it
    assert fault["expected_failover_s"] is None and "fails open" in fault["why"]["failover"]
    assert fault["failover_s"] is not None and fault["failover_s"] > 150  # users kept going there
    assert e.journal["summary"]["succeeded"] == 0
    assert "Latency (ms): p50 -, p95 -, p99 -" in e.report()
    other = run_experiment(scenario()).journal["summary"]["per_fault"][0]  # two regions
    low, high = other["expected_failover_s"]
    assert low <= other["failover_s"] <= high
