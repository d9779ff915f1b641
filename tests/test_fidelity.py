"""Fidelity: the simulation against queueing theory, the live fleet against the simulation, and
every bound the sandbox prints beside a measurement against that measurement."""

from __future__ import annotations

import copy
import math
from statistics import fmean

import pytest

from sandbox.core import RegionCatalog
from sandbox.experiment import parse_scenario, run_experiment

CATALOG = RegionCatalog.default()


def scenario(**changes: object) -> dict:
    """A small outage scenario; `changes` replace its top-level tables."""
    document = {
        "name": "fidelity",
        "seed": 7,
        "duration_s": 300,
        "deployment": {"model": "model_v1", "regions": ["us-east-1", "eu-west-1"]},
        "routing": {"policy": "latency", "retries": 1},
        "health": {"interval_s": 10, "timeout_s": 2, "failure_threshold": 3},
        "clients": [{"region": "eu-west-1", "rate_per_s": 5}],
        "faults": [{"region": "eu-west-1", "kind": "outage", "start_s": 60, "duration_s": 120}],
    }
    document.update(copy.deepcopy(changes))
    return document


def run(document: dict) -> dict:
    return run_experiment(parse_scenario(document, "fidelity")).journal


# --- queueing theory ------------------------------------------------------------------------


@pytest.mark.parametrize("utilisation", [0.5, 0.8])
def test_a_regions_mean_wait_is_pollaczek_khinchines(utilisation):
    """One server (capacity 1), Poisson arrivals, log-normal service: an M/G/1 queue, whose mean
    wait is exactly lambda E[S^2] / (2 (1 - rho))."""
    median_ms, sigma = 10.0, 0.5
    mean_s = median_ms / 1000 * math.exp(sigma**2 / 2)
    second_moment = (median_ms / 1000) ** 2 * math.exp(2 * sigma**2)
    rate = utilisation / mean_s
    expected_wait_s = rate * second_moment / (2 * (1 - utilisation))
    duration = 1500
    experiment = run_experiment(
        parse_scenario(
            scenario(
                duration_s=duration,
                deployment={"model": "model_v1", "regions": ["eu-west-1"]},
                routing={"policy": "latency", "retries": 0},
                service={"capacity": 1, "service_ms": median_ms, "service_sigma": sigma},
                clients=[{"region": "eu-west-1", "rate_per_s": rate}],
                faults=[],
            ),
            "fidelity",
        )
    )
    log = experiment.log
    assert experiment.journal["summary"]["failed"] == 0  # no wait near the 2 s attempt timeout
    # Each latency is the round trip, the wait and the service; the mean wait is what is left.
    rtt_s = CATALOG.rtt_ms("eu-west-1", "eu-west-1") / 1000
    measured_wait_s = fmean(log.column("latency_ms")) / 1000 - rtt_s - mean_s
    assert measured_wait_s == pytest.approx(expected_wait_s, rel=0.1)
    # Poisson arrivals: the count within four standard deviations of rate x duration.
    assert abs(len(log) - rate * duration) <= 4 * math.sqrt(rate * duration)


def test_an_overloaded_region_times_out_retries_and_ejects_and_every_arrival_is_counted():
    rate, duration = 15.0, 300
    journal = run(
        scenario(
            duration_s=duration,
            service={"capacity": 1, "service_ms": 100},  # utilisation about 1.7
            clients=[{"region": "eu-west-1", "rate_per_s": rate}],
            faults=[],
        )
    )
    summary = journal["summary"]
    expected = rate * duration
    assert abs(summary["sent"] - expected) <= 4 * math.sqrt(expected)  # every arrival recorded
    assert summary["latency_ms"]["p99"] < 2 * 2000 + 500  # at most two 2 s attempts and travel
    events = [e["event"] for e in journal["events"]]
    assert "health_ejected" in events  # timeouts count against the region
    assert summary["traffic_share"]["us-east-1"] > 0.2  # retries and ejections move users


# --- the probe timing model -----------------------------------------------------------------

KINDS = {
    "outage": {"kind": "outage"},
    "timeout": {"kind": "timeout", "timeout_ms": 5000},
    "short timeout": {"kind": "timeout", "timeout_ms": 800},
    "latency": {"kind": "latency", "latency_ms": 3000},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("interval", "threshold"), [(5, 2), (10, 3), (30, 3), (4, 5)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_detection_falls_within_the_printed_bounds(kind, interval, threshold, seed):
    fault = {"region": "eu-west-1", "start_s": 100, "duration_s": 400} | KINDS[kind]
    journal = run(
        scenario(
            seed=seed,
            duration_s=600,
            health={"interval_s": interval, "failure_threshold": threshold},
            faults=[fault],
        )
    )
    result = journal["summary"]["per_fault"][0]
    low, high = result["expected_detection_s"]
    assert low <= result["detection_s"] <= high, result
    failover = result["expected_failover_s"]
    assert result["failover_s"] is None or failover[0] <= result["failover_s"] <= failover[1]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error_rate", "error_rate": 0.5},
        {"kind": "latency", "latency_ms": 300},  # within the probe timeout
        {"kind": "bad_model"},
    ],
)
def test_faults_probes_cannot_see_expect_no_detection_and_get_none(fault):
    journal = run(scenario(faults=[{"region": "eu-west-1", "start_s": 60} | fault]))
    result = journal["summary"]["per_fault"][0]
    assert result["expected_detection_s"] is None and result["why"]["detection"]
    assert result["detection_s"] is None


def test_traffic_comes_back_within_the_healthy_thresholds_probes():
    journal = run(
        scenario(health={"interval_s": 10, "failure_threshold": 2, "healthy_threshold": 3})
    )
    result = journal["summary"]["per_fault"][0]
    rtt_s = CATALOG.rtt_ms("us-east-1", "eu-west-1") / 1000
    cycle = 10 + rtt_s
    assert 2 * cycle <= result["recovery_s"] <= 3 * cycle + 1e-3
    back = [
        e["t"]
        for e in journal["events"]
        if e["event"] == "routing_change" and e["to"] == "eu-west-1" and e["t"] >= 180
    ]
    assert back and back[0] - 180 <= 3 * cycle + 1e-3  # a passing probe also ends an ejection


def test_the_simulation_and_the_live_fleet_detect_one_outage_alike():
    document = scenario(
        duration_s=150,
        faults=[{"region": "eu-west-1", "kind": "outage", "start_s": 30, "duration_s": 100}],
    )
    sim = run(document)["summary"]["per_fault"][0]
    # a time scale that gives a probe 0.2 s of wall time: a loaded laptop honours that, where
    # at 0.05 (its floor, 0.1 s) a probe timed out before the outage and detection came early
    live = run(document | {"mode": "live", "time_scale": 0.1})["summary"]["per_fault"][0]
    for result in (sim, live):
        low, high = result["expected_detection_s"]
        assert low <= result["detection_s"] <= high, result
    assert abs(sim["detection_s"] - live["detection_s"]) <= 10  # one probe interval
    assert fmean([sim["detection_s"], live["detection_s"]]) == pytest.approx(25, abs=10)
