"""KServe V1 on a region and through the gateway, driven by KServe's own REST client, and
TensorFlow Serving's request forms and metadata."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import httpx
import pytest
import requests
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

from sandbox import HealthPolicy, run_deployment
from sandbox.core.models import load_model
from sandbox.live.fleet import LiveFleet

FAST = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=3, healthy_threshold=2)
REGIONS = ["eu-west-1", "us-east-1"]
MODEL = load_model("model_v1")
ROWS = [list(row) for row in MODEL.smoke_instances]
NAMED = [dict(zip(MODEL.features, row, strict=True)) for row in ROWS]
CLIENT = {"X-Client-Region": "eu-west-2"}


@pytest.fixture(scope="module")
def fleet():
    with LiveFleet(REGIONS, time_scale=0.02, seed=8) as f:
        assert run_deployment(REGIONS, MODEL, backend=f, health=FAST).outcome == "complete"
        yield f


@pytest.fixture(params=["region", "gateway"])
def url(request, fleet):
    return fleet.urls["eu-west-1"] if request.param == "region" else fleet.gateway_url


def kserve(coroutine_of, protocol="v1"):
    """Run `coroutine_of(client)` with a KServe REST client of `protocol`, closed after."""

    async def run():
        client = InferenceRESTClient(RESTConfig(protocol=protocol, timeout=10))
        try:
            return await coroutine_of(client)
        finally:
            await client.close()

    return asyncio.run(run())


def test_kserve_client_sees_a_live_server_and_a_ready_model(url):
    assert kserve(lambda c: c.is_server_live(url)) is True
    assert kserve(lambda c: c.is_model_ready(url, MODEL.name)) is True
    with pytest.raises(httpx.HTTPStatusError, match="no model 'nope'"):
        kserve(lambda c: c.is_model_ready(url, "nope"))


def test_kserve_client_infers_the_models_predictions(url):
    body = {"instances": ROWS}
    answer = kserve(lambda c: c.infer(url, body, model_name=MODEL.name, headers=CLIENT))
    assert answer["predictions"] == pytest.approx(MODEL.predict(ROWS), abs=1e-12)


def test_kserve_v2_client_infers_the_models_predictions(url):
    """KServe's V2 client, as its documentation shows: it names the model in the body too."""
    tensor = InferInput("input", [len(ROWS), MODEL.n_features], "FP64", data=ROWS)
    request = InferRequest(MODEL.name, [tensor])
    answer = kserve(lambda c: c.infer(url, request, model_name=MODEL.name, headers=CLIENT), "v2")
    assert answer.model_name == MODEL.name
    assert answer.outputs[0].data == pytest.approx(MODEL.predict(ROWS), abs=1e-12)
    assert kserve(lambda c: c.is_server_ready(url), "v2") is True
    other = InferRequest("model_v9", [tensor])
    with pytest.raises(httpx.HTTPStatusError, match="model_name: the path names 'model_v1'"):
        kserve(lambda c: c.infer(url, other, model_name=MODEL.name, headers=CLIENT), "v2")


def until(check, what):
    """Wait for `check()` to hold (the health probes take a few tenths of a second here)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"still not {what} after 30 s"
        time.sleep(0.05)


def test_the_gateway_says_not_ready_when_no_region_serves_the_model():
    with LiveFleet(["eu-west-1"], time_scale=0.02, seed=9) as f:
        run_deployment(["eu-west-1"], MODEL, backend=f, health=FAST)
        model = f"{f.gateway_url}/v1/models/{MODEL.name}"
        version = f"{model}/versions/{MODEL.version}"

        def ready():
            return kserve(lambda c: c.is_model_ready(f.gateway_url, MODEL.name))

        def not_ready():
            """Whatever the health view says meanwhile: the model and the version the fleet
            deployed are not ready (503), a version it never deployed is not found (404)."""
            for path in (model, version, f"{version}/metadata"):
                answer = requests.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert "is not ready" in answer.json()["error"]
            missing = requests.get(f"{model}/versions/9.9.9")
            assert missing.status_code == 404
            assert f"the fleet serves {MODEL.version}" in missing.json()["error"]
            assert ready() is False

        auth = {"Authorization": f"Bearer {f.admin_token}"}
        admin = f"{f.urls['eu-west-1']}/admin/faults"
        assert requests.patch(admin, json=[{"kind": "outage"}], headers=auth).ok
        not_ready()
        assert requests.delete(admin, headers=auth).ok
        until(ready, "ready again after the outage")
        served = f"{f.urls['eu-west-1']}/v1/models/{MODEL.name}"
        assert requests.delete(served, headers=auth).ok
        not_ready()  # the region is still healthy: it answers 404
        until(lambda: requests.get(f"{f.gateway_url}/healthz").status_code == 503, "unhealthy")
        not_ready()  # no region is healthy
        deploy = requests.put(served, json=MODEL.to_dict(), headers=auth)
        assert deploy.status_code == 201, deploy.text
        until(ready, "ready again once deployed")
        assert requests.get(version).json()["version"] == MODEL.version


def test_models_list_status_and_versions(url):
    assert requests.get(f"{url}/v1/models").json() == {"models": [MODEL.name]}
    status = requests.get(f"{url}/v1/models/{MODEL.name}/versions/{MODEL.version}")
    assert status.status_code == 200
    assert (status.json()["name"], status.json()["ready"]) == (MODEL.name, True)
    missing = requests.get(f"{url}/v1/models/{MODEL.name}/versions/9.9.9")
    assert missing.status_code == 404 and "'9.9.9'" in missing.json()["error"]


def test_explain_is_501_and_other_methods_405(url):
    explain = requests.post(f"{url}/v1/models/{MODEL.name}:explain", json={"instances": ROWS})
    assert explain.status_code == 501 and "no explainer" in explain.json()["error"]
    unknown = requests.post(f"{url}/v1/models/nope:explain", json={"instances": ROWS})
    assert unknown.status_code == 404
    wrong = requests.get(f"{url}/v1/models/{MODEL.name}:explain")
    assert wrong.status_code == 405
    assert {m.strip() for m in wrong.headers["Allow"].split(",")} - {"OPTIONS"} == {"POST"}


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"instances": NAMED}, "predictions"),
        ({"signature_name": "serving_default", "instances": ROWS}, "predictions"),
        ({"signature_name": "", "instances": ROWS}, "predictions"),  # empty: the default
        ({"inputs": ROWS}, "outputs"),
        (
            {"inputs": {f: [row[i] for row in ROWS] for i, f in enumerate(MODEL.features)}},
            "outputs",
        ),
    ],
)
def test_tensorflow_serving_forms_give_the_same_predictions(url, body, key):
    answer = requests.post(f"{url}/v1/models/{MODEL.name}:predict", json=body, headers=CLIENT)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {key: pytest.approx(MODEL.predict(ROWS), abs=1e-12)}


FEATURES = ", ".join(MODEL.features)
ONE = NAMED[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"instances": [ONE | {"age": 3}]},
            f"instance 0: unknown feature 'age'; expected {FEATURES}",
        ),
        (
            {"instances": [{k: v for k, v in ONE.items() if k != "monthly_spend"}]},
            f"instance 0: missing feature 'monthly_spend'; expected {FEATURES}",
        ),
        ({"instances": [ONE | {"support_tickets": "x"}]}, "value 2: expected a finite number"),
        ({"signature_name": "other", "instances": ROWS}, 'one signature, "serving_default" (or'),
        ({"signature_name": None, "instances": ROWS}, 'or "" for it); got null'),
        ({"instances": ROWS, "inputs": ROWS}, "got both of instances and inputs"),
        ({"signature_name": "serving_default"}, "got neither of instances and inputs"),
        ({"inputs": {"tenure_months": [1]}}, "inputs: missing feature 'monthly_spend'"),
        (
            {"inputs": {f: [1] * (2 if f == "support_tickets" else 1) for f in MODEL.features}},
            "inputs: feature 'support_tickets': expected a list (1, as many as the first)",
        ),
        ({"inputs": {f: 1 for f in MODEL.features}}, "expected a list (one per instance)"),
        ({"inputs": []}, "inputs: expected a list of 1 to 1000"),
    ],
)
def test_bad_forms_are_400_naming_the_feature(url, body, message):
    answer = requests.post(f"{url}/v1/models/{MODEL.name}:predict", json=body, headers=CLIENT)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.text


def test_metadata_describes_the_signature(url):
    for path in (f"{MODEL.name}/metadata", f"{MODEL.name}/versions/{MODEL.version}/metadata"):
        meta = requests.get(f"{url}/v1/models/{path}").json()
        assert meta["model_spec"] == {
            "name": MODEL.name,
            "signature_name": "",
            "version": MODEL.version,
        }
        signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert sorted(signature["inputs"]) == sorted(MODEL.features)
        assert list(signature["outputs"]) == ["predictions"]
    assert requests.get(f"{url}/v1/models/nope/metadata").status_code == 404


def test_liveness_is_faulted_with_the_region(fleet):
    auth = {"Authorization": f"Bearer {fleet.admin_token}"}
    admin = f"{fleet.urls['us-east-1']}/admin/faults"
    assert requests.patch(admin, json=[{"kind": "outage"}], headers=auth).ok
    try:
        assert requests.get(f"{fleet.urls['us-east-1']}/").status_code == 503
    finally:
        assert requests.delete(admin, headers=auth).ok
    assert requests.get(f"{fleet.urls['us-east-1']}/").json() == {"status": "alive"}


def test_a_compressed_or_repeated_body_is_refused_by_name(url):
    path = f"{url}/v1/models/{MODEL.name}:predict"
    raw = json.dumps({"instances": ROWS}).encode()
    headers = CLIENT | {"Content-Type": "application/json"}
    for encoding, body in (("gzip", gzip.compress(raw)), ("br", raw)):
        sent = requests.post(path, data=body, headers=headers | {"Content-Encoding": encoding})
        assert sent.status_code == 415, sent.text
        assert f"Content-Encoding {encoding!r}: send the body uncompressed" in sent.json()["error"]
    twice = b'{"instances": [[1, 2, 3]], "instances": [[4, 5, 6], [7, 8, 9]]}'
    sent = requests.post(path, data=twice, headers=headers)
    assert sent.status_code == 400 and "duplicate key 'instances'" in sent.json()["error"]
