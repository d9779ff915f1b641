"""The fleet's Prometheus metrics: latency buckets that fit the sandbox, a region's latency in
emulated seconds, and the gateway's `/metrics` counting what it did, as the answers' own headers
(`X-Tried`, `X-Attempts`, `X-Served-By`, `X-Fail-Open`) tell it."""

from __future__ import annotations

import bisect
import itertools
import socket
import time
from collections import Counter

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox import HealthPolicy, run_deployment
from sandbox.core.faults import PARAMETERS, Fault
from sandbox.core.health import OutlierPolicy
from sandbox.core.models import load_model
from sandbox.core.routing import REQUEST_TIMEOUT_S
from sandbox.live.fleet import LiveFleet
from sandbox.live.metrics import LATENCY_BUCKETS, scrape_targets
from sandbox.live.region import create_region_app

SCALE = 0.02
REGIONS = ["us-east-1", "eu-west-1"]
# probes slow to mark a region down, and an ejection that outlasts the test: what the gateway
# does to a failing region is then up to its outlier detection alone
SLOW_PROBES = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=10, healthy_threshold=2)
LONG_EJECTION = OutlierPolicy(base_ejection_s=3600, max_ejection_s=3600)
BODY = {"instances": [[12.0, 70.0, 1.0]]}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics body by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_the_buckets_span_the_sandbox_latencies():
    finite = LATENCY_BUCKETS[:-1]
    assert LATENCY_BUCKETS[-1] == float("inf")
    assert list(finite) == sorted(set(finite))
    assert finite[0] < 0.001  # a bare answer at time scale 1
    assert finite[-1] >= PARAMETERS["latency_ms"].high / 1000  # the longest latency fault
    assert finite[-1] >= REQUEST_TIMEOUT_S
    assert all(high / low <= 2.5 for low, high in itertools.pairwise(finite))


def test_a_region_times_its_requests_in_emulated_seconds():
    scale, delay_s = 0.1, 0.3
    app = create_region_app("eu-west-1", token="t", time_scale=scale)
    client = app.test_client()
    model = load_model("model_v1")
    auth = {"Authorization": "Bearer t"}
    deployed = client.put(f"/v1/models/{model.name}", json=model.to_dict(), headers=auth)
    assert deployed.status_code == 201
    fault = [{"kind": "latency", "latency_ms": delay_s * 1000}]
    client.put("/admin/faults", json=fault, headers=auth)
    sent = time.perf_counter()
    assert client.post("/v1/models/model_v1:predict", json=BODY).status_code == 200
    waited_s = (time.perf_counter() - sent) / scale  # at least what the region measured
    found = samples(client.get("/metrics").text)
    name, route = "mrsandbox_request_emulated_seconds_bucket", "/v1/models/<name>:predict"
    below = LATENCY_BUCKETS[bisect.bisect_left(LATENCY_BUCKETS, delay_s) - 1]
    above = LATENCY_BUCKETS[bisect.bisect_left(LATENCY_BUCKETS, waited_s)]
    assert value(found, name, route=route, le=str(below)) == 0  # not the wall 0.03 s
    assert value(found, name, route=route, le=str(above)) == 1
    assert value(found, "mrsandbox_time_scale") == scale


@pytest.fixture
def fleet():
    with LiveFleet(REGIONS, time_scale=SCALE, seed=3) as f:
        d = run_deployment(
            REGIONS, "model_v1", backend=f, health=SLOW_PROBES, outlier=LONG_EJECTION
        )
        assert d.outcome == "complete"
        f.deployment = d
        yield f


def predict(fleet, client: str, body=BODY) -> requests.Response:
    return requests.post(
        f"{fleet.gateway_url}/v1/models/model_v1:predict",
        json=body,
        headers={"X-Client-Region": client},
        timeout=10,
    )


def expected_forwards(answers: list[requests.Response]) -> Counter:
    """(region, outcome) of every attempt, from the answers' headers: every region tried but the
    last failed; the last answered (ok, or refused for a 4xx) unless none did."""
    seen: Counter = Counter()
    for answer in answers:
        tried = answer.headers["X-Tried"].split(",")
        assert len(tried) == int(answer.headers["X-Attempts"])
        seen.update((region, "failed") for region in tried[:-1])
        last = "ok" if answer.ok else "refused" if answer.status_code < 500 else "failed"
        seen[tried[-1], last] += 1
    return seen


def gateway_metrics(fleet) -> dict:
    answer = requests.get(f"{fleet.gateway_url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")  # Prometheus text
    return samples(answer.text)


def forwards(found: dict) -> Counter:
    counted: Counter = Counter()
    for region in REGIONS:
        for outcome in ("ok", "refused", "failed"):
            n = value(found, "mrsandbox_gateway_forwards_total", region=region, outcome=outcome)
            if n:
                counted[region, outcome] = int(n)
    return counted


def test_the_gateway_counts_each_forward_and_times_each_answer(fleet):
    answers = [predict(fleet, client) for client in ("eu-west-2", "us-east-2") * 6]
    answers += [predict(fleet, "eu-west-2", {"instances": "x"}) for _ in range(3)]
    assert Counter(a.status_code for a in answers) == {200: 12, 400: 3}
    found = gateway_metrics(fleet)
    assert forwards(found) == expected_forwards(answers)
    assert sum(forwards(found).values()) == len(answers)  # one attempt each: no retry
    assert value(found, "mrsandbox_gateway_retries_total") == 0
    assert value(found, "mrsandbox_gateway_fail_open_total") == 0
    by_region = Counter(a.headers["X-Served-By"] for a in answers)
    for region in REGIONS:
        count = value(found, "mrsandbox_gateway_request_emulated_seconds_count", region=region)
        assert count == by_region[region]
        assert value(found, "mrsandbox_gateway_region_healthy", region=region) == 1
        assert value(found, "mrsandbox_gateway_region_ejected", region=region) == 0
        assert value(found, "mrsandbox_gateway_outlier_ejections_total", region=region) == 0
    assert value(found, "mrsandbox_time_scale") == SCALE


def test_a_region_down_shows_as_failed_forwards_retries_and_an_ejection(fleet):
    fleet.inject("eu-west-1", [Fault("outage")])
    answers = [predict(fleet, "eu-west-2") for _ in range(8)]
    assert all(a.status_code == 200 for a in answers)
    found = gateway_metrics(fleet)
    assert forwards(found) == expected_forwards(answers)
    retries = sum(int(a.headers["X-Attempts"]) - 1 for a in answers)
    assert value(found, "mrsandbox_gateway_retries_total") == retries >= 5  # ejected after 5
    assert value(found, "mrsandbox_gateway_outlier_ejections_total", region="eu-west-1") == 1
    assert value(found, "mrsandbox_gateway_region_ejected", region="eu-west-1") == 1
    assert value(found, "mrsandbox_gateway_region_healthy", region="eu-west-1") == 0
    assert value(found, "mrsandbox_gateway_region_healthy", region="us-east-1") == 1
    health = requests.get(f"{fleet.gateway_url}/routing", timeout=5).json()["health"]
    assert health["eu-west-1"]["ejections"] == 1  # the same view as /routing's


def test_failing_open_is_counted(fleet):
    for region in REGIONS:
        fleet.inject(region, [Fault("outage")])
    view = fleet.deployment.health_view
    deadline = time.monotonic() + 30
    while view.healthy_regions():
        assert time.monotonic() < deadline, "the monitor never marked every region down"
        time.sleep(0.01)
    answers = [predict(fleet, "eu-west-2") for _ in range(3)]
    assert all(a.status_code == 503 and a.headers["X-Fail-Open"] == "true" for a in answers)
    found = gateway_metrics(fleet)
    assert value(found, "mrsandbox_gateway_fail_open_total") == 3
    assert value(found, "mrsandbox_gateway_request_emulated_seconds_count", region="none") == 3
    assert forwards(found) == expected_forwards(answers)
    retries = sum(int(a.headers["X-Attempts"]) - 1 for a in answers)
    assert value(found, "mrsandbox_gateway_retries_total") == retries
    for region in REGIONS:
        assert value(found, "mrsandbox_gateway_region_healthy", region=region) == 0


def test_the_gateway_metrics_route_takes_only_get(fleet):
    answer = requests.post(f"{fleet.gateway_url}/metrics", timeout=5)
    assert answer.status_code == 405 and answer.headers["Allow"]
    assert "error" in answer.json()


def test_a_fleet_on_every_address_is_scraped_at_this_machines_name():
    groups = scrape_targets("http://0.0.0.0:8000", {"eu-west-1": "http://[::]:8001"})
    name = socket.gethostname()
    assert [g["targets"] for g in groups] == [[f"{name}:8000"], [f"{name}:8001"]]
    kept = scrape_targets("http://127.0.0.1:8000", {"eu-west-1": "http://[::1]:8001"})
    assert [g["targets"] for g in kept] == [["127.0.0.1:8000"], ["[::1]:8001"]]
    assert kept[1]["labels"] == {"job": "mrsandbox-region", "region": "eu-west-1"}
