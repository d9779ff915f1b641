"""Rollouts on real servers: versions side by side in a region, the gateway's split, a live
canary caught and rolled back, and a DNS TTL the gateway honours."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import requests

from sandbox import run_deployment
from sandbox.core.faults import Fault
from sandbox.core.health import HealthPolicy, OutlierPolicy
from sandbox.core.models import load_model
from sandbox.core.routing import RoutingPolicy
from sandbox.experiment.scenario import load_scenario
from sandbox.live.fleet import LiveFleet
from sandbox.live.region import create_region_app
from sandbox.live.server import ServerThread

OLD, NEW = load_model("model_v1"), load_model("model_v1_1")
ROW = [list(OLD.smoke_instances[0])]
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def region():
    server = ServerThread(create_region_app("eu-west-1", token=TOKEN, seed=2)).start()
    http = requests.Session()
    http.headers.update(AUTH)  # deployments need the token, as the fleet sends it
    yield server.url, http
    http.close()
    server.stop()


def test_a_region_keeps_the_version_it_replaced_and_serves_either(region):
    url, http = region
    assert http.put(f"{url}/v1/models/model_v1", json=OLD.to_dict()).status_code == 201
    answer = http.put(f"{url}/v1/models/model_v1", json=NEW.to_dict())
    assert answer.status_code == 200 and answer.json()["versions"] == ["1.0.0", "1.1.0"]
    status = http.get(f"{url}/v1/models/model_v1").json()
    assert (status["version"], status["versions"]) == ("1.1.0", ["1.0.0", "1.1.0"])
    for model in (OLD, NEW):
        path = f"{url}/v1/models/model_v1/versions/{model.version}"
        answer = http.post(f"{path}:predict", json={"instances": ROW})
        assert answer.status_code == 200
        assert answer.headers["X-Model-Version"] == model.version
        assert answer.json()["predictions"] == pytest.approx(model.smoke_predictions[:1])
        assert http.get(path).json()["version"] == model.version
    plain = http.post(f"{url}/v1/models/model_v1:predict", json={"instances": ROW})
    assert plain.headers["X-Model-Version"] == "1.1.0"
    missing = http.post(f"{url}/v1/models/model_v1/versions/9.9.9:predict", json={"instances": ROW})
    assert missing.status_code == 404 and "version '9.9.9'" in missing.json()["error"]
    assert http.get(f"{url}/v1/models/model_v1/versions/1.0.0:predict").status_code == 405
    withdrawn = http.delete(f"{url}/v1/models/model_v1/versions/1.1.0")
    assert withdrawn.status_code == 200 and withdrawn.json()["versions"] == ["1.0.0"]
    assert http.get(f"{url}/v1/models/model_v1").json()["version"] == "1.0.0"
    assert http.get(f"{url}/v1/models/model_v1/versions/1.1.0").status_code == 404


def test_a_version_fault_spares_the_other_version_and_the_smoke_test(region):
    url, http = region
    http.put(f"{url}/v1/models/model_v1", json=OLD.to_dict())
    http.put(f"{url}/v1/models/model_v1", json=NEW.to_dict())
    fault = [{"kind": "error_rate", "error_rate": 1.0, "version": "1.1.0"}]
    assert http.patch(f"{url}/admin/faults", json=fault, headers=AUTH).status_code == 200
    body = {"instances": ROW}
    new = http.post(f"{url}/v1/models/model_v1/versions/1.1.0:predict", json=body)
    old = http.post(f"{url}/v1/models/model_v1/versions/1.0.0:predict", json=body)
    current = http.post(f"{url}/v1/models/model_v1:predict", json=body)
    smoke = http.post(
        f"{url}/v1/models/model_v1:predict", json=body, headers={"X-Smoke-Test": "true"}
    )
    assert [a.status_code for a in (new, old, current, smoke)] == [503, 200, 503, 200]
    assert http.get(f"{url}/healthz").status_code == 200  # probes see a healthy region
    refused = http.patch(
        f"{url}/admin/faults", json=[{"kind": "outage", "version": "1.1.0"}], headers=AUTH
    )
    assert refused.status_code == 400 and "unknown parameter 'version'" in refused.json()["error"]


SPLIT_TOLERANCE = 0.06  # 800 requests: the share's standard deviation is about 0.016


def test_the_gateway_splits_predictions_by_version_weight():
    with LiveFleet(["eu-west-1"], time_scale=0.1, seed=5) as fleet:
        d = run_deployment(["eu-west-1"], OLD, backend=fleet)
        fleet.run(fleet.deploy("eu-west-1", NEW))
        fleet.run(fleet.set_split("eu-west-1", {"1.0.0": 70.0, "1.1.0": 30.0}))
        seen = Counter()
        with requests.Session() as http:
            for _ in range(800):
                answer = http.post(
                    f"{fleet.gateway_url}/v1/models/model_v1:predict",
                    json={"instances": ROW},
                    headers={"X-Client-Region": "eu-west-2"},
                )
                if answer.status_code == 200:  # a busy machine may time a few out
                    seen[answer.headers["X-Model-Version"]] += 1
        answered = sum(seen.values())
        assert d.outcome == "complete" and answered >= 0.97 * 800
        assert abs(seen["1.1.0"] / answered - 0.30) <= SPLIT_TOLERANCE
        routing = requests.get(f"{fleet.gateway_url}/routing").json()
        assert routing["split"] == {"eu-west-1": {"1.0.0": 70.0, "1.1.0": 30.0}}
        attempts = fleet.gateway.attempts.served(0, fleet.now() + 1, ["eu-west-1"], "1.1.0")
        assert attempts.requests - attempts.failed == seen["1.1.0"]


# A bake failure fails half of the new version's predictions; the hypothesis allows a tenth, so
# that answers a starved machine gives late (timeouts) cannot make the good wave deviate.
LIVE_CANARY = """
name = "live canary"
seed = 3
duration_s = 10
mode = "live"
time_scale = 0.05

[steady_state]
max_error_rate = 0.1

[deployment]
model = "model_v1"
regions = ["us-east-1", "eu-west-1"]

[rollout]
model = "model_v1_1"
strategy = "canary"
canary_percent = 20
bake_s = 40
failures = ["eu-west-1:bake"]

[[clients]]
region = "us-east-1"
rate_per_s = 10

[[clients]]
region = "eu-west-1"
rate_per_s = 10
"""


def test_a_live_canary_is_caught_and_every_touched_region_rolled_back(tmp_path):
    from sandbox.experiment.run import run_experiment

    path = tmp_path / "canary.toml"
    path.write_text(LIVE_CANARY)
    experiment = run_experiment(load_scenario(path))
    rollout = experiment.rollout
    assert rollout is not None and rollout.outcome == "rolled_back"
    results = [s.result for s in rollout.trace.steps if s.action == "Bake"]
    assert results[0].startswith("Steady state held: ")
    assert results[1].startswith("Deviated: ")
    rolled = [s.region for s in rollout.trace.steps if s.action == "Roll back deployment"]
    assert rolled == ["eu-west-1", "us-east-1"]
    by_version = experiment.journal["summary"]["by_version"]
    assert by_version["1.1.0"]["requests"] > 0 and by_version["1.0.0"]["share"] > 0.5
    assert experiment.journal["summary"]["wrong_answers"] == 0  # each version's own answers


def test_deploy_live_with_a_strategy(invoke):
    args = ["deploy", "--regions", "us-east-1,eu-west-1", "model_v1_1", "--live"]
    # 0.05: the users near each region (10 a second) are 200 wall requests a second each
    args += ["--time-scale", "0.05", "--strategy", "waves", "--bake-s", "20"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "of emulated time" in result.output
    assert result.output.count("Steady state held: ") == 2


def _kept_after_an_outage(ttl: float) -> tuple[float, int]:
    """How long (emulated seconds) and how many times the gateway still sends eu-west-1's users
    there first after it fails."""
    scale = 0.05
    health = HealthPolicy(interval_s=4, timeout_s=1, failure_threshold=2, healthy_threshold=2)
    routing = RoutingPolicy("latency", retries=0, dns_ttl_s=ttl)
    regions = ["us-east-1", "eu-west-1"]
    with LiveFleet(regions, time_scale=scale, seed=1) as fleet:
        run_deployment(regions, OLD, backend=fleet, health=health, routing=routing)
        url = f"{fleet.gateway_url}/v1/models/model_v1:predict"
        with requests.Session() as http:

            def first_tried() -> str:
                answer = http.post(
                    url, json={"instances": ROW}, headers={"X-Client-Region": "eu-west-1"}
                )
                return answer.headers["X-Tried"].split(",")[0]

            assert first_tried() == "eu-west-1"  # the users' answer, cached for what is left
            start = fleet.now()
            fleet.inject("eu-west-1", [Fault("outage")])
            last, sent = start, 0
            while fleet.now() < start + ttl + 3 * health.interval_s:
                if first_tried() == "eu-west-1":
                    last, sent = fleet.now(), sent + 1
                time.sleep(0.2 * scale)
    return last - start, sent


def test_the_gateway_keeps_a_client_s_cached_region_for_the_dns_ttl():
    ttl, detection = 20.0, 4 * 2
    _, sent = _kept_after_an_outage(0)
    # asked afresh each time: sent there until ejected after consecutive failed answers
    assert sent <= OutlierPolicy().consecutive_5xx
    kept, _ = _kept_after_an_outage(ttl)
    # kept for what was left of the TTL (a loaded machine's loop may sample the end late)
    assert ttl / 2 <= kept <= ttl + detection + 2


BUSY = """
name = "more users than the laptop can send"
seed = 1
duration_s = {duration}
mode = "live"
time_scale = {scale}

[deployment]
model = "model_v1"
regions = ["eu-west-1"]

[[clients]]
region = "eu-west-1"
rate_per_s = {rate}
"""


@pytest.mark.parametrize(
    ("duration", "scale", "rate", "warned"), [(1, 0.01, 2000, True), (2, 0.5, 4, False)]
)
def test_a_live_run_warns_when_its_users_fall_behind(
    invoke, tmp_path, duration, scale, rate, warned
):
    path = tmp_path / "busy.toml"
    path.write_text(BUSY.format(duration=duration, scale=scale, rate=rate))
    result = invoke("experiment", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert ("Warning: the live users fell behind" in result.output) is warned
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert bool(run["warnings"]) is warned
    journal = (tmp_path / "out" / "journal.json").read_text()
    assert "fell behind" not in journal  # a wall-clock fact stays out of the journal


def test_a_wait_on_a_live_fleet_ends_when_the_fleet_closes():
    fleet = LiveFleet(["eu-west-1"], time_scale=1.0).start()
    started = time.monotonic()
    waiting = threading.Thread(target=fleet.advance, args=(600,))
    waiting.start()
    time.sleep(0.2)
    fleet.close()
    waiting.join(timeout=10)
    assert not waiting.is_alive() and time.monotonic() - started < 10
