"""A fault's timing beside the rule: the bounds shown are the journal's (the probe timing model's)
and hold what the run measured, for several health settings; the probe table counts the failed
probes up to the verdict; the figure marks the fault, the bounds and the verdict; outlier
ejection's bounds are the tails of the users' Poisson stream, and hold a run's ejection."""

from __future__ import annotations

import math
import random

import pytest

from sandbox.core import OutlierPolicy, expected_ejection
from sandbox.experiment import (
    detection_figure,
    load_scenario,
    parse_scenario,
    probe_table,
    run_experiment,
    timing,
    timing_table,
    with_value,
    world_scenario,
)
from tests.test_figures import check_layout, legend_texts

PNG = b"\x89PNG\r\n\x1a\n"


def outage(interval_s: float = 10, threshold: int = 3, consecutive_5xx: int = 1000):
    """The bundled outage (eu-west-1, 120-300 s) with these checks, no retry, and users near
    eu-west-1 too few to send 1000 requests while it lasts."""
    scenario = load_scenario("regional_outage")
    document = with_value(scenario.document, "routing.retries", 0)
    document = with_value(document, "clients[0].rate_per_s", 4)
    document = with_value(document, "duration_s", 320)
    document = with_value(document, "health.interval_s", interval_s)
    document = with_value(document, "health.failure_threshold", threshold)
    document = with_value(document, "health.consecutive_5xx", consecutive_5xx)
    return run_experiment(parse_scenario(document, scenario.source))


@pytest.fixture(scope="module")
def probes_only():
    return outage()


@pytest.mark.parametrize(("interval_s", "threshold"), [(5, 4), (10, 3), (30, 2)])
def test_the_bounds_shown_are_the_journals_and_hold_the_measurement(interval_s, threshold):
    experiment = outage(interval_s, threshold)
    t = timing(experiment)
    fault = experiment.journal["summary"]["per_fault"][0]
    assert (t.region, t.kind, t.start_s, t.end_s) == ("eu-west-1", "outage", 120, 300)
    assert (t.interval_s, t.failure_threshold) == (interval_s, threshold)
    assert t.rule_s == interval_s * threshold
    assert list(t.detection_bounds) == fault["expected_detection_s"]
    assert list(t.failover_bounds) == fault["expected_failover_s"]
    assert (t.detection_s, t.failover_s) == (fault["detection_s"], fault["failover_s"])
    low, high = t.detection_bounds
    assert low <= t.detection_s <= high and t.holds()
    assert (threshold - 1) * interval_s <= t.detection_s <= t.rule_s + threshold  # the rule
    assert not [e for e in experiment.events if e["event"] == "health_ejected"]
    assert t.failover_s <= t.detection_s  # no retry, no ejection: users leave at the verdict


def test_outlier_detection_moves_users_before_the_probes_decide(probes_only):
    ejecting = outage(consecutive_5xx=5)
    before, after = timing(probes_only), timing(ejecting)
    assert after.detection_s == before.detection_s  # the same probes
    assert after.failover_s < 1 < before.failover_s
    table = timing_table({"probes only": probes_only, "ejecting": ejecting})
    assert table.column("run") == ["probes only", "ejecting"]
    assert table.column("failover: measured") == [f"{before.failover_s:g}", f"{after.failover_s:g}"]
    low, high = before.detection_bounds
    assert table.column("detection: bounds") == [f"{low:g} to {high:g}"] * 2
    assert table.column("inside the bounds") == ["yes", "yes"]
    assert table.column("interval x threshold") == ["30", "30"]


@pytest.mark.parametrize(("consecutive_5xx", "rate_per_s"), [(1, 2.0), (5, 20.0), (50, 4.0)])
def test_the_ejection_bounds_leave_out_a_thousandth_of_the_poisson_stream_each_side(
    consecutive_5xx, rate_per_s
):
    expected = expected_ejection(OutlierPolicy(consecutive_5xx=consecutive_5xx), rate_per_s)
    assert expected.low < consecutive_5xx / rate_per_s < expected.high
    if consecutive_5xx == 1:  # the first arrival: an exponential wait, its tails in closed form
        assert expected.low == pytest.approx(-math.log(0.999) / rate_per_s, abs=1e-3)
        assert expected.high == pytest.approx(-math.log(0.001) / rate_per_s, abs=1e-3)
    rng = random.Random(consecutive_5xx)  # the k-th arrival: a sum of k exponential gaps
    gaps = range(consecutive_5xx)
    waits = [sum(rng.expovariate(rate_per_s) for _ in gaps) for _ in range(40_000)]
    below = sum(w < expected.low for w in waits) / len(waits)
    above = sum(w > expected.high for w in waits) / len(waits)
    assert below < 0.0025 and above < 0.0025  # 0.001 each, with room for the draw's spread
    assert sum(w > expected.high * 0.8 for w in waits) > 80  # and not much looser


def test_a_run_ejects_within_the_bounds_of_its_users_rate():
    ejecting = outage(consecutive_5xx=5)
    start = ejecting.scenario.faults[0].start_s
    ejected = next(e["t"] for e in ejecting.events if e["event"] == "health_ejected") - start
    expected = expected_ejection(ejecting.scenario.outlier, 4)
    assert expected.low <= timing(ejecting).failover_s <= ejected <= expected.high


def test_a_measurement_outside_its_bounds_is_said(probes_only):
    t = timing(probes_only)
    moved = type(t)(**{**t.__dict__, "detection_s": t.detection_bounds[1] + 1})
    assert not moved.holds()


def test_the_probe_table_counts_the_failed_probes_up_to_the_verdict(probes_only):
    t = timing(probes_only)
    table = probe_table(probes_only)
    what = table.column("what")
    failed = [w for w in what if w.startswith("probe failed")]
    assert failed == [f"probe failed ({n} in a row)" for n in range(1, t.failure_threshold + 1)]
    assert what.count("probe passed") == 2 and what.index("fault starts: outage") == 2
    verdict = what.index("marked unhealthy (probe)")
    assert float(table.column("since the fault (s)")[verdict]) == t.detection_s
    assert what[verdict - 1] == f"probe failed ({t.failure_threshold} in a row)"
    assert "users near eu-west-1 sent to us-east-1 (were: eu-west-1)" in what
    assert "the last request sent to eu-west-1" in what
    times = [float(x) for x in table.column("t (s)")]
    assert times == sorted(times)


def test_a_run_without_a_fault_to_time_is_refused(probes_only):
    calm = run_experiment(world_scenario(["us-east-1"], users=["eu-west-2"], duration_s=5))
    for call in (timing, probe_table, detection_figure):
        with pytest.raises(ValueError, match="has no fault to time"):
            call(calm)
    with pytest.raises(ValueError, match="faults 0 to 0"):
        timing(probes_only, 1)
    with pytest.raises(ValueError, match="at least one run"):
        timing_table({})


def test_the_figure_marks_the_fault_the_bounds_and_the_verdict(probes_only):
    fig = detection_figure(probes_only)
    check_layout(fig)
    texts = legend_texts(fig)
    for said in (
        "probe passed",
        "probe failed",
        "outage in eu-west-1",
        "the rule's bounds on detection",
        "marked unhealthy by the probes",
        "the last request sent to eu-west-1",
        "requests that failed",
    ):
        assert said in texts
    assert fig._repr_png_()[:8] == PNG
    ejected = legend_texts(detection_figure(outage(consecutive_5xx=5)))
    assert "eu-west-1 ejected by outlier detection" in ejected
