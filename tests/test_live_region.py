"""A region server's HTTP API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox.core.models import load_model
from sandbox.live.http import MAX_BODY_BYTES
from sandbox.live.region import create_region_app
from sandbox.live.server import ServerThread

TOKEN = "test-token"
MODEL = load_model("model_v1")
ROW = list(MODEL.smoke_instances[0])


class Region:
    """A live region server and a session to it."""

    def __init__(self, time_scale: float = 1.0) -> None:
        app = create_region_app("eu-west-1", token=TOKEN, time_scale=time_scale, seed=1)
        self.server = ServerThread(app).start()
        self.url = self.server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"  # as the fleet calls it

    def deploy(self, model=MODEL) -> requests.Response:
        return self.http.put(f"{self.url}/v1/models/{model.name}", json=model.to_dict())

    def predict(self, body=None, **kwargs) -> requests.Response:
        body = {"instances": [ROW]} if body is None else body
        return self.http.post(f"{self.url}/v1/models/model_v1:predict", json=body, **kwargs)

    def faults(self, method: str, body=None, token: str = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.request(method, f"{self.url}/admin/faults", json=body, headers=headers)

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def region():
    r = Region()
    yield r
    r.close()


@pytest.fixture
def ready(region):
    assert region.deploy().status_code == 201
    return region


def test_healthz_follows_the_model(region):
    down = region.http.get(f"{region.url}/healthz")
    assert (down.status_code, down.json()["status"]) == (503, "no model")
    region.deploy()
    up = region.http.get(f"{region.url}/healthz")
    assert up.status_code == 200
    assert up.json() == {
        "status": "ok",
        "region": "eu-west-1",
        "model": "model_v1",
        "version": "1.0.0",
    }


def test_deploy_replace_status_and_undeploy(region):
    assert region.deploy().status_code == 201
    assert region.deploy().status_code == 200
    status = region.http.get(f"{region.url}/v1/models/model_v1")
    expected = {"name": "model_v1", "version": "1.0.0", "ready": True, "versions": ["1.0.0"]}
    assert status.json() == expected
    assert region.http.get(f"{region.url}/v1/models/model_v2").status_code == 404
    assert region.http.delete(f"{region.url}/v1/models/model_v1").status_code == 200
    assert region.http.get(f"{region.url}/v1/models/model_v1").status_code == 404


def test_predict_answers_the_models_predictions(ready):
    answer = ready.predict({"instances": [list(i) for i in MODEL.smoke_instances]})
    assert answer.status_code == 200
    assert answer.json()["predictions"] == pytest.approx(list(MODEL.smoke_predictions), abs=1e-9)


@pytest.mark.parametrize(
    ("data", "content_type", "status", "message"),
    [
        ("{", "application/json", 400, "not valid JSON"),
        ('{"instances": [[NaN, 1, 2]]}', "application/json", 400, "NaN is not allowed"),
        ('{"instances": [[Infinity, 1, 2]]}', "application/json", 400, "Infinity is not allowed"),
        ('{"instances": [[1e999, 1, 2]]}', "application/json", 400, "finite number"),
        ('{"rows": [[1, 2, 3]]}', "application/json", 400, 'expected {"instances"'),
        ('{"instances": []}', "application/json", 400, "list of 1 to 1000"),
        ('{"instances": [[1, 2]]}', "application/json", 400, "instance 0: expected 3"),
        ('{"instances": [["a", 2, 3]]}', "application/json", 400, "expected a finite number"),
        ('{"instances": [[true, 2, 3]]}', "application/json", 400, "finite number"),
        ('{"instances": [[1, 2, 3]]}', "text/plain", 415, "Content-Type: application/json"),
        ('{"instances": [' + "[1,2,3]," * 1000 + "[1,2,3]]}", "application/json", 400, "1 to 1000"),
    ],
)
def test_bad_predictions_are_4xx_with_a_message(ready, data, content_type, status, message):
    answer = ready.http.post(
        f"{ready.url}/v1/models/model_v1:predict", data=data, headers={"Content-Type": content_type}
    )
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_predict_of_an_unknown_model_is_404(ready):
    answer = ready.http.post(f"{ready.url}/v1/models/nope:predict", json={"instances": [ROW]})
    assert (answer.status_code, answer.json()["error"]) == (404, "no model 'nope' in eu-west-1")


def test_invalid_artifact_is_400_and_the_previous_model_keeps_serving(ready):
    doc = MODEL.to_dict() | {"weights": [1.0, "x", 2.0]}
    answer = ready.http.put(f"{ready.url}/v1/models/model_v1", json=doc)
    assert answer.status_code == 400 and "field 'weights[1]'" in answer.json()["error"]
    other = ready.http.put(f"{ready.url}/v1/models/model_v9", json=load_model("model_v2").to_dict())
    assert other.status_code == 400 and "PUT it to /v1/models/model_v2" in other.json()["error"]
    assert ready.predict().json()["predictions"] == pytest.approx([MODEL.smoke_predictions[0]])


def test_huge_body_is_413(ready):
    big = json.dumps({"instances": [ROW], "pad": "x" * MAX_BODY_BYTES})
    for method, path in (("PUT", "/v1/models/model_v1"), ("POST", "/v1/models/model_v1:predict")):
        answer = ready.http.request(
            method, ready.url + path, data=big, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413 and "over" in answer.json()["error"]
    assert ready.predict().status_code == 200


def test_unknown_route_and_method_are_json(region):
    assert region.http.get(f"{region.url}/nope").json() == {"error": "no route /nope"}
    wrong = region.http.post(f"{region.url}/healthz")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "POST is not allowed on /healthz"})


@pytest.mark.parametrize("token", ["", "wrong", "test-token-longer"])
def test_admin_needs_the_token(region, token):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        answer = region.faults(method, [{"kind": "outage"}], token=token)
        assert answer.status_code == 401
    plain = region.http.get(f"{region.url}/admin/faults", headers={"Authorization": TOKEN})
    assert plain.status_code == 401
    assert region.faults("GET").json() == {"faults": []}


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_deployments_need_the_token_and_change_nothing_without_it(ready, token):
    headers = {"Authorization": None if token is None else f"Bearer {token}"}  # None: not sent
    v2 = load_model("model_v2").to_dict() | {"name": "model_v1", "version": "2.0.0"}
    for method, path, body in (
        ("PUT", "/v1/models/model_v1", v2),
        ("DELETE", "/v1/models/model_v1", None),
        ("DELETE", "/v1/models/model_v1/versions/1.0.0", None),
    ):
        answer = ready.http.request(method, ready.url + path, json=body, headers=headers)
        assert answer.status_code == 401 and "admin token" in answer.json()["error"], path
        assert answer.headers["WWW-Authenticate"] == "Bearer"  # the challenge RFC 7235 asks for
    status = ready.http.get(f"{ready.url}/v1/models/model_v1").json()
    assert (status["version"], status["versions"]) == ("1.0.0", ["1.0.0"])
    assert ready.predict().status_code == 200


def test_admin_put_patch_delete(region):
    region.faults(
        "PUT", [{"kind": "latency", "latency_ms": 5}, {"kind": "error_rate", "error_rate": 0.1}]
    )
    region.faults("PATCH", [{"kind": "latency", "latency_ms": 7, "duration_s": 60}])
    active = {f["kind"]: f for f in region.faults("GET").json()["faults"]}
    assert active["latency"]["latency_ms"] == 7 and 59 < active["latency"]["ends_in_s"] <= 60
    assert active["error_rate"]["ends_in_s"] is None
    region.faults("PUT", [{"kind": "outage"}])
    assert [f["kind"] for f in region.faults("GET").json()["faults"]] == ["outage"]
    assert region.faults("DELETE").json() == {"faults": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "outage"}, "expected a list"),
        ([{"kind": "latency", "latency_ms": 1e9}], "body[0].latency_ms: expected a number from 0"),
        ([{"kind": "flood"}], "body[0].kind: expected one of"),
        ([{"kind": ["outage"]}], "body[0].kind: expected one of"),
        ([{"kind": {"a": 1}}], "body[0].kind: expected one of"),
        ([{"kind": "outage", "count": 1}], "unknown parameter 'count'"),
        ([{"kind": "crash"}], "a crash needs process mode"),
    ],
)
def test_admin_refuses_bad_faults_and_keeps_the_old_ones(region, body, message):
    region.faults("PUT", [{"kind": "latency", "latency_ms": 1}])
    answer = region.faults("PATCH", body)
    assert answer.status_code == 400 and message in answer.json()["error"]
    assert [f["kind"] for f in region.faults("GET").json()["faults"]] == ["latency"]


def elapsed(call) -> tuple[float, requests.Response]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def test_latency_fault_delays_requests(ready):
    ready.faults("PUT", [{"kind": "latency", "latency_ms": 200, "jitter_ms": 20}])
    took, answer = elapsed(ready.predict)
    assert answer.status_code == 200 and 0.17 <= took < 1.5


def test_timeout_fault_holds_then_fails(ready):
    ready.faults("PUT", [{"kind": "timeout", "timeout_ms": 300}])
    took, answer = elapsed(ready.predict)
    assert answer.status_code == 504 and took >= 0.28


def test_outage_fails_health_and_predictions_not_metrics_or_admin(ready):
    ready.faults("PUT", [{"kind": "outage"}])
    assert ready.http.get(f"{ready.url}/healthz").status_code == 503
    assert ready.predict().status_code == 503
    assert ready.deploy().status_code == 503
    assert ready.http.get(f"{ready.url}/metrics").status_code == 200
    ready.faults("DELETE")
    assert ready.predict().status_code == 200


def test_error_rate_fails_that_share_of_predictions_only(ready):
    ready.faults("PUT", [{"kind": "error_rate", "error_rate": 0.5}])
    codes = [ready.predict().status_code for _ in range(200)]
    assert set(codes) == {200, 503} and 60 < codes.count(503) < 140
    assert all(ready.http.get(f"{ready.url}/healthz").ok for _ in range(20))


def test_bad_model_spoils_predictions(ready):
    ready.faults("PUT", [{"kind": "bad_model"}])
    assert ready.predict().json()["predictions"][0] == pytest.approx(MODEL.smoke_predictions[0] + 1)


def test_counted_faults_hit_the_next_deployments(region):
    region.faults(
        "PUT", [{"kind": "deploy_failures", "count": 1}, {"kind": "bad_model", "count": 1}]
    )
    assert region.deploy().status_code == 503
    assert region.deploy().status_code == 201
    assert region.predict().json()["predictions"][0] != pytest.approx(MODEL.smoke_predictions[0])
    assert region.deploy().status_code == 200
    assert region.predict().json()["predictions"][0] == pytest.approx(MODEL.smoke_predictions[0])
    assert region.faults("GET").json() == {"faults": []}


def test_fault_durations_are_scaled_and_end_on_their_own():
    fast = Region(time_scale=0.01)
    try:
        fast.deploy()
        fast.faults("PUT", [{"kind": "outage", "duration_s": 20}])
        assert fast.predict().status_code == 503
        time.sleep(0.25)
        assert fast.predict().status_code == 200
    finally:
        fast.close()


def test_metrics_count_requests_and_show_faults(ready):
    ready.predict()
    ready.predict({"instances": []})
    ready.faults("PUT", [{"kind": "latency", "latency_ms": 1}])
    text = ready.http.get(f"{ready.url}/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    route = "/v1/models/<name>:predict"
    assert samples[("mrsandbox_requests_total", (("route", route), ("status", "200")))] == 1
    assert samples[("mrsandbox_requests_total", (("route", route), ("status", "400")))] == 1
    assert samples[("mrsandbox_request_emulated_seconds_count", (("route", route),))] == 2
    assert samples[("mrsandbox_fault_active", (("kind", "latency"),))] == 1
    assert samples[("mrsandbox_fault_active", (("kind", "outage"),))] == 0


def test_deeply_nested_json_is_400_not_500(ready):
    deep = "[" * 100_000 + "]" * 100_000
    for method, path in (("POST", "/v1/models/model_v1:predict"), ("PUT", "/v1/models/model_v1")):
        answer = ready.http.request(
            method, ready.url + path, data=deep, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"]
    admin = ready.http.put(
        f"{ready.url}/admin/faults",
        data=deep,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    assert admin.status_code == 400 and "nested too deeply" in admin.json()["error"]


def test_405_names_the_allowed_methods_and_bearer_is_case_insensitive(region):
    wrong = region.http.post(f"{region.url}/healthz")
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET"}
    lower = region.http.get(
        f"{region.url}/admin/faults", headers={"Authorization": f"bearer {TOKEN}"}
    )
    assert lower.status_code == 200


def test_model_names_are_plain(region):
    doc = MODEL.to_dict() | {"name": "model_v1:predict"}
    answer = region.http.put(f"{region.url}/v1/models/model_v1:predict", json=doc)
    assert answer.status_code in (400, 405)
    assert region.http.get(f"{region.url}/healthz").status_code == 503
