"""The OpenAPI 3.1 documents of a region and the gateway: valid, true to the routes served, and
held to by the servers under schemathesis' generated requests (a bounded run of every check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify
from openapi_spec_validator import validate

from sandbox import HealthPolicy, run_deployment
from sandbox.core.faults import KINDS
from sandbox.core.models import load_model
from sandbox.live.fleet import LiveFleet
from sandbox.live.openapi import gateway_document, region_document
from sandbox.live.region import create_region_app
from sandbox.live.server import ServerThread

REGIONS = ["eu-west-1", "us-east-1"]
MODEL = load_model("model_v1")
FAST = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=3, healthy_threshold=2)
CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
ST = Path(sys.executable).with_name("st")
IGNORED = {"HEAD", "OPTIONS"}  # methods Flask answers on every route by itself


@pytest.fixture(scope="module")
def fleet():
    with LiveFleet(REGIONS, time_scale=0.02, seed=4) as f:
        assert run_deployment(REGIONS, MODEL, backend=f, health=FAST).outcome == "complete"
        yield f


def document(url: str) -> dict:
    answer = requests.get(f"{url}/openapi.json", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    return answer.json()


def operations(doc: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def routed(app, skip: str = "/dashboard") -> set[tuple[str, str]]:
    """Every (method, path) a Flask app routes, its `<x>` written `{x}` as OpenAPI does."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith(skip):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        found |= {(method, path) for method in rule.methods - IGNORED}
    return found


def test_the_documents_are_valid_openapi_3_1(fleet):
    for doc in (document(fleet.urls["eu-west-1"]), document(fleet.gateway_url)):
        validate(doc)
        assert doc["openapi"].startswith("3.1")
    validate(region_document("eu-west-1", [], [], KINDS))  # a region that serves nothing yet
    validate(gateway_document([MODEL, load_model("model_v2")], ["1.0.0"], ["eu-west-1"]))


def test_a_region_documents_exactly_the_routes_it_serves(fleet):
    app = create_region_app("eu-west-1", token="t")
    assert operations(document(fleet.urls["eu-west-1"])) == routed(app)


def test_the_gateway_documents_exactly_the_routes_it_serves(fleet):
    lean = {  # the gateway's own path for predictions, before Flask
        ("POST", f"/{protocol}/models/{{name}}{pinned}{verb}")
        for protocol, verb in (("v1", ":predict"), ("v2", "/infer"))
        for pinned in ("", "/versions/{version}")
    }
    assert operations(document(fleet.gateway_url)) == routed(fleet.app.control) | lean


def test_the_documents_describe_the_fleet_as_it_stands(fleet):
    region, gateway = document(fleet.urls["eu-west-1"]), document(fleet.gateway_url)
    for doc in (region, gateway):
        schemas = doc["components"]["schemas"]
        assert schemas["ModelName"]["enum"] == [MODEL.name]
        assert schemas["Version"]["enum"] == [MODEL.version]
        assert schemas["Row"]["minItems"] == schemas["Row"]["maxItems"] == MODEL.n_features
        assert schemas["NamedRow"]["required"] == list(MODEL.features)
        assert schemas["Columns"]["required"] == list(MODEL.features)
        # an inference request's model_name, if given, is its path's: the served model's name
        model_name = schemas["InferenceRequest"]["properties"]["model_name"]
        assert model_name == {"$ref": "#/components/schemas/ModelName"}
    faults = region["components"]["schemas"]["Fault"]["oneOf"]
    taken = [kind for kind in KINDS if kind != "crash"]  # a crash needs a region's own process
    assert [f["properties"]["kind"]["const"] for f in faults] == taken
    client = gateway["paths"]["/v2/models/{name}/infer"]["post"]["parameters"][-1]
    assert client["name"] == "X-Client-Region" and "eu-west-2" in client["schema"]["enum"]


def schemathesis(url: str, *args: str) -> subprocess.CompletedProcess:
    command = [
        str(ST),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        "20",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--seed",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def passed(run: subprocess.CompletedProcess) -> bool:
    """No failure (a warning, such as bodies the document cannot fully describe, is not one)."""
    summary = run.stdout.strip().splitlines()[-1]
    return run.returncode == 0 and "failure" not in summary and " in " in summary


def test_schemathesis_finds_no_issue_with_a_region(fleet):
    token = f"Authorization: Bearer {fleet.admin_token}"
    # the fleet's routes that change nothing: faults and deployments are checked on their own
    run = schemathesis(
        fleet.urls["eu-west-1"], "-H", token, "--exclude-method-regex", "PUT|PATCH|DELETE"
    )
    assert passed(run), run.stdout[-6000:]


def test_schemathesis_finds_no_issue_with_the_gateway(fleet):
    run = schemathesis(fleet.gateway_url, "-H", "X-Client-Region: eu-west-2")
    assert passed(run), run.stdout[-6000:]


def test_schemathesis_finds_no_issue_with_deployments_and_faults():
    """Deployments (PUT, DELETE) and faults, on a fleet of their own: they change what it serves."""
    with LiveFleet(["eu-west-1"], time_scale=0.02, seed=5) as own:
        assert run_deployment(["eu-west-1"], MODEL, backend=own, health=FAST).outcome == "complete"
        token = f"Authorization: Bearer {own.admin_token}"
        run = schemathesis(
            own.urls["eu-west-1"], "-H", token, "--include-method-regex", "PUT|PATCH|DELETE"
        )
        assert passed(run), run.stdout[-6000:]


def test_schemathesis_finds_no_issue_with_a_region_that_serves_nothing_yet():
    """Its document takes any model name and its health routes answer 503 (by design, named in
    the configuration)."""
    server = ServerThread(create_region_app("eu-west-1", token="t")).start()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 503
        token = "Authorization: Bearer t"
        run = schemathesis(server.url, "-H", token, "--exclude-method-regex", "PUT|PATCH|DELETE")
    finally:
        server.stop()
    assert passed(run), run.stdout[-6000:]


def test_a_region_under_an_outage_answers_as_its_document_says():
    """A fault's JSON error is among the answers the document gives every faulted route (its
    /healthz and /v2/health/ready too). The fault's 5xx is the point of it, and it answers
    every method alike, as an unreachable region would: those two checks are left out."""
    server = ServerThread(create_region_app("eu-west-1", token="t")).start()
    try:
        url, auth = server.url, {"Authorization": "Bearer t"}
        deployed = requests.put(
            f"{url}/v1/models/{MODEL.name}", json=MODEL.to_dict(), headers=auth, timeout=10
        )
        assert deployed.ok
        outage = [{"kind": "outage"}]
        assert requests.put(f"{url}/admin/faults", json=outage, headers=auth, timeout=10).ok
        assert requests.get(f"{url}/healthz", timeout=10).status_code == 503
        checks = "not_a_server_error,unsupported_method"
        run = schemathesis(
            url,
            "-H",
            "Authorization: Bearer t",
            "--include-method",
            "GET",
            "--exclude-checks",
            checks,
        )
    finally:
        server.stop()
    assert passed(run), run.stdout[-6000:]


def test_a_document_that_lies_is_caught():
    """The suite's schemathesis run fails a server whose answers differ from its document."""
    app = Flask("liar")
    doc = gateway_document([MODEL], [MODEL.version], ["eu-west-2"])

    @app.get("/openapi.json")
    def openapi():
        return jsonify(doc)

    @app.get("/v1/models")
    def models():
        return jsonify(models="not a list")

    server = ServerThread(app).start()
    try:
        run = schemathesis(server.url, "--include-path", "/v1/models")
    finally:
        server.stop()
    assert run.returncode != 0 and "Response violates schema" in run.stdout
