"""Names that work everywhere: a model name loads if and only if a live fleet deploys it and the
gateway answers predictions for it, refused up front with the same rule on every path; header
values and paths sent as UTF-8 are read and quoted as sent, and never echoed into a header."""

from __future__ import annotations

import http.client
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import run_deployment
from sandbox.core.models import MODEL_NAME, MODEL_NAME_RULE, Model, load_model, parse_model
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidModel
from sandbox.live.fleet import LiveFleet
from sandbox.live.http import MAX_BODY_BYTES
from tests.support import port_of

REGIONS = ["us-east-1", "eu-west-1"]
BASE = load_model("model_v1")
BODY = {"instances": [list(BASE.smoke_instances[0])]}
ARABIC_ONE = "\u0661"  # a digit to str.isdigit, not to HTTP

names = st.one_of(
    st.from_regex(MODEL_NAME, fullmatch=True),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20),
    st.sampled_from(["my model", "модель", ".", "..", "a..b", "-a", "_a", "v1:predict", "a/b"]),
    st.sampled_from(["m" * 128, "m" * 129, "model_v1.2-rc", "0"]),
)


@pytest.fixture(scope="module")
def fleet():
    with LiveFleet(REGIONS, time_scale=0.02, seed=5) as f:
        assert run_deployment(REGIONS, BASE, backend=f).outcome == "complete"
        yield f


@pytest.fixture
def v1(fleet):
    """The module's fleet serving model_v1 again in every region (the property deploys others)."""
    for region in REGIONS:
        assert fleet.run(fleet.deploy(region, BASE)) is True
    return fleet


def refusal(name: str) -> str | None:
    """parse_model's refusal of model_v1 renamed `name`, without its source; None: accepted."""
    try:
        parse_model(BASE.to_dict() | {"name": name}, "src")
    except InvalidModel as e:
        return str(e).removeprefix("src: ")
    return None


def gateway_predict(fleet, path_name: str) -> requests.Response:
    return requests.post(
        f"{fleet.gateway_url}/v1/models/{path_name}:predict",
        json=BODY,
        headers={"X-Client-Region": "us-east-1"},
        timeout=30,
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names)
def test_a_name_loads_iff_the_live_fleet_deploys_it_and_the_gateway_answers(fleet, name):
    refused = refusal(name)
    if refused is None:
        model = replace(BASE, name=name)
        for region in REGIONS:
            assert fleet.run(fleet.deploy(region, model)) is True
        answer = gateway_predict(fleet, name)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == pytest.approx(model.predict(BODY["instances"]))
        return
    assert refused.startswith("field 'name': expected ")
    assert f"{MODEL_NAME_RULE} (it goes in URLs)" in refused or "non-empty string" in refused
    # the simulation refuses it before anything runs, as loading the file does
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        path.write_text(json.dumps(BASE.to_dict() | {"name": name}), encoding="utf-8")
        with pytest.raises(InvalidModel) as loading:
            run_deployment(["us-east-1"], str(path))
        assert str(loading.value) == f"{path}: {refused}"
    # a region refuses the same document with the same words
    put = requests.put(
        f"{fleet.urls['us-east-1']}/v1/models/probe",
        json=BASE.to_dict() | {"name": name},
        headers={"Authorization": f"Bearer {fleet.admin_token}"},
        timeout=30,
    )
    assert put.status_code == 400
    assert put.json()["error"] == f"PUT /v1/models/probe: {refused}"
    # and the gateway answers a prediction of it itself: no such model, blaming no region
    answer = gateway_predict(fleet, quote(name, safe=""))
    assert answer.status_code in (404, 405), answer.text
    assert "error" in answer.json()


def test_the_gateway_quotes_a_utf8_model_name_as_sent(fleet):
    answer = gateway_predict(fleet, quote("модель"))
    assert answer.status_code == 404
    assert answer.json()["error"] == f"no model 'модель': names are {MODEL_NAME_RULE}"


def test_a_hand_built_model_a_region_refuses_fails_with_the_regions_reason(fleet):
    bad = replace(BASE, name="my model")
    with pytest.raises(InvalidModel) as caught:
        fleet.run(fleet.deploy("us-east-1", bad))
    expected = refusal("my model")
    assert str(caught.value) == (
        f"us-east-1 refused my model {BASE.version}: PUT /v1/models/my model: {expected}"
    )
    # a body over the regions' limit: the region's own reason, not a bare failure
    weights = tuple(1.0 / (i + 3) for i in range(MAX_BODY_BYTES // 10))
    huge = Model("huge", "1", "linear", weights, 0.0, ((0.0,) * len(weights),), (0.0,))
    with pytest.raises(InvalidModel) as caught:
        fleet.run(fleet.deploy("eu-west-1", huge))
    reason = f"request body over {MAX_BODY_BYTES} bytes"
    assert str(caught.value) == f"eu-west-1 refused huge 1: {reason}"


@pytest.mark.parametrize("live", [[], ["--live"]])
def test_the_command_line_refuses_a_bad_name_with_status_2(invoke, tmp_path, live):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(BASE.to_dict() | {"name": "my model"}), encoding="utf-8")
    result = invoke("deploy", "--regions", "us-east-1", *live, str(path))
    assert result.exit_code == 2
    assert f"Invalid value for 'MODEL': {path}: {refusal('my model')}" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output


def raw_predict(fleet, client: bytes) -> tuple[int, dict, list[tuple[str, str]]]:
    """A prediction through the gateway with `X-Client-Region` sent as these raw bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(fleet.gateway_url), timeout=30)
    try:
        connection.putrequest("POST", "/v1/models/model_v1:predict")
        body = json.dumps(BODY).encode()
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("X-Client-Region", client)
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read()), answer.getheaders()
    finally:
        connection.close()


def unknown(name: str) -> str:
    try:
        RegionCatalog.default().check(name)
    except KeyError as e:
        return f"X-Client-Region: {e}"
    raise AssertionError(f"{name} is a region")


@pytest.mark.parametrize(
    ("sent", "meant"),
    [
        ("東京".encode(), "東京"),
        ("Zürich".encode(), "Zürich"),
        ("München".encode("latin-1"), "München"),
    ],
)
def test_a_client_region_is_read_as_sent_utf8_or_latin1(v1, sent, meant):
    status, body, headers = raw_predict(v1, sent)
    assert status == 400
    assert body == {"error": unknown(meant)}
    assert all(value.isascii() for _, value in headers)
    via_requests = requests.post(
        f"{v1.gateway_url}/v1/models/model_v1:predict",
        json=BODY,
        headers={"X-Client-Region": sent},
        timeout=30,
    )
    assert via_requests.status_code == 400
    assert via_requests.json() == {"error": unknown(meant)}


def test_a_known_region_sent_as_bytes_is_served_with_ascii_headers(v1):
    status, body, headers = raw_predict(v1, b"eu-west-1")
    assert status == 200 and len(body["predictions"]) == 1
    named = dict(headers)
    assert named["X-Served-By"] in REGIONS
    assert all(value.isascii() for _, value in headers)


def test_a_flask_route_quotes_a_utf8_header_as_sent(v1):
    """A region's V2 route: the binary extension's length in Arabic-Indic digits is quoted as
    sent and refused (a length is ASCII digits)."""
    answer = requests.post(
        f"{v1.urls['us-east-1']}/v2/models/model_v1/infer",
        data=b"{}",
        headers={"Inference-Header-Content-Length": ARABIC_ONE.encode()},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json()["error"].endswith(f"got '{ARABIC_ONE}'")
