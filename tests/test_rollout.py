"""Rollouts on the simulated fleet: plans, waves, canary shares, bakes and rollbacks."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import Deployment, run_deployment
from sandbox.core.faults import Failure, parse_failure
from sandbox.core.models import load_model
from sandbox.core.records import AttemptLog, RequestLog
from sandbox.core.workload import Clients
from sandbox.errors import InvalidDeployment
from sandbox.flow.plan import (
    DEFAULT_BAKE_S,
    DEFAULT_CANARY_PERCENT,
    RolloutPlan,
    SteadyState,
    parse_waves,
)
from sandbox.flow.rollout import Rollout

OLD, NEW = load_model("model_v1"), load_model("model_v1_1")
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"]


def serving(regions, *, seed=0, rate=20.0):
    """A completed deployment of 1.0.0 with users near every region, sending until stopped."""
    d = run_deployment(regions, OLD, seed=seed)
    assert d.outcome == "complete"
    log = RequestLog(regions, regions)
    d.start_users([Clients(r, rate) for r in regions], versions=[NEW], log=log)
    return d, d.backend.attempt_log(), log


def roll(d, attempts, plan, failures=(), **kwargs):
    return Rollout(d, NEW, plan, attempts, failures=failures, **kwargs).run()


def versions(d):
    fleet = d.backend
    return {r: fleet.models[r].version for r in d.regions}


# --- plans -----------------------------------------------------------------------------------


def test_parse_waves_splits_on_semicolons_and_commas():
    assert parse_waves("us-east-1, eu-west-1;ap-northeast-1") == (
        ("us-east-1", "eu-west-1"),
        ("ap-northeast-1",),
    )
    for bad in ("a;;b", "a,,b", ";a", "a;", ""):
        with pytest.raises(InvalidDeployment, match="empty region name"):
            parse_waves(bad)


def test_default_layouts_and_settings():
    three = REGIONS[:3]
    assert RolloutPlan().layout(three) == [[r] for r in three]
    assert RolloutPlan("canary").layout(three) == [[r] for r in three]
    assert RolloutPlan("waves").layout(three) == [three[:1], three[1:]]
    assert RolloutPlan("waves").layout(three[:1]) == [three[:1]]
    assert (RolloutPlan().bake, RolloutPlan().percent) == (0.0, 100.0)
    assert RolloutPlan("waves").bake == DEFAULT_BAKE_S
    assert RolloutPlan("canary").percent == DEFAULT_CANARY_PERCENT
    assert RolloutPlan("canary", canary_percent=25, bake_s=0).percent == 25


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"strategy": "blue-green"}, "strategy: expected one of sequential, waves, canary"),
        ({"waves": (("us-east-1",),)}, "waves: applies to strategy waves or canary"),
        ({"strategy": "waves", "canary_percent": 10}, "canary_percent: applies to strategy canary"),
        ({"bake_s": 10}, "bake_s: applies to strategy waves or canary"),
        ({"strategy": "canary", "canary_percent": 100}, "above 0 and below 100, got 100"),
        ({"strategy": "canary", "canary_percent": 0}, "above 0 and below 100, got 0"),
        ({"strategy": "canary", "canary_percent": True}, "above 0 and below 100"),
        ({"strategy": "waves", "bake_s": -1}, "bake_s: expected a number from 0 to 86400"),
        ({"strategy": "waves", "waves": ()}, "waves: expected waves of region names"),
        ({"strategy": "waves", "waves": [["us-east-1"], []]}, "waves: expected waves of region"),
        ({"strategy": "waves", "waves": 5}, "waves: expected waves of region names"),
        ({"strategy": "waves", "waves": "a;;b"}, "waves: 'a;;b': wave 2 has an empty region"),
    ],
)
def test_a_plan_refuses_settings_that_do_not_fit_when_built(settings, message):
    with pytest.raises(InvalidDeployment, match=message) as refused:
        RolloutPlan(**settings)
    assert refused.value.field in settings


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (RolloutPlan("waves", waves=(("us-east-1", "mars-1"),)), "'mars-1' is not one of"),
        (RolloutPlan("waves", waves=(("us-east-1",), ("us-east-1",))), "us-east-1 more than once"),
        (RolloutPlan("waves", waves=(("us-east-1",),)), "eu-west-1 in no wave: put every region"),
    ],
)
def test_a_plan_refuses_waves_that_do_not_fit_the_regions(plan, message):
    with pytest.raises(InvalidDeployment, match=message):
        plan.check(["us-east-1", "eu-west-1"])


def test_a_rollout_needs_a_completed_deployment_of_another_version_of_the_model():
    d, attempts, _ = serving(REGIONS[:2])
    with pytest.raises(InvalidDeployment, match="not a version of 'model_v1'"):
        Rollout(d, load_model("model_v2"), RolloutPlan(), attempts)
    with pytest.raises(InvalidDeployment, match="which the regions already serve"):
        Rollout(d, OLD, RolloutPlan(), attempts)
    with pytest.raises(InvalidDeployment, match="'mars-1': not one of the regions"):
        Rollout(d, NEW, RolloutPlan(), attempts, failures=[Failure("mars-1", "bake")])
    stopped = run_deployment(REGIONS[:2], OLD, failures=["eu-west-1:deploy"], on_failure="stop")
    with pytest.raises(InvalidDeployment, match="this one ended stopped"):
        Rollout(stopped, NEW, RolloutPlan(), attempts)
    done = roll(d, attempts, RolloutPlan())
    with pytest.raises(InvalidDeployment, match="has run"):
        done.run()


def test_the_lesson_flow_refuses_a_bake_failure():
    with pytest.raises(InvalidDeployment, match="a bake belongs to a rollout"):
        Deployment(REGIONS[:2], OLD, failures=["eu-west-1:bake"])


# --- strategies ------------------------------------------------------------------------------


def test_sequential_rollout_deploys_and_verifies_region_after_region_without_a_bake():
    d, attempts, _ = serving(REGIONS[:2])
    rollout = roll(d, attempts, RolloutPlan())
    actions = [s.action for s in rollout.trace.steps]
    one_region = ["Start wave", "Deploy model", "Verify deployment", "Shift traffic"]
    assert actions == one_region * 2 + ["End"]
    assert rollout.outcome == "complete"
    assert versions(d) == dict.fromkeys(d.regions, NEW.version)
    final = rollout.trace.snapshots[-1]
    assert final["serving_version"] == dict.fromkeys(d.regions, "1.1.0")
    assert final["deployment_status"] == dict.fromkeys(d.regions, "success")
    assert final["routing_configured"] is True and final["monitoring_active"] is True


def test_canary_steps_show_the_share_the_bake_and_the_promotion():
    d, attempts, _ = serving(REGIONS[:2])
    plan = RolloutPlan("canary", canary_percent=25, bake_s=30)
    rollout = roll(d, attempts, plan)
    steps = rollout.trace.steps
    assert [s.action for s in steps[:6]] == [
        *("Start wave", "Deploy model", "Verify deployment"),
        *("Shift traffic", "Bake", "Shift traffic"),
    ]
    assert steps[3].result == "25% to 1.1.0"
    assert steps[4].result.startswith("Steady state held: ")
    assert steps[5].result == "100% to 1.1.0"
    shares = rollout.trace.snapshots[4]["serving_version"]  # after the first shift
    assert shares["us-east-1"] == "1.0.0 75% / 1.1.0 25%"
    assert shares["eu-west-1"] == "1.0.0"
    assert steps[5].t - steps[4].t < 1  # promoted right after the bake
    assert steps[4].t - steps[3].t >= 30
    tracker = rollout.trace.status_tracker()
    assert tracker.headers == ("Variable", "Start", "After Step 6", "After Step 12", "Final")
    assert tracker.column("Variable")[-1] == "serving_version"


def test_a_bake_that_sees_no_traffic_is_inconclusive_and_goes_on():
    d = run_deployment(REGIONS[:2], OLD)
    rollout = roll(d, AttemptLog(), RolloutPlan("waves", bake_s=10))
    bakes = [s for s in rollout.trace.steps if s.action == "Bake"]
    assert [b.result for b in bakes] == ["Inconclusive: 1.1.0 served no prediction in 10 s"] * 2
    assert rollout.outcome == "complete"
    assert [b["held"] for b in rollout.bakes] == [None, None]


def test_a_bake_checks_the_latency_bound_too():
    d, attempts, _ = serving(REGIONS[:2])
    slow = SteadyState(max_p99_ms=0.5)  # a bound no prediction meets
    rollout = roll(d, attempts, RolloutPlan("waves", bake_s=20), hypothesis=slow)
    assert rollout.outcome == "rolled_back"
    bake = next(s for s in rollout.trace.steps if s.action == "Bake")
    assert "p99_ms" in bake.result and bake.result.startswith("Deviated: ")


# --- rollbacks: a property over wave layouts and failure points ---------------------------------


@st.composite
def rollouts(draw):
    regions = draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=4, unique=True))
    strategy = draw(st.sampled_from(["sequential", "waves", "canary"]))
    waves: tuple[tuple[str, ...], ...] | None = None
    if strategy != "sequential" and draw(st.booleans()):
        order = draw(st.permutations(regions))
        cuts = sorted(draw(st.sets(st.integers(1, len(regions) - 1))) if len(regions) > 1 else [])
        bounds = [0, *cuts, len(regions)]
        waves = tuple(tuple(order[a:b]) for a, b in pairwise(bounds))
    bake = None if strategy == "sequential" else draw(st.sampled_from([0.0, 15.0]))
    failure = draw(
        st.none()
        | st.tuples(st.sampled_from(regions), st.sampled_from(["deploy", "verify", "bake"]))
    )
    seed = draw(st.integers(0, 50))
    return regions, RolloutPlan(strategy, waves, None, bake), failure, seed


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(rollouts())
def test_a_rollback_restores_the_previous_version_everywhere_it_touched(case):
    regions, plan, failure, seed = case
    d, attempts, _ = serving(regions, seed=seed)
    failures = [parse_failure(":".join(failure))] if failure else []
    if failure is not None and failure[1] == "bake" and not plan.bake:
        with pytest.raises(InvalidDeployment, match="no bake to catch it"):
            roll(d, attempts, plan, failures)
        return
    rollout = roll(d, attempts, plan, failures)
    fleet, steps = d.backend, rollout.trace.steps
    reached = [s.region for s in steps if s.result == "Deployment success"]
    touched = list(dict.fromkeys(reached))
    rolled = [s.region for s in steps if s.action == "Roll back deployment"]
    assert rollout.outcome == ("complete" if failure is None else "rolled_back")
    if rollout.outcome == "complete":
        assert versions(d) == dict.fromkeys(regions, NEW.version)
        assert rolled == []
        return
    assert rolled == touched[::-1]  # every touched region, newest first, once
    assert versions(d) == dict.fromkeys(regions, OLD.version)
    for region in regions:
        assert set(fleet.kept[region]) == {OLD.version}
        assert fleet.split.weights(region) == {OLD.version: 100.0}
    final = rollout.trace.snapshots[-1]
    assert final["serving_version"] == dict.fromkeys(regions, OLD.version)
    assert {r for r, s in final["deployment_status"].items() if s == "rolled_back"} == set(touched)
    first_wave_of_failure = next(i for i, w in enumerate(rollout.waves) if failure[0] in w)
    later = {r for w in rollout.waves[first_wave_of_failure + 1 :] for r in w}
    assert not later & set(touched)  # no wave after the failing one was started
    fleet.advance(30)  # users after the rollback get 1.0.0 only
    since = fleet.now() - 30
    assert attempts.served(since, fleet.now(), regions, NEW.version).requests == 0


# --- canary share ----------------------------------------------------------------------------

SHARE_TOLERANCE = 0.02  # the canary's share, in absolute terms (binomial sd here: about 0.004)


@pytest.mark.parametrize("percent", [5.0, 20.0, 50.0])
def test_the_canary_takes_its_share_of_the_region_s_predictions(percent):
    region = ["eu-west-1"]
    d, attempts, _ = serving(region, rate=40.0, seed=3)
    plan = RolloutPlan("canary", canary_percent=percent, bake_s=300)
    rollout = roll(d, attempts, plan)
    bake = rollout.bakes[0]
    since, until = bake["since_s"], bake["since_s"] + bake["bake_s"]
    new = attempts.served(since, until, region, NEW.version).requests
    old = attempts.served(since, until, region, OLD.version).requests
    assert new + old > 10_000
    assert abs(new / (new + old) - percent / 100) <= SHARE_TOLERANCE


def test_the_attempt_log_keeps_its_latest_attempts_only():
    attempts = AttemptLog(keep=10)
    for t in range(25):
        attempts.add(float(t), "eu-west-1", "1.1.0", t % 2 == 0, 5.0)
    assert 5 <= len(attempts) <= 10
    served = attempts.served(0, 100, ["eu-west-1"], "1.1.0")
    assert served.requests == len(attempts) and attempts.t[-1] == 24.0
    assert attempts.served(0, 100, ["us-east-1"], "1.1.0").requests == 0
    assert attempts.served(0, 100, ["eu-west-1"], "9.9.9") == attempts.served(0, 0, [], "9.9.9")
