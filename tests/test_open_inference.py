"""The Open Inference Protocol (V2, REST) on a region and through the gateway, driven by
tritonclient's HTTP client as its documentation shows, and by our own requests for bad input."""

from __future__ import annotations

import json
import struct
from collections import Counter

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from sandbox import HealthPolicy, run_deployment
from sandbox.core.models import load_model
from sandbox.live.fleet import LiveFleet

SCALE = 0.02
FAST = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=3, healthy_threshold=2)
REGIONS = ["eu-west-1", "us-east-1"]
MODEL, NEW = load_model("model_v1"), load_model("model_v1_1")
CLIENT = {"X-Client-Region": "eu-west-2"}  # nearest eu-west-1; tritonclient adds to a dict given
ROWS = [list(row) for row in MODEL.smoke_instances]
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64}


@pytest.fixture(scope="module")
def fleet():
    with LiveFleet(REGIONS, time_scale=SCALE, seed=4) as f:
        assert run_deployment(REGIONS, MODEL, backend=f, health=FAST).outcome == "complete"
        yield f


@pytest.fixture(params=["region", "gateway"])
def url(request, fleet):
    return fleet.urls["eu-west-1"] if request.param == "region" else fleet.gateway_url


def client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"))


def v1_predictions(fleet, rows) -> list[float]:
    answer = requests.post(
        f"{fleet.urls['eu-west-1']}/v1/models/{MODEL.name}:predict", json={"instances": rows}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def test_tritonclient_reads_health_and_metadata(url):
    with client(url) as c:
        assert c.is_server_live() and c.is_server_ready()
        assert "binary_tensor_data" in c.get_server_metadata()["extensions"]
        meta = c.get_model_metadata(MODEL.name)
        assert meta["name"] == MODEL.name and meta["versions"] == [MODEL.version]
        assert meta["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 3]}]
        assert meta["inputs"][0]["shape"][1] == MODEL.n_features
        assert [o["name"] for o in meta["outputs"]] == ["predictions"]
        assert c.get_model_metadata(MODEL.name, MODEL.version)["name"] == MODEL.name
        assert c.is_model_ready(MODEL.name) and c.is_model_ready(MODEL.name, MODEL.version)
        assert not c.is_model_ready("nope") and not c.is_model_ready(MODEL.name, "9.9.9")


@pytest.mark.parametrize("datatype", list(DTYPES))
@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_infer_gives_the_v1_predictions(fleet, url, datatype, binary):
    data = np.array(ROWS, dtype=DTYPES[datatype]) if datatype != "INT64" else np.rint(ROWS)
    data = data.astype(DTYPES[datatype])
    expected = v1_predictions(fleet, data.tolist())
    tensor = triton.InferInput("input", list(data.shape), datatype)
    tensor.set_data_from_numpy(data, binary_data=binary)
    output = triton.InferRequestedOutput("predictions", binary_data=binary)
    with client(url) as c:
        result = c.infer(
            MODEL.name, [tensor], outputs=[output], request_id="r-1", headers=dict(CLIENT)
        )
        plain = c.infer(MODEL.name, [tensor], headers=dict(CLIENT))  # no outputs: all, as binary
    response = result.get_response()
    assert (response["model_name"], response["model_version"]) == (MODEL.name, MODEL.version)
    assert response["id"] == "r-1"
    assert result.as_numpy("predictions").tolist() == pytest.approx(expected, abs=1e-12)
    assert plain.as_numpy("predictions").tolist() == pytest.approx(expected, abs=1e-12)


def test_a_version_is_pinned_at_a_region(fleet):
    tensor = triton.InferInput("input", [1, 3], "FP64")
    tensor.set_data_from_numpy(np.array(ROWS[:1]))
    with client(fleet.urls["eu-west-1"]) as c:
        result = c.infer(MODEL.name, [tensor], model_version=MODEL.version)
        assert result.get_response()["model_version"] == MODEL.version
        with pytest.raises(InferenceServerException, match=r"version '9\.9\.9'"):
            c.infer(MODEL.name, [tensor], model_version="9.9.9")


def test_the_gateway_routes_a_pinned_version_to_the_regions_serving_it():
    """Pinned (V2 and V1): only regions given that version are tried, whatever the split."""
    with LiveFleet(REGIONS, time_scale=SCALE, seed=7) as f:
        assert run_deployment(REGIONS, MODEL, backend=f, health=FAST).outcome == "complete"
        f.run(f.deploy("eu-west-1", NEW))  # us-east-1 keeps the old version only
        f.run(f.set_split("eu-west-1", {MODEL.version: 50.0, NEW.version: 50.0}))
        near_us = {"X-Client-Region": "us-east-2"}
        document = requests.get(f"{f.gateway_url}/openapi.json").json()
        versions = document["components"]["schemas"]["Version"]["enum"]
        assert versions == sorted([MODEL.version, NEW.version])  # what the regions serve now
        with client(f.gateway_url) as c:
            for version in (NEW.version, MODEL.version) * 10:
                data = triton.InferInput("input", [1, 3], "FP64")
                data.set_data_from_numpy(np.array(ROWS[:1]))
                result = c.infer(MODEL.name, [data], model_version=version, headers=dict(near_us))
                assert result.get_response()["model_version"] == version
            data = triton.InferInput("input", [1, 3], "FP64")
            data.set_data_from_numpy(np.array(ROWS[:1]))
            with pytest.raises(InferenceServerException) as caught:
                c.infer(MODEL.name, [data], model_version="9.9.9", headers=dict(near_us))
            assert caught.value.status() == "404"
            assert f"{MODEL.version}, {NEW.version}" in caught.value.message()
        v1 = f"{f.gateway_url}/v1/models/{MODEL.name}/versions/{{}}:predict"
        for version, region in ((NEW.version, "eu-west-1"), (MODEL.version, "us-east-1")):
            model = {MODEL.version: MODEL, NEW.version: NEW}[version]
            answer = requests.post(v1.format(version), json={"instances": ROWS}, headers=near_us)
            assert answer.status_code == 200, answer.text
            assert answer.headers["X-Served-By"] == region  # us-east-1 is nearer us-east-2
            assert answer.headers["X-Model-Version"] == version
            assert answer.json()["predictions"] == pytest.approx(model.predict(ROWS))
        v1 = v1.format(NEW.version)
        auth = {"Authorization": f"Bearer {f.admin_token}"}
        outage = [{"kind": "outage"}]
        assert requests.patch(f"{f.urls['eu-west-1']}/admin/faults", json=outage, headers=auth).ok
        down = requests.post(v1, json={"instances": ROWS[:1]}, headers=near_us)
        assert down.status_code == 503  # the one region serving it is down; no other is tried
        assert down.headers["X-Tried"] == "eu-west-1"


def test_a_class_count_is_refused_not_ignored(url):
    """tritonclient's `class_count` asks for the classification extension, which is not
    served: a 400 naming it, not the plain scores as if they were class labels."""
    tensor = triton.InferInput("input", [1, 3], "FP64")
    tensor.set_data_from_numpy(np.array(ROWS[:1]))
    output = triton.InferRequestedOutput("predictions", class_count=1)
    with client(url) as c, pytest.raises(InferenceServerException) as caught:
        c.infer(MODEL.name, [tensor], outputs=[output], headers=dict(CLIENT))
    assert caught.value.status() == "400"
    assert "outputs[0].parameters.classification" in caught.value.message()


def test_an_unknown_model_raises_our_message(fleet, url):
    tensor = triton.InferInput("input", [1, 3], "FP64")
    tensor.set_data_from_numpy(np.array(ROWS[:1]))
    with client(url) as c, pytest.raises(InferenceServerException) as caught:
        c.infer("nope", [tensor], headers=dict(CLIENT))
    assert caught.value.status() == "404" and "no model 'nope'" in caught.value.message()


def tensor(**changes):
    return {"name": "input", "shape": [1, 3], "datatype": "FP64", "data": ROWS[0]} | changes


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [tensor(datatype="BYTES")]}, "inputs[0].datatype: expected one of FP32"),
        ({"inputs": [tensor(shape=[2, 3])]}, "3 values do not fill the shape (6)"),
        ({"inputs": [tensor(shape=[1, 4])]}, "inputs[0].shape: expected [N, 3]"),
        ({"inputs": [tensor(shape=[0, 3], data=[])]}, "inputs[0].shape: expected [N, 3]"),
        ({"inputs": [tensor(shape="1,3")]}, "inputs[0].shape"),
        ({}, "inputs: expected one input tensor"),
        ({"inputs": []}, "inputs: expected one input tensor"),
        ({"inputs": [tensor(name="x")]}, "inputs[0].name: model_v1 takes one input, 'input'"),
        ({"inputs": [{"name": "input", "shape": [1, 3]}]}, "missing field 'datatype'"),
        ({"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64"}]}, "'data'"),
        ({"inputs": [tensor(data=[1, True, 3])]}, "inputs[0].data[1]: expected a number"),
        (
            {"inputs": [tensor(shape=[2, 3], data=[[1, 2], [3, 4, 5, 6]])]},
            "data[0]: expected a row of 3",
        ),
        ({"inputs": [tensor(data=[[[1, 2, 3]]])]}, "inputs[0].data[0]: expected a row of 3"),
        ({"inputs": [tensor(data=[1, [2, 3]])]}, "inputs[0].data[0]: expected a row of 3"),
        ({"inputs": [tensor(data=[1, "2", 3])]}, "inputs[0].data[1]: expected a number"),
        ({"inputs": [tensor(datatype="INT64", data=[1, 2.5, 3])]}, "data[1]: expected an INT64"),
        ({"inputs": [tensor(datatype="FP32", data=[1, 1e300, 3])]}, "out of FP32's range"),
        ({"inputs": [tensor(datatype="FP32", data=[1, 10**40, 3])]}, "out of FP32's range"),
        ({"inputs": [tensor(datatype="FP32", data=[1, 10**400, 3])]}, "out of FP32's range"),
        ({"inputs": [tensor(data=7)]}, "inputs[0].data: expected a list"),
        ({"inputs": [tensor()], "outputs": [{"name": "y"}]}, "outputs[0].name"),
        ({"inputs": [tensor()], "parameters": []}, "parameters: expected an object"),
        ({"inputs": [tensor()], "id": 5}, "id: expected a string"),
        ({"inputs": [tensor()], "model": "x"}, "unknown field model"),
        ({"inputs": [tensor(colour="red")]}, "unknown field inputs[0].colour"),
        ([1, 2], "expected an inference request"),
    ],
)
def test_bad_inference_requests_are_400_naming_the_field(fleet, url, body, message):
    answer = requests.post(f"{url}/v2/models/{MODEL.name}/infer", json=body, headers=dict(CLIENT))
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


def binary_request(values: bytes, size: int, header: str | int = 0):
    """A binary request; `header`: the header's value, or how far off the JSON's length."""
    doc = json.dumps(
        {"inputs": [tensor(data=None) | {"parameters": {"binary_data_size": size}}]}
    ).replace(', "data": null', "")
    length = header if isinstance(header, str) else str(len(doc) + header)
    headers = CLIENT | {"Inference-Header-Content-Length": length}
    return doc.encode() + values, headers


@pytest.mark.parametrize(
    ("values", "size", "header", "message"),
    [
        (struct.pack("<3d", 1, 2, 3), 16, 0, "binary_data_size: 3 FP64 values take 24 bytes"),
        (struct.pack("<2d", 1, 2), 24, 0, "got binary_data_size 24 and 16 bytes"),
        (struct.pack("<3d", 1, float("nan"), 3), 24, 0, "value 1 is not a finite number"),
        (struct.pack("<3d", 1, 2, 3), 24, -5, "Inference-Header-Content-Length: the JSON"),
        (struct.pack("<3d", 1, 2, 3), 24, 4, "Inference-Header-Content-Length: the JSON"),
        (struct.pack("<3d", 1, 2, 3), 24, "0", "Inference-Header-Content-Length: the JSON"),
        (struct.pack("<3d", 1, 2, 3), 24, "x", "Inference-Header-Content-Length: expected"),
        (struct.pack("<3d", 1, 2, 3), 24, "99999", "Inference-Header-Content-Length"),
    ],
)
def test_bad_binary_tensors_are_400(fleet, url, values, size, header, message):
    body, headers = binary_request(values, size, header)
    answer = requests.post(f"{url}/v2/models/{MODEL.name}/infer", data=body, headers=headers)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.text


def test_binary_tensors_without_the_length_header_are_400_naming_the_header(fleet, url):
    body, headers = binary_request(struct.pack("<3d", 1, 2, 3), 24)
    del headers["Inference-Header-Content-Length"]
    answer = requests.post(f"{url}/v2/models/{MODEL.name}/infer", data=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert (
        "needs the JSON's length in bytes in the Inference-Header-Content-Length header"
        in (answer.json()["error"])
    )


def test_nan_literals_and_compressed_bodies_are_refused(fleet, url):
    nan = (
        '{"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [NaN, 1, 2]}]}'
    )
    answer = requests.post(f"{url}/v2/models/{MODEL.name}/infer", data=nan, headers=dict(CLIENT))
    assert answer.status_code == 400 and "NaN is not allowed" in answer.json()["error"]
    gzip = CLIENT | {"Content-Encoding": "gzip"}
    answer = requests.post(f"{url}/v2/models/{MODEL.name}/infer", data=b"x", headers=gzip)
    assert answer.status_code == 415 and "uncompressed" in answer.json()["error"]


def test_wrong_methods_are_405_with_allow_and_unknown_models_404(fleet, url):
    infer = requests.get(f"{url}/v2/models/{MODEL.name}/infer", headers=dict(CLIENT))
    assert infer.status_code == 405 and "POST" in infer.headers["Allow"].split(", ")
    live = requests.post(f"{url}/v2/health/live")
    assert live.status_code == 405 and "GET" in live.headers["Allow"]
    for path, named in (
        ("nope", "'nope'"),
        ("nope/ready", "'nope'"),
        (f"{MODEL.name}/versions/9.9.9", "'9.9.9'"),
        (f"{MODEL.name}/versions/9.9.9/ready", "'9.9.9'"),
    ):
        answer = requests.get(f"{url}/v2/models/{path}")
        assert answer.status_code == 404 and named in answer.json()["error"], path


def test_a_prediction_route_answers_options_and_other_methods_alike_on_region_and_gateway(fleet):
    paths = (f"/v1/models/{MODEL.name}:predict", f"/v2/models/{MODEL.name}/infer")
    seen = {}
    for where in (fleet.urls["eu-west-1"], fleet.gateway_url):
        for path in paths:
            for method in ("OPTIONS", "GET", "DELETE"):
                answer = requests.request(method, where + path, headers=dict(CLIENT))
                allow = {m.strip() for m in answer.headers["Allow"].split(",")}
                seen.setdefault((path, method), set()).add((answer.status_code, frozenset(allow)))
    for (path, method), answers in seen.items():
        assert answers == {(200 if method == "OPTIONS" else 405, frozenset({"POST", "OPTIONS"}))}, (
            path,
            method,
        )


def test_the_gateway_retries_a_faulted_region_for_v2(fleet):
    auth = {"Authorization": f"Bearer {fleet.admin_token}"}
    admin = f"{fleet.urls['eu-west-1']}/admin/faults"
    fault = [{"kind": "error_rate", "error_rate": 1.0}]
    assert requests.patch(admin, json=fault, headers=auth).status_code == 200
    try:
        body = {"inputs": [tensor()]}
        answer = requests.post(
            f"{fleet.gateway_url}/v2/models/{MODEL.name}/infer", json=body, headers=CLIENT
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Tried"] == "eu-west-1,us-east-1"
        assert (answer.headers["X-Served-By"], answer.headers["X-Attempts"]) == ("us-east-1", "2")
        assert answer.json()["outputs"][0]["data"] == pytest.approx(MODEL.predict(ROWS[:1]))
        metrics = requests.get(f"{fleet.urls['eu-west-1']}/metrics").text
        assert 'route="/v2/models/<name>/infer",status="503"' in metrics
    finally:
        requests.delete(admin, headers=auth)


def test_the_gateway_splits_v2_predictions_by_version_and_faults_scope_to_one():
    with LiveFleet(["eu-west-1"], time_scale=SCALE, seed=6) as f:
        run_deployment(["eu-west-1"], MODEL, backend=f, health=FAST)
        f.run(f.deploy("eu-west-1", NEW))
        f.run(f.set_split("eu-west-1", {MODEL.version: 50.0, NEW.version: 50.0}))
        seen: Counter[str] = Counter()
        with client(f.gateway_url) as c:
            for _ in range(60):
                tensor_in = triton.InferInput("input", [1, 3], "FP64")
                tensor_in.set_data_from_numpy(np.array(ROWS[:1]))
                result = c.infer(MODEL.name, [tensor_in], headers=dict(CLIENT))
                version = result.get_response()["model_version"]
                model = {MODEL.version: MODEL, NEW.version: NEW}[version]
                assert result.as_numpy("predictions").tolist() == pytest.approx(
                    model.predict(ROWS[:1])
                )
                seen[version] += 1
        assert set(seen) == {MODEL.version, NEW.version}
        region = f.urls["eu-west-1"]
        fault = [{"kind": "error_rate", "error_rate": 1.0, "version": NEW.version}]
        auth = {"Authorization": f"Bearer {f.admin_token}"}
        assert requests.patch(f"{region}/admin/faults", json=fault, headers=auth).ok
        body = {"inputs": [tensor()]}
        statuses = [
            requests.post(
                f"{region}/v2/models/{MODEL.name}/versions/{v}/infer", json=body, headers=h
            ).status_code
            for v, h in (
                (NEW.version, {}),
                (MODEL.version, {}),
                (NEW.version, {"X-Smoke-Test": "1"}),
            )
        ]
        assert statuses == [503, 200, 200]
