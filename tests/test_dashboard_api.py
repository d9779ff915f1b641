"""The dashboard's page, its state and its controls over real HTTP on a live fleet: every control
needs the admin token, bad input gets a clear 4xx and changes nothing, and everything the page
needs comes from the gateway itself."""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from sandbox import HealthPolicy, Model, run_deployment
from sandbox.core.routing import RoutingPolicy
from sandbox.dashboard import mount
from sandbox.live import LiveFleet

REGIONS = ["us-east-1", "eu-west-1"]
POLICY = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=2, healthy_threshold=2)


@contextmanager
def served(routing: RoutingPolicy | None = None, model: object = "model_v1", **kwargs):
    """A live fleet with the dashboard on its gateway, as `mrsandbox serve` starts it."""
    fleet = LiveFleet(REGIONS, time_scale=0.02, **kwargs)
    board = mount(fleet)
    try:
        with fleet:
            d = run_deployment(REGIONS, model, backend=fleet, health=POLICY, routing=routing)
            assert d.outcome == "complete"
            board.follow(d)
            yield fleet
    finally:
        board.close()


@pytest.fixture
def fleet():
    with served(seed=4) as fleet:
        yield fleet


def call(fleet, method: str, path: str, body=None, token: str | None = "fleet"):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {fleet.admin_token if token == 'fleet' else token}"
    return requests.request(
        method, f"{fleet.gateway_url}{path}", json=body, headers=headers, timeout=10
    )


def state(fleet) -> dict:
    return call(fleet, "GET", "/dashboard/state", token=None).json()


def test_the_page_and_its_files_come_from_the_gateway_alone(fleet):
    page = call(fleet, "GET", "/dashboard", token=None)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    texts = [page.text]
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        asset = call(fleet, "GET", f"/dashboard/static/{name}", token=None)
        assert asset.status_code == 200 and asset.headers["Content-Type"].startswith(kind)
        texts.append(asset.text)
    for text in texts:  # no CDN, no font or script from another host
        assert not re.search(
            r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text.replace("http://www.w3.org/2000/svg", "")
        )
    missing = call(fleet, "GET", "/dashboard/static/secrets.txt", token=None)
    assert missing.status_code == 404 and "error" in missing.json()


def test_the_state_shows_each_region_the_policy_and_the_events(fleet):
    shown = state(fleet)
    assert [r["name"] for r in shown["regions"]] == REGIONS
    for region in shown["regions"]:
        assert region["healthy"] is True and (region["model"], region["version"]) == (
            "model_v1",
            "1.0.0",
        )
        assert {"lat", "lon", "rate_per_s", "error_rate", "p95_ms", "location"} <= set(region)
    assert shown["policy"] == "latency" and "failover" in shown["policies"]
    assert shown["flows"] == [] and shown["load"] == {"clients": [], "rate_per_s": 0.0}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/dashboard/api/faults", {"region": "eu-west-1", "fault": {"kind": "outage"}}),
        ("DELETE", "/dashboard/api/faults", {"region": "eu-west-1"}),
        ("PUT", "/dashboard/api/policy", {"policy": "failover"}),
        ("POST", "/dashboard/api/load", {"clients": ["eu-west-2"]}),
        ("DELETE", "/dashboard/api/load", {}),
        ("POST", "/dashboard/api/rollout", {"model": "model_v1_1"}),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_every_control_needs_the_token(fleet, method, path, body, token):
    answer = call(fleet, method, path, body, token=token)
    assert answer.status_code == 401 and "admin token" in answer.json()["error"]
    shown = state(fleet)
    assert shown["policy"] == "latency" and shown["load"]["clients"] == []
    assert all(r["version"] == "1.0.0" for r in shown["regions"])
    assert fleet.admin("GET", "eu-west-1").json() == {"faults": []}


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        (
            "POST",
            "/dashboard/api/faults",
            {"region": "mars-1", "fault": {"kind": "outage"}},
            "region",
        ),
        (
            "POST",
            "/dashboard/api/faults",
            {"region": "eu-west-1", "fault": {"kind": "meteor"}},
            "meteor",
        ),
        (
            "POST",
            "/dashboard/api/faults",
            {"region": "eu-west-1", "fault": {"kind": "error_rate", "error_rate": 2}},
            "error_rate",
        ),
        ("POST", "/dashboard/api/faults", [1, 2], "JSON object"),
        ("PUT", "/dashboard/api/policy", {"policy": "fastest"}, "policy"),
        ("POST", "/dashboard/api/load", {"clients": []}, "clients"),
        ("POST", "/dashboard/api/load", {"clients": ["atlantis-1"]}, "clients"),
        (
            "POST",
            "/dashboard/api/load",
            {"clients": ["eu-west-2"], "rate_per_s": 1000},
            "rate_per_s",
        ),
        (
            "POST",
            "/dashboard/api/load",
            {"clients": ["eu-west-2"], "rate_per_s": "x"},
            "rate_per_s",
        ),
        ("POST", "/dashboard/api/rollout", {"model": "model_v9"}, "model"),
        ("POST", "/dashboard/api/rollout", {"model": "../etc/passwd"}, "model"),
        ("POST", "/dashboard/api/rollout", {"model": "a" * 5000}, "model"),
        (
            "POST",
            "/dashboard/api/rollout",
            {"model": "model_v1_1", "strategy": "canary", "canary_percent": "10"},
            "canary_percent: expected a number above 0 and below 100",
        ),
        (
            "POST",
            "/dashboard/api/rollout",
            {"model": "model_v1_1", "strategy": "waves", "bake_s": -1},
            "bake_s: expected a number from 0",
        ),
        (
            "POST",
            "/dashboard/api/rollout",
            {"model": "model_v1_1", "bake_s": 10},
            "bake_s: applies to strategy waves or canary",
        ),
        ("POST", "/dashboard/api/rollout", {"model": "model_v1_1", "strategy": "blue"}, "strategy"),
        ("POST", "/dashboard/api/load", {"clients": ["eu-west-2"], "rate_per_s": 1e-300}, "rate"),
        (
            "POST",
            "/dashboard/api/faults",
            {"region": "eu-west-1", "fault": {"kind": "outage"}, "extra": 1},
            "unknown field 'extra'",
        ),
    ],
)
def test_bad_controls_are_refused_and_change_nothing(fleet, method, path, body, says):
    answer = call(fleet, method, path, body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    shown = state(fleet)
    assert shown["policy"] == "latency" and shown["load"]["clients"] == []
    assert fleet.admin("GET", "eu-west-1").json() == {"faults": []}


def test_controls_inject_and_clear_faults_switch_policy_and_run_users(fleet):
    fault = {"kind": "latency", "latency_ms": 100, "duration_s": 600}
    assert call(fleet, "POST", "/dashboard/api/faults", {"region": "eu-west-1", "fault": fault}).ok
    assert fleet.admin("GET", "eu-west-1").json()["faults"][0]["kind"] == "latency"
    assert call(fleet, "DELETE", "/dashboard/api/faults", {"region": "eu-west-1"}).ok
    assert fleet.admin("GET", "eu-west-1").json() == {"faults": []}
    assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "failover"}).ok
    assert state(fleet)["policy"] == "failover"
    load = {"clients": ["eu-west-2", "ap-south-1"], "rate_per_s": 20}
    assert call(fleet, "POST", "/dashboard/api/load", load).ok
    deadline = time.monotonic() + 10
    while not all(f["region"] for f in state(fleet)["flows"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    shown = state(fleet)
    assert {f["client"]: f["region"] for f in shown["flows"]} == {
        "eu-west-2": "us-east-1",  # failover: the first region of the order, for everyone
        "ap-south-1": "us-east-1",
    }
    assert next(r for r in shown["regions"] if r["name"] == "us-east-1")["rate_per_s"] > 0
    assert call(fleet, "DELETE", "/dashboard/api/load", {}).ok
    assert state(fleet)["load"]["clients"] == []
    kinds = [e["kind"] for e in state(fleet)["events"]]
    assert kinds[:4] == ["fault", "fault", "routing", "load"]


def test_a_rollout_goes_region_by_region_and_shows_each_step(fleet):
    answer = call(fleet, "POST", "/dashboard/api/rollout", {"model": "model_v1_1"})
    assert answer.status_code == 202, answer.text
    for name in ("model_v1_1", "model_v1", "model_v2"):  # busy first, whatever else is wrong
        again = call(fleet, "POST", "/dashboard/api/rollout", {"model": name})
        assert again.status_code == 409 and "already running" in again.json()["error"], name
    deadline = time.monotonic() + 30
    while not any(e["text"].startswith("Rollout complete") for e in state(fleet)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert all(r["version"] == "1.1.0" for r in state(fleet)["regions"])
    steps = [e["text"] for e in state(fleet)["events"] if e["kind"] == "rollout"]
    assert steps[0] == "Start wave 1: Wave 1 of 2"
    assert steps.index("Verify deployment in us-east-1: Verification success") < steps.index(
        "Deploy model to eu-west-1: Deployment success"
    )
    assert state(fleet)["models"] == ["model_v1"]  # now the version to roll back to
    back = call(fleet, "POST", "/dashboard/api/rollout", {"model": "model_v1_1"})
    assert back.status_code == 400 and "already serve" in back.json()["error"]


def test_a_canary_rollout_from_the_page_shifts_a_share_and_bakes(fleet):
    body = {"model": "model_v1_1", "strategy": "canary", "canary_percent": 50, "bake_s": 5}
    assert call(fleet, "POST", "/dashboard/api/rollout", body).status_code == 202
    deadline = time.monotonic() + 30
    while not any(e["text"].startswith("Rollout") for e in state(fleet)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    texts = [e["text"] for e in state(fleet)["events"]]
    assert any(text.startswith("Bake wave 1: ") for text in texts), texts
    assert any(text.startswith("Shift traffic in us-east-1: 50% to 1.1.0") for text in texts)


def test_switching_the_policy_keeps_the_retries_and_the_dns_ttl():
    with served(RoutingPolicy("latency", retries=0, dns_ttl_s=30)) as fleet:
        assert call(fleet, "PUT", "/dashboard/api/policy", {"policy": "round_robin"}).ok
        routing = call(fleet, "GET", "/routing", token=None).json()
        assert routing["policy"] == "round_robin"
        assert (routing["retries"], routing["dns_ttl_s"]) == (0, 30)


def test_users_send_instances_of_the_deployed_models_own_shape():
    two_features = Model("tiny", "1.0.0", "linear", (1.0, 2.0), 0.5, ((1.0, 1.0),), (3.5,))
    with served(model=two_features) as fleet:
        load = {"clients": ["eu-west-2"], "rate_per_s": 20}
        assert call(fleet, "POST", "/dashboard/api/load", load).ok
        deadline = time.monotonic() + 10
        while not (region := regions_by_name(state(fleet))["eu-west-1"])["rate_per_s"]:
            assert time.monotonic() < deadline, "no user request reached eu-west-1"
            time.sleep(0.1)
        assert region["error_rate"] == 0.0  # every request had the model's two numbers


def regions_by_name(shown: dict) -> dict[str, dict]:
    return {region["name"]: region for region in shown["regions"]}


def test_users_stop_when_the_fleet_closes():
    before = threading.active_count()
    with served() as fleet:
        assert call(fleet, "POST", "/dashboard/api/load", {"clients": ["eu-west-2"]}).ok
    time.sleep(0.2)
    assert threading.active_count() <= before


def test_a_huge_control_body_is_refused(fleet):
    body = {"clients": ["eu-west-2"] * 200_000}
    answer = call(fleet, "POST", "/dashboard/api/load", body)
    assert answer.status_code == 413 and "error" in answer.json()
    assert state(fleet)["load"]["clients"] == []


def test_health_changes_before_the_page_opens_are_in_the_events(fleet):
    from sandbox.core.faults import Fault

    fleet.inject("eu-west-1", [Fault("outage", duration_s=600)])
    deadline = time.monotonic() + 10
    while not any("eu-west-1 unhealthy (probe)" in e["text"] for e in state(fleet)["events"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
