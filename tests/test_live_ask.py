"""`sandbox.live.ask`: a user's prediction through a real fleet's gateway, and what the user saw:
the region that answered, the regions tried, the status, the latency model's round trip and the
request's emulated time; bad input named, and a closed fleet answers nothing."""

from __future__ import annotations

import pytest

from sandbox import Fault, HealthPolicy, run_deployment
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidDeployment, UnknownRegion
from sandbox.live import LiveFleet, Reply, ask

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
SCALE = 0.05
SLOW = HealthPolicy(interval_s=600)  # no probe verdict within a test: the gateway alone decides


@pytest.fixture(scope="module")
def fleet():
    with LiveFleet(REGIONS, time_scale=SCALE, seed=3) as f:
        run_deployment(REGIONS, "model_v1", backend=f, health=SLOW)
        yield f


def test_a_user_is_answered_by_the_closest_region_after_its_round_trip(fleet):
    catalog = RegionCatalog.default()
    for near in ("eu-west-2", "ap-south-1", "ap-southeast-1", "us-east-2"):
        closest = min(REGIONS, key=lambda r: catalog.rtt_ms(near, r))
        before = fleet.now()
        reply = ask(fleet, near)
        assert isinstance(reply, Reply)
        assert (reply.near, reply.status, reply.served_by) == (near, 200, closest)
        assert reply.tried == (closest,)
        assert reply.rtt_ms == pytest.approx(catalog.rtt_ms(near, closest))
        assert reply.t >= before and reply.ms >= reply.rtt_ms  # the gateway waits the round trip


def test_a_region_down_is_tried_then_the_next_one_answers(fleet):
    fleet.inject("ap-northeast-1", [Fault("outage", duration_s=600)])
    try:
        reply = ask(fleet, "ap-southeast-1")  # Singapore: Tokyo first, then the next closest
    finally:
        fleet.admin("DELETE", "ap-northeast-1")
    catalog = RegionCatalog.default()
    others = [r for r in REGIONS if r != "ap-northeast-1"]
    second = min(others, key=lambda r: catalog.rtt_ms("ap-southeast-1", r))
    assert reply.status == 200 and reply.tried == ("ap-northeast-1", second)
    assert reply.served_by == second


def test_when_every_region_tried_fails_the_user_sees_the_failure(fleet):
    for region in REGIONS:
        fleet.inject(region, [Fault("outage", duration_s=600)])
    try:
        reply = ask(fleet, "eu-west-2")
    finally:
        for region in REGIONS:
            fleet.admin("DELETE", region)
    assert reply.status == 503 and reply.served_by == "" and reply.rtt_ms is None
    assert len(reply.tried) == 2 and reply.tried[0] == "eu-west-1"  # one retry, by default


def test_a_user_of_no_region_is_refused_with_the_names_to_use(fleet):
    with pytest.raises(UnknownRegion) as refused:
        ask(fleet, "eu-west-9")
    assert "eu-west-9" in str(refused.value)


def test_asking_needs_a_started_fleet_with_a_model():
    idle = LiveFleet(REGIONS, time_scale=SCALE)
    with pytest.raises(InvalidDeployment, match="run_deployment"):
        ask(idle, "eu-west-2")
    with (
        LiveFleet(REGIONS, time_scale=SCALE) as started,
        pytest.raises(InvalidDeployment, match="model deployed"),
    ):
        ask(started, "eu-west-2")


def test_a_closed_fleet_answers_nothing():
    with LiveFleet(REGIONS[:1], time_scale=SCALE) as closed:
        run_deployment(REGIONS[:1], "model_v1", backend=closed, health=SLOW)
        assert ask(closed, "eu-west-2").status == 200
    reply = ask(closed, "eu-west-2")
    assert (reply.status, reply.served_by, reply.tried, reply.rtt_ms) == (0, "", (), None)
