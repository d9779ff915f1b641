"""Where users are served: a world scenario is a checked scenario, each user group's share and
latency agree with its requests, the router's choice shows in the run, and the tables and the
figure of several runs side by side show what the runs measured."""

from __future__ import annotations

import pytest

from sandbox.core import RegionCatalog, RoutingPolicy, percentile
from sandbox.errors import InvalidScenario
from sandbox.experiment import (
    latency_figure,
    latency_table,
    round_trips,
    routing_table,
    run_experiment,
    user_groups,
    world_scenario,
)
from sandbox.experiment.columns import rows
from sandbox.experiment.groups import WORLD
from tests.test_figures import check_layout

THREE = ["us-east-1", "eu-west-1", "ap-southeast-1"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs():
    return {
        "one region": run_experiment(world_scenario(["us-east-1"], duration_s=30)),
        "three regions": run_experiment(world_scenario(THREE, duration_s=30)),
    }


def test_a_world_scenario_holds_what_it_was_given():
    weights = {"us-east-1": 60, "eu-west-1": 30, "ap-southeast-1": 10}
    policy = RoutingPolicy("weighted", retries=0, weights=weights)
    scenario = world_scenario(THREE, policy, users=["eu-west-2"], rate_per_s=2, duration_s=9)
    assert scenario.regions == tuple(THREE)
    assert scenario.routing == policy
    assert [(c.region, c.rate_per_s) for c in scenario.clients] == [("eu-west-2", 2)]
    assert (scenario.duration_s, scenario.faults, scenario.mode) == (9, (), "sim")
    order = ("eu-west-1", "us-east-1", "ap-southeast-1")
    assert world_scenario(THREE, RoutingPolicy("failover", order=order)).routing.order == order
    assert world_scenario(THREE).routing == RoutingPolicy()
    assert [c.region for c in world_scenario(THREE).clients] == list(WORLD)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"regions": ["us-east-1", "mars-north-1"]}, "deployment.regions[1]"),
        ({"regions": THREE, "users": ["atlantis"]}, "clients[0].region"),
        ({"regions": THREE, "rate_per_s": -1}, "clients[0].rate_per_s"),
        ({"regions": THREE, "duration_s": 0}, "duration_s"),
        ({"regions": ["us-east-1"], "routing": RoutingPolicy("failover", order=("x",))}, "order"),
    ],
)
def test_a_bad_world_scenario_names_its_setting(given, said):
    with pytest.raises(InvalidScenario) as caught:
        world_scenario(**given)
    assert "world_scenario" in str(caught.value) and said in str(caught.value)


def test_each_group_is_what_its_requests_say(runs):
    experiment = runs["three regions"]
    groups = user_groups(experiment)
    assert list(groups) == list(WORLD)
    requests = list(rows(experiment.log))
    for near, group in groups.items():
        own = [r for r in requests if r[1] == near]
        answered = sorted(r[4] for r in own if r[5] == "ok")
        assert group.sent == len(own) > 0
        assert group.p50_ms == percentile(answered, 50)
        assert group.p95_ms == percentile(answered, 95)
        assert sum(group.routed.values()) == pytest.approx(1.0)
    assert sum(g.sent for g in groups.values()) == experiment.journal["summary"]["sent"]


def test_latency_routing_sends_each_group_to_its_closest_region_and_it_pays_the_trip(runs):
    catalog = RegionCatalog.default()
    for experiment in runs.values():
        fleet = experiment.scenario.regions
        for near, group in user_groups(experiment).items():
            closest = min(fleet, key=lambda region: catalog.rtt_ms(near, region))
            assert group.routed == {closest: 1.0} and group.region == closest
            assert group.p50_ms > catalog.rtt_ms(near, closest)


def test_weighted_routing_shares_each_groups_requests_by_weight():
    weights = {"us-east-1": 60, "eu-west-1": 30, "ap-southeast-1": 10}
    policy = RoutingPolicy("weighted", weights=weights)
    scenario = world_scenario(THREE, policy, users=["ap-northeast-1"], rate_per_s=50)
    group = user_groups(run_experiment(scenario))["ap-northeast-1"]
    for region, weight in weights.items():  # 3000 requests: a share's sd is under 0.01
        assert group.routed[region] == pytest.approx(weight / 100, abs=0.04)
    assert group.region == "us-east-1"


def test_the_tables_put_runs_side_by_side(runs):
    latency = latency_table(runs)
    assert latency.headers == ("users near", "one region", "three regions")
    assert latency.column("users near") == list(WORLD)
    for label, experiment in runs.items():
        groups = user_groups(experiment)
        assert latency.column(label) == [f"{groups[near].p50_ms:.0f}" for near in WORLD]
    routing = routing_table(runs)
    assert set(routing.column("one region")) == {"us-east-1"}
    assert routing.column("three regions")[WORLD.index("eu-west-2")] == "eu-west-1"


def test_a_split_is_shown_with_each_regions_share():
    scenario = world_scenario(THREE, RoutingPolicy("round_robin"), users=["eu-west-2"])
    cell = routing_table({"rr": run_experiment(scenario)}).column("rr")[0]
    assert sorted(part.split()[0] for part in cell.split(", ")) == sorted(THREE)
    assert all(part.endswith("%") for part in cell.split(", "))


def test_tables_refuse_runs_that_cannot_be_compared(runs):
    with pytest.raises(ValueError, match="at least one run"):
        latency_table({})
    other = run_experiment(world_scenario(THREE, users=["eu-west-2"], duration_s=5))
    with pytest.raises(ValueError, match="different user groups"):
        routing_table({**runs, "other": other})


def test_round_trips_are_the_catalogues():
    catalog = RegionCatalog.default()
    table = round_trips("sa-east-1", THREE)
    assert table.column("region") == THREE
    for region, shown, floor, source in table.rows:
        assert shown == f"{catalog.rtt_ms('sa-east-1', region):.0f}"
        assert float(floor) <= float(shown)
        assert source == catalog.rtt_source("sa-east-1", region)
    with pytest.raises(KeyError):
        round_trips("atlantis", THREE)


def test_the_latency_figure_draws_each_groups_median_in_each_run(runs):
    fig = latency_figure(runs)
    check_layout(fig)
    ax = fig.axes[0]
    heights = [[bar.get_height() for bar in container] for container in ax.containers]
    for label, drawn in zip(runs, heights, strict=True):
        groups = user_groups(runs[label])
        assert drawn == [groups[near].p50_ms for near in WORLD]
    assert fig._repr_png_()[:8] == PNG  # a notebook shows it, pyplot or not
