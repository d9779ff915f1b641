"""The dashboard's map data, fault events, routing switches, rollout refusals, user rates and
error rates, over real HTTP on live fleets (issue #19): what the page offers is what the fleet
can do, every fault shows whatever route injected it, a policy switch keeps every other setting,
and a healthy region never shows the errors of requests no region was to blame for."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests

from sandbox.core.models import load_model
from sandbox.core.routing import MAX_DNS_TTL_S, RoutingPolicy
from sandbox.errors import InvalidDeployment
from sandbox.flow.plan import check_versions
from tests.test_dashboard_api import call, regions_by_name, served, state

DEADLINE_S = 20.0  # wall seconds anything asked of a live fleet may take on a busy machine


@pytest.fixture
def fleet():
    with served(seed=4) as fleet:
        yield fleet


def waited(fleet, ready, what: str) -> dict:
    """The dashboard's state once `ready(state)` holds, polled within `DEADLINE_S`."""
    deadline = time.monotonic() + DEADLINE_S
    while not ready(shown := state(fleet)):
        assert time.monotonic() < deadline, f"{what} within {DEADLINE_S} s: {shown}"
        time.sleep(0.1)
    return shown


def texts(shown: dict, kind: str) -> list[str]:
    return [event["text"] for event in shown["events"] if event["kind"] == kind]


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
    except requests.ConnectionError:
        return False
    return True


def routing(fleet) -> dict:
    return call(fleet, "GET", "/routing", token=None).json()


# -- the map ------------------------------------------------------------------------------------


def inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    """Even-odd rule: whether `point` (lon, lat) lies inside `ring`."""
    x, y, found = *point, False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            found = not found
    return found


def test_the_map_is_natural_earth_land_served_small_by_the_gateway(fleet):
    answer = call(fleet, "GET", "/dashboard/map/land.json", token=None)
    assert answer.status_code == 200 and "json" in answer.headers["Content-Type"]
    assert len(answer.content) < 200_000
    land = answer.json()
    assert "Natural Earth" in land["features"][0]["properties"]["source"]
    polygons = [p for f in land["features"] for p in f["geometry"]["coordinates"]]
    assert len(polygons) > 100

    def on_land(lon: float, lat: float) -> bool:
        return any(inside((lon, lat), p[0]) and not any(inside((lon, lat), h) for h in p[1:])
                   for p in polygons)  # fmt: skip

    for place in [(138.5, 36.5), (78, 22), (10, 22), (-55, -10), (100, 60), (175, 66)]:
        assert on_land(*place), place  # Honshu, India, Sahara, Amazon, Siberia, Chukotka
    for place in [(-140, 0), (-30, 30), (80, -20), (51, 42)]:
        assert not on_land(*place), place  # Pacific, Atlantic, Indian Ocean, Caspian Sea
    for polygon in polygons:  # a flat map: nothing beyond the antimeridian, no edge across it
        for ring in polygon:
            assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)
            for (lon1, lat1), (lon2, lat2) in itertools.pairwise(ring):
                assert abs(lon1 - lon2) <= 180 or lat1 == lat2 == -90


# -- faults -------------------------------------------------------------------------------------


def test_a_fleet_of_threads_offers_no_crash_and_refuses_one_clearly(fleet):
    shown = state(fleet)
    assert "crash" not in shown["faults"]
    assert {"outage", "latency", "error_rate", "timeout", "bad_model"} <= set(shown["faults"])
    body = {"region": "eu-west-1", "fault": {"kind": "crash"}}
    answer = call(fleet, "POST", "/dashboard/api/faults", body)
    assert answer.status_code == 400 and "--processes" in answer.json()["error"]
    assert texts(state(fleet), "fault") == []


def test_a_fleet_of_processes_offers_a_crash_and_shows_every_fault():
    with served(processes=True) as fleet:
        assert "crash" in state(fleet)["faults"]
        admin = f"{fleet.urls['us-east-1']}/admin/faults"
        token = {"Authorization": f"Bearer {fleet.admin_token}"}
        patched = requests.patch(admin, json=[{"kind": "outage"}], headers=token, timeout=10)
        assert patched.ok
        body = {"region": "eu-west-1", "fault": {"kind": "crash", "duration_s": 600}}
        assert call(fleet, "POST", "/dashboard/api/faults", body).ok
        shown = waited(fleet, lambda s: len(texts(s, "fault")) == 2, "both faults as events")
        assert sorted(texts(shown, "fault")) == [  # each region's pipe: in any order
            "crash injected in eu-west-1 for 600 s",
            "outage injected in us-east-1",
        ]
        deadline = time.monotonic() + DEADLINE_S
        while answers(f"{fleet.urls['eu-west-1']}/healthz"):  # the kill comes just after
            assert time.monotonic() < deadline, "eu-west-1 killed"
            time.sleep(0.05)
        cleared = call(fleet, "DELETE", "/dashboard/api/faults", {"region": "eu-west-1"})
        assert cleared.status_code == 503, cleared.text
        assert "comes back when its crash's duration_s ends" in cleared.json()["error"]


def test_faults_injected_through_a_region_itself_are_events(fleet):
    admin = f"{fleet.urls['eu-west-1']}/admin/faults"
    token = {"Authorization": f"Bearer {fleet.admin_token}"}
    latency = [{"kind": "latency", "latency_ms": 50, "duration_s": 30}]
    assert requests.patch(admin, json=latency, headers=token, timeout=10).ok
    scoped = [{"kind": "error_rate", "error_rate": 0.1, "version": "1.0.0"}]
    assert requests.put(admin, json=scoped, headers=token, timeout=10).ok
    assert requests.delete(admin, headers=token, timeout=10).ok
    refused = requests.patch(admin, json=[{"kind": "meteor"}], headers=token, timeout=10)
    assert refused.status_code == 400
    assert requests.patch(admin, json=latency, timeout=10).status_code == 401
    from sandbox.core.faults import Fault

    fleet.inject("us-east-1", [Fault("timeout", timeout_ms=100)])
    assert texts(state(fleet), "fault") == [
        "latency injected in eu-west-1 for 30 s",
        "faults of eu-west-1 replaced by error_rate of version 1.0.0",
        "faults cleared in eu-west-1",
        "timeout injected in us-east-1",
    ]


# -- routing ------------------------------------------------------------------------------------


def test_weights_are_edited_and_kept_across_policy_switches(fleet):
    weights = {"us-east-1": 80, "eu-west-1": 20}
    answer = call(fleet, "PUT", "/dashboard/api/policy", {"policy": "weighted", "weights": weights})
    assert answer.status_code == 200, answer.text
    assert answer.json()["weights"] == weights
    assert routing(fleet)["weights"] == weights
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "latency"}).ok
    assert routing(fleet)["weights"] == {}
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "weighted"}).ok
    assert routing(fleet)["weights"] == weights and state(fleet)["routing"]["weights"] == weights
    order = ["eu-west-1", "us-east-1"]
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "failover", "order": order}).ok
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "round_robin"}).ok
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "failover"}).ok
    assert routing(fleet)["order"] == order
    assert texts(state(fleet), "routing")[:2] == [
        "routing policy: weighted (weights us-east-1 80, eu-west-1 20)",
        "routing policy: latency",
    ]


def test_a_policy_switch_keeps_every_other_setting_serve_gave():
    weights = {"us-east-1": 3, "eu-west-1": 1}
    with served(RoutingPolicy("weighted", retries=2, weights=weights, dns_ttl_s=30)) as fleet:
        for name in ("failover", "latency", "weighted"):
            assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": name}).ok
            now = routing(fleet)
            assert (now["policy"], now["retries"], now["dns_ttl_s"]) == (name, 2, 30)
            if name == "failover":  # serve gave no order: the regions as listed
                assert now["order"] == ["us-east-1", "eu-west-1"]
        assert now["weights"] == weights


def test_users_keep_their_cached_dns_answer_after_a_switch():
    """Resolvers keep an answer for its TTL, whatever the routing does meanwhile (the seeded
    first answer near eu-west-2 has over 1,000 wall seconds left at this time scale)."""
    with served(RoutingPolicy("latency", dns_ttl_s=MAX_DNS_TTL_S)) as fleet:
        assert routing(fleet)["choices"]["eu-west-2"]["region"] == "eu-west-1"
        body = {"policy": "failover", "order": ["us-east-1", "eu-west-1"]}
        assert call(fleet, "PUT", "/dashboard/api/policy", body).ok
        after = routing(fleet)
        assert after["policy"] == "failover" and after["dns_ttl_s"] == MAX_DNS_TTL_S
        assert after["choices"]["eu-west-2"]["region"] == "eu-west-1"  # still cached


# -- rollouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["model_v1", "model_v2"])
def test_a_rollout_is_refused_as_the_command_line_refuses_it(fleet, name):
    answer = call(fleet, "POST", "/dashboard/api/rollout", {"model": name})
    with pytest.raises(InvalidDeployment) as cli:  # what `deploy --previous` checks, one copy
        check_versions(load_model("model_v1"), load_model(name), f"model {name}")
    assert answer.status_code == 400 and answer.json()["error"] == str(cli.value)
    assert all(r["version"] == "1.0.0" for r in state(fleet)["regions"])
    assert texts(state(fleet), "rollout") == []


@pytest.mark.parametrize(("body", "given"), [({}, "nothing"), ({"model": 7}, "7")])
def test_a_rollout_without_a_model_name_lists_the_bundled_ones(fleet, body, given):
    answer = call(fleet, "POST", "/dashboard/api/rollout", body)
    error = answer.json()["error"]
    assert answer.status_code == 400 and error.endswith(f"; got {given}")
    assert error.startswith("model: name a bundled model (") and "model_v1_1" in error


# -- users and rates ----------------------------------------------------------------------------


def test_the_users_rate_is_per_user_region(fleet):
    load = {"clients": ["eu-west-2", "ap-south-1"], "rate_per_s": 20}
    assert call(fleet, "POST", "/dashboard/api/load", load).ok
    shown = state(fleet)
    assert shown["load"] == {"clients": ["eu-west-2", "ap-south-1"], "rate_per_s": 20}
    assert [f["rate_per_s"] for f in shown["flows"]] == [20, 20]
    assert texts(shown, "load") == ["users in eu-west-2, ap-south-1: 20 requests/s each"]
    too_many = {"clients": ["eu-west-2", "ap-south-1", "us-west-1"], "rate_per_s": 20}
    answer = call(fleet, "POST", "/dashboard/api/load", too_many)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "rate_per_s: 20 requests/s in each of 3 user regions is over 50 in all; give at most 16.6"
    )
    assert state(fleet)["load"]["clients"] == ["eu-west-2", "ap-south-1"]  # unchanged


def predict(fleet, model: str, instances: list, client: str = "eu-west-2") -> requests.Response:
    return requests.post(
        f"{fleet.gateway_url}/v1/models/{model}:predict",
        json={"instances": instances},
        headers={"X-Client-Region": client},
        timeout=10,
    )


def test_requests_no_region_failed_are_never_a_healthy_regions_errors(fleet):
    for _ in range(5):
        assert predict(fleet, "model_v9", [[12, 70, 1]]).status_code == 404
        assert predict(fleet, "model_v1", [[1]]).status_code == 400  # the wrong shape
        assert predict(fleet, "model_v1", [[12, 70, 1]]).status_code == 200
    shown = regions_by_name(state(fleet))
    assert shown["eu-west-1"]["error_rate"] == 0.0 and shown["eu-west-1"]["refused_per_s"] > 0
    assert shown["us-east-1"]["error_rate"] is None  # asked nothing: no rate to show
    (unrouted,) = state(fleet)["unrouted"]
    assert unrouted["status"] == 404 and "model_v9" in unrouted["last"]
    assert unrouted["rate_per_s"] > 0
    # A region's own failures do count against it; the retry that answered does not.
    fault = {"kind": "error_rate", "error_rate": 1, "duration_s": 600}
    assert call(fleet, "POST", "/dashboard/api/faults", {"region": "eu-west-1", "fault": fault}).ok
    for _ in range(5):
        assert predict(fleet, "model_v1", [[12, 70, 1]]).status_code == 200  # the retry's
    shown = regions_by_name(state(fleet))
    assert shown["eu-west-1"]["error_rate"] > 0 and shown["us-east-1"]["error_rate"] == 0.0


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"policy": "weighted", "weights": {"us-east-1": 300}}, "weights: us-east-1: expected"),
        ({"policy": "weighted", "weights": {"us-east-1": "80"}}, "weights: us-east-1: expected"),
        ({"policy": "weighted", "weights": {"mars-1": 1}}, "weights: 'mars-1' is not one of"),
        ({"policy": "weighted", "weights": {"us-east-1": 0}}, "at least one above 0"),
        ({"policy": "weighted", "weights": [80, 20]}, "weights: expected region = weight"),
        ({"policy": "latency", "weights": {"us-east-1": 1}}, "weights: applies to policy weighted"),
        ({"policy": "latency", "order": ["us-east-1"]}, "order: applies to policy failover"),
        ({"policy": "failover", "order": "us-east-1"}, "order: expected a list of region names"),
        ({"policy": "failover", "order": ["us-east-1", "us-east-1"]}, "more than once"),
        ({"policy": None}, "policy: expected one of latency"),
        ({}, "policy: expected one of latency"),
        ({"policy": "latency", "retries": 3}, "unknown field 'retries'"),
    ],
)
def test_bad_routing_is_refused_naming_the_field_and_changes_nothing(fleet, body, says):
    answer = call(fleet, "PUT", "/dashboard/api/policy", body)
    assert answer.status_code == 400 and says in answer.json()["error"], answer.text
    now = routing(fleet)
    assert (now["policy"], now["weights"], now["order"]) == ("latency", {}, [])
    assert texts(state(fleet), "routing") == []


ODD = [None, True, -1, 1e300, "", "x" * 300, [], [[]], {}, {"a": {"b": []}}, [None, 1.5]]
CONTROLS = [
    ("POST", "/dashboard/api/faults", {"region": "eu-west-1", "fault": {"kind": "outage"}}),
    ("DELETE", "/dashboard/api/faults", {"region": "eu-west-1"}),
    ("PUT", "/dashboard/api/policy", {"policy": "weighted", "order": None, "weights": None}),
    ("POST", "/dashboard/api/load", {"clients": ["eu-west-2"], "rate_per_s": 1}),
    ("POST", "/dashboard/api/rollout", {"model": "model_v1_1", "strategy": "canary"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROLS)
def test_odd_values_in_any_field_get_a_json_4xx_never_a_500(fleet, method, path, body):
    for field in body:
        for value in ODD:
            answer = call(fleet, method, path, body | {field: value})
            assert answer.status_code < 500, (field, value, answer.text)
            if not answer.ok:
                assert answer.status_code >= 400 and answer.json()["error"], (field, value)
            if path.endswith("/load") and answer.ok:
                call(fleet, "DELETE", path, {})
    raw = requests.request(
        method,
        f"{fleet.gateway_url}{path}",
        data=json.dumps(body)[:-1],
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {fleet.admin_token}",
        },
        timeout=10,
    )
    assert raw.status_code == 400 and "not valid JSON" in raw.json()["error"]
