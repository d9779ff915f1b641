"""The health-check state machine and the teaching faults."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.faults import BAKE_ERROR_RATE, EVERY, Failure, Fault, parse_failure
from sandbox.core.health import HealthPolicy, HealthState
from sandbox.errors import InvalidFault


def test_health_flips_after_threshold_in_a_row():
    state = HealthState(HealthPolicy(failure_threshold=3, healthy_threshold=2))
    assert [state.observe(False) for _ in range(3)] == [False, False, True]
    assert not state.healthy
    assert [state.observe(True), state.observe(False), state.observe(True)] == [False, False, False]
    assert state.observe(True) is True and state.healthy


@given(st.lists(st.booleans(), max_size=60), st.integers(1, 5), st.integers(1, 5))
def test_health_changes_only_after_a_full_streak(probes, down, up):
    state = HealthState(HealthPolicy(failure_threshold=down, healthy_threshold=up))
    streak = 0
    for i, ok in enumerate(probes):
        before = state.healthy
        flipped = state.observe(ok)
        assert flipped == (state.healthy != before)
        streak = streak + 1 if i and probes[i - 1] == ok else 1
        if flipped:
            assert state.healthy == ok
            assert streak >= (down if before else up)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eu-west-1:deploy", Failure("eu-west-1", "deploy", None)),
        ("eu-west-1:deploy:2", Failure("eu-west-1", "deploy", 2)),
        ("us-east1:verify", Failure("us-east1", "verify", None)),
        ("us-east1:verify:1", Failure("us-east1", "verify", 1)),
    ],
)
def test_parse_failure(text, expected):
    assert parse_failure(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "eu-west-1", ":deploy", "eu-west-1:boot", "a:deploy:0", "a:deploy:x", "a:deploy:1:2"],
)
def test_parse_failure_rejects_bad_specs(text):
    with pytest.raises(InvalidFault, match=repr(text).strip("'") or "expected"):
        parse_failure(text)


def test_failure_is_a_fault_of_the_shared_vocabulary():
    assert Failure("r", "deploy", 2).as_fault() == Fault("deploy_failures", count=2)
    assert Failure("r", "verify").as_fault() == Fault("bad_model", count=EVERY)
    assert Failure("r", "verify", 1).as_fault() == Fault("bad_model", count=1)
    bake = Failure("r", "bake").as_fault("1.1.0")
    assert bake == Fault("error_rate", error_rate=BAKE_ERROR_RATE, version="1.1.0")
    with pytest.raises(InvalidFault, match="stage"):
        Failure("r", "boot")
    with pytest.raises(InvalidFault, match="no COUNT"):
        parse_failure("r:bake:2")
    with pytest.raises(InvalidFault, match="count"):
        Failure("r", "deploy", 0)
