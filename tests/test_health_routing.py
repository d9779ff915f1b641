"""Outlier detection, the health view, and the routing policies."""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.core.health import HealthPolicy, HealthView, OutlierPolicy, Transition
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, RoutingPolicy
from sandbox.errors import InvalidDeployment

from .test_faults import Clock

CATALOG = RegionCatalog.default()
FLEET = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def test_outlier_ejection_grows_and_caps():
    clock = Clock()
    seen: list[Transition] = []
    view = HealthView(["r"], clock, outlier=OutlierPolicy(3, 30.0, 70.0), on_transition=seen.append)
    for round_, expected in enumerate([30.0, 60.0, 70.0]):
        for _ in range(3):
            view.outcome("r", False)
        assert not view.healthy("r")
        assert view.snapshot()["r"]["ejected_for_s"] == expected
        clock.t += expected
        assert view.healthy("r")
        assert seen[-1] == Transition(clock.t, "r", "outlier", "returned"), round_
    assert [t.state for t in seen] == ["ejected", "returned"] * 3


def test_a_success_resets_the_5xx_streak():
    view = HealthView(["r"], Clock())
    for _ in range(10):
        for ok in (False, False, False, False, True):
            view.outcome("r", ok)
    assert view.healthy("r")
    assert view.error_rate("r") == 0.8


def test_probe_transitions_are_recorded_with_their_time():
    clock = Clock()
    view = HealthView(["a", "b"], clock, HealthPolicy(interval_s=10, failure_threshold=2))
    for t in (10, 20, 30):
        clock.t = t
        view.probe("a", False)
        view.probe("b", True)
    assert view.transitions == [Transition(20, "a", "probe", "unhealthy")]
    assert view.healthy_regions() == ["b"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interval_s": 0},
        {"timeout_s": -1},
        {"failure_threshold": 0},
        {"healthy_threshold": 11},
        {"failure_threshold": True},
    ],
)
def test_bad_health_policies(kwargs):
    with pytest.raises(InvalidDeployment, match="health"):
        HealthPolicy(**kwargs)


@pytest.mark.parametrize(
    "settings",
    [
        {"consecutive_5xx": 0},
        {"base_ejection_s": -5},
        {"max_ejection_s": 0},
        {"consecutive_5xx": 2.5},
    ],
)
def test_a_bad_outlier_policy_is_refused_when_built(settings):
    with pytest.raises(InvalidDeployment, match="outlier") as refused:
        OutlierPolicy(**settings)
    assert refused.value.field in settings


@pytest.mark.parametrize("uneject", [True, False])
def test_a_passing_probe_lifts_an_ejection_unless_told_not_to(uneject):
    now = [0.0]
    view = HealthView(["a", "b"], lambda: now[0], outlier=OutlierPolicy(3, 30.0, 300.0, uneject))
    for _ in range(3):
        view.outcome("a", False)
    assert view.healthy_regions() == ["b"]
    now[0] = 5.0
    view.probe("a", False)  # a failing probe changes nothing
    assert view.healthy_regions() == ["b"]
    now[0] = 10.0
    view.probe("a", True)
    assert view.healthy_regions() == (["a", "b"] if uneject else ["b"])
    returned = [t for t in view.transitions if t.state == "returned"]
    assert [(t.t, t.source) for t in returned] == ([(10.0, "probe")] if uneject else [])
    now[0] = 31.0  # the ejection's own end
    assert view.healthy_regions() == ["a", "b"]


@pytest.mark.parametrize(
    ("interval", "timeout"), [(30.0, 2.0), (4.0, 2.0), (3.0, 1.5), (0.5, 0.25), (0.01, 0.005)]
)
def test_a_timeout_not_given_fits_the_interval(interval, timeout):
    policy = HealthPolicy(interval_s=interval)
    assert policy.timeout_s == timeout and policy.timeout_s < policy.interval_s


def test_a_probe_must_end_before_the_next_starts():
    with pytest.raises(InvalidDeployment, match="not shorter than the probe interval") as refused:
        HealthPolicy(interval_s=2, timeout_s=2)
    assert refused.value.field == "timeout_s"


def plan(policy, client, healthy=FLEET, error_rate=lambda r: 0.0, seed=0):
    return Router(policy, FLEET, CATALOG, seed).plan(client, healthy, error_rate)


def test_latency_policy_picks_the_closest_healthy_region():
    assert plan(RoutingPolicy(retries=2), "eu-west-2") == (
        ("eu-west-1", "us-east-1", "ap-northeast-1"),
        False,
    )
    assert plan(RoutingPolicy(), "eu-west-2", healthy=["us-east-1", "ap-northeast-1"])[0] == (
        "us-east-1",
        "ap-northeast-1",
    )


def test_no_healthy_region_fails_open():
    assert plan(RoutingPolicy(retries=0), "eu-west-2", healthy=[]) == (("eu-west-1",), True)


def test_healthiest_prefers_low_error_rates_then_latency():
    rates = {"us-east-1": 0.0, "eu-west-1": 0.4, "ap-northeast-1": 0.0}
    order, _ = plan(RoutingPolicy("healthiest", retries=2), "eu-west-2", error_rate=rates.get)
    assert order == ("us-east-1", "ap-northeast-1", "eu-west-1")


def test_failover_follows_the_order():
    policy = RoutingPolicy("failover", order=("ap-northeast-1", "us-east-1"))
    assert plan(policy, "eu-west-2")[0] == ("ap-northeast-1", "us-east-1")
    assert plan(policy, "eu-west-2", healthy=["us-east-1", "eu-west-1"])[0] == (
        "us-east-1",
        "eu-west-1",
    )


def test_weighted_shares_follow_the_weights_and_the_seed():
    policy = RoutingPolicy("weighted", weights={"us-east-1": 80, "eu-west-1": 20})
    router = Router(policy, FLEET, CATALOG, seed=3)
    firsts = Counter(router.plan("sa-east-1", FLEET)[0][0] for _ in range(2000))
    assert set(firsts) == {"us-east-1", "eu-west-1"}
    assert 0.75 < firsts["us-east-1"] / 2000 < 0.85

    def firsts_of(seed):
        router = Router(policy, FLEET, CATALOG, seed=seed)
        return [router.plan("sa-east-1", FLEET)[0][0] for _ in range(50)]

    assert firsts_of(3) == firsts_of(3) != firsts_of(4)


def test_round_robin_rotates_over_healthy_regions():
    router = Router(RoutingPolicy("round_robin", retries=0), FLEET, CATALOG)
    assert [router.plan("eu-west-2", FLEET)[0][0] for _ in range(4)] == [*FLEET, FLEET[0]]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "nearest"}, "routing policy: expected one of latency"),
        ({"retries": 11}, "retries: expected a whole number from 0 to 10, got 11"),
        ({"retries": 1.5}, "retries: expected a whole number"),
        ({"name": "failover", "order": ("us-east-1", "us-east-1")}, "more than once"),
        ({"name": "failover"}, "failover needs an order"),
        ({"order": ("us-east-1",)}, "order: applies to policy failover only"),
        ({"name": "weighted", "weights": {"us-east-1": 300}}, "from 0 to 255, got 300"),
        ({"name": "weighted", "weights": {"us-east-1": 0}}, "at least one above 0"),
        ({"weights": {"us-east-1": 1}}, "weights: applies to policy weighted only"),
        ({"dns_ttl_s": -1}, "dns_ttl_s: expected a number from 0 to 86400"),
        ({"dns_ttl_s": float("nan")}, "dns_ttl_s"),
    ],
)
def test_a_bad_routing_policy_is_refused_when_built(settings, message):
    with pytest.raises(InvalidDeployment, match=message) as refused:
        RoutingPolicy(**settings)
    assert refused.value.field in ("policy", "order", "weights", *settings)


def test_a_routing_policy_must_fit_the_fleet():
    with pytest.raises(InvalidDeployment, match="'sa-east-1' is not one of"):
        RoutingPolicy("failover", order=("sa-east-1",)).check(FLEET)


def test_with_a_dns_ttl_users_move_when_their_cached_answer_ends():
    """The journal's routing change comes from the resolver renewing its answer, not from the
    health transition: the last request to the broken region is just before it."""
    from sandbox.experiment import load_scenario, run_experiment

    experiment = run_experiment(load_scenario("outage_dns_ttl_60"))
    moves = [e for e in experiment.events if e["event"] == "routing_change"]
    assert [(m["client"], m["from"], m["to"]) for m in moves] == [
        ("eu-west-1", "eu-west-1", "us-east-1"),
        ("eu-west-1", "us-east-1", "eu-west-1"),
    ]
    fault = experiment.journal["summary"]["per_fault"][0]
    start = experiment.scenario.faults[0].start_s
    log, eu = experiment.log, experiment.log.regions.index("eu-west-1")
    rows = zip(log.column("t"), log.column("first"), strict=True)
    sent_there = [t for t, first in rows if first == eu and start <= t]
    last = max(t for t in sent_there if t < moves[0]["t"])
    assert last == pytest.approx(start + fault["failover_s"], abs=1e-3)
    assert not [t for t in sent_there if moves[0]["t"] <= t < moves[1]["t"]]
