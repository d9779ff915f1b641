"""The fault vocabulary: validation and what active faults do, on an explicit clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.faults import KINDS, Fault, RegionFaults, parse_fault, parse_faults
from sandbox.errors import InvalidFault


class Clock:
    """A clock the test moves by hand (emulated seconds)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("doc", "fault"),
    [
        ({"kind": "outage", "duration_s": 30}, Fault("outage", duration_s=30.0)),
        (
            {"kind": "latency", "latency_ms": 300, "jitter_ms": 50},
            Fault("latency", latency_ms=300.0, jitter_ms=50.0),
        ),
        ({"kind": "error_rate", "error_rate": 0.5}, Fault("error_rate", error_rate=0.5)),
        ({"kind": "timeout", "timeout_ms": 1500}, Fault("timeout", timeout_ms=1500.0)),
        ({"kind": "bad_model"}, Fault("bad_model")),
        ({"kind": "deploy_failures", "count": 2}, Fault("deploy_failures", count=2)),
        ({"kind": "crash"}, Fault("crash")),
    ],
)
def test_parse_fault(doc, fault):
    assert parse_fault(doc) == fault
    assert parse_fault(fault.to_dict()) == fault


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("outage", "expected an object with a 'kind'"),
        ({}, "faults\\[0\\].kind: expected one of latency, error_rate"),
        ({"kind": "flood"}, "expected one of"),
        ({"kind": "latency"}, "latency_ms: required for kind 'latency'"),
        ({"kind": "latency", "latency_ms": -1}, "latency_ms: expected a number from 0 to 60000"),
        ({"kind": "latency", "latency_ms": float("nan")}, "latency_ms: expected a number"),
        ({"kind": "latency", "latency_ms": True}, "latency_ms: expected a number"),
        (
            {"kind": "error_rate", "error_rate": 1.5},
            "error_rate: expected a number from 0 to 1, got",
        ),
        ({"kind": "timeout", "timeout_ms": 0}, "timeout_ms: expected a number from 1"),
        ({"kind": "bad_model", "count": 1.5}, "count: expected a whole number from 1 to 1000"),
        ({"kind": "outage", "duration_s": 0}, "duration_s: expected a number"),
        ({"kind": "outage", "latency_ms": 3}, "unknown parameter 'latency_ms' for kind 'outage'"),
    ],
)
def test_bad_faults_name_the_field_and_range(doc, message):
    with pytest.raises(InvalidFault, match=message):
        parse_faults([doc])


def test_parse_faults_needs_a_list():
    with pytest.raises(InvalidFault, match="expected a list of fault objects, got dict"):
        parse_faults({"kind": "outage"})


def test_outage_timeout_latency_and_their_order():
    clock = Clock()
    faults = RegionFaults(clock, seed=1)
    assert faults.effect(predict=True).status is None
    faults.add([Fault("latency", latency_ms=100, jitter_ms=20)])
    delays = [faults.effect(predict=True).delay_s for _ in range(200)]
    assert all(0.08 <= d <= 0.12 for d in delays) and len(set(delays)) > 100
    faults.add([Fault("timeout", timeout_ms=1500)])
    assert (faults.effect(False).delay_s, faults.effect(False).status) == (1.5, 504)
    faults.add([Fault("outage")])
    assert faults.effect(predict=False).status == 503


def test_durations_end_faults_on_their_own():
    clock = Clock()
    faults = RegionFaults(clock)
    faults.replace([Fault("outage", duration_s=30), Fault("latency", latency_ms=5)])
    assert [f["kind"] for f in faults.active()] == ["outage", "latency"]
    assert faults.active()[0]["ends_in_s"] == 30.0
    clock.t = 29.9
    assert faults.is_active("outage")
    clock.t = 30.0
    assert not faults.is_active("outage")
    assert [f["kind"] for f in faults.active()] == ["latency"]
    assert faults.active()[0]["ends_in_s"] is None


def test_add_replaces_same_kind_replace_and_clear():
    faults = RegionFaults(Clock())
    faults.add([Fault("latency", latency_ms=5)])
    faults.add([Fault("latency", latency_ms=50), Fault("outage")])
    assert faults.active()[0]["latency_ms"] == 50
    faults.replace([Fault("bad_model")])
    assert [f["kind"] for f in faults.active()] == ["bad_model"]
    faults.clear()
    assert faults.active() == []


def test_error_rate_is_seeded_and_only_for_predictions():
    def failures(seed):
        faults = RegionFaults(Clock(), seed=seed)
        faults.add([Fault("error_rate", error_rate=0.3)])
        return [faults.effect(predict=True).status for _ in range(1000)]

    assert failures(7) == failures(7) != failures(8)
    assert 200 < failures(7).count(503) < 400
    faults = RegionFaults(Clock())
    faults.add([Fault("error_rate", error_rate=1.0)])
    assert faults.effect(predict=False).status is None


def test_counted_faults_are_used_up():
    faults = RegionFaults(Clock())
    faults.add([Fault("deploy_failures", count=2), Fault("bad_model", count=1)])
    assert [faults.deploy_fails() for _ in range(3)] == [True, True, False]
    assert [faults.deploys_bad_build() for _ in range(2)] == [True, False]
    assert faults.active() == []
    faults.add([Fault("bad_model")])
    assert faults.serves_bad() and not faults.deploys_bad_build()


@given(st.sampled_from(sorted(KINDS)), st.dictionaries(st.text(max_size=12), st.integers()))
def test_random_documents_are_parsed_or_refused_cleanly(kind, extra):
    doc = {"kind": kind, **extra}
    try:
        fault = parse_fault(doc)
    except InvalidFault as e:
        assert str(e).startswith("fault")
    else:
        assert fault.kind == kind


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "latency"}, "latency_ms: required for kind 'latency'"),
        ({"kind": "outage", "latency_ms": 3.0}, "latency_ms: does not apply to kind 'outage'"),
        ({"kind": "error_rate", "error_rate": 2.0}, "error_rate: expected a number from 0 to 1"),
        ({"kind": "outage", "version": "1.1.0"}, "version: only error_rate, latency, timeout"),
        ({"kind": "timeout", "timeout_ms": 5.0, "duration_s": 0.0}, "duration_s: expected"),
        ({"kind": "meteor"}, "kind: expected one of latency"),
    ],
)
def test_a_fault_checks_itself_when_built(settings, message):
    with pytest.raises(InvalidFault, match=message) as refused:
        Fault(**settings)
    assert refused.value.field == message.split(":")[0]
