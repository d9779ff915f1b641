"""Bad input over every HTTP route of a live fleet: each gets a clear JSON error with the right
status, never a 500, and changes nothing; then generated requests, where the only acceptable
answers are success or a clean 4xx."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import HealthPolicy, run_deployment
from sandbox.core.models import load_model
from sandbox.live.fleet import LiveFleet
from sandbox.live.http import MAX_BODY_BYTES
from sandbox.live.server import SERVER_BODY_LIMIT, address

REGIONS = ["us-east-1", "eu-west-1"]
QUIET = HealthPolicy(interval_s=3600, timeout_s=2, failure_threshold=3, healthy_threshold=3)
MODEL = load_model("model_v1")
ARTIFACT = MODEL.to_dict()
ROW = list(MODEL.smoke_instances[0])
JSON = {"Content-Type": "application/json"}
ADMIN = {"Authorization": "Bearer <the fleet's token>"}  # the test puts the fleet's token there
ADMIN_JSON = {**JSON, **ADMIN}
PREDICT = "/v1/models/model_v1:predict"


def started_fleet():
    fleet = LiveFleet(REGIONS, time_scale=0.02, seed=5).start()
    d = run_deployment(REGIONS, MODEL, backend=fleet, health=QUIET)
    assert d.outcome == "complete"
    return fleet


@pytest.fixture(scope="module")
def fleet():
    fleet = started_fleet()
    yield fleet
    fleet.close()


def artifact(**changes):
    doc = {**ARTIFACT, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def faults(n: int = 1) -> list:
    return [{"kind": "latency", "latency_ms": 10}] * n


# (target, method, path, headers, body, status, what the error says)
CASES = [
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, "{", 400, "not valid JSON"),
    (
        "region",
        "PUT",
        "/v1/models/model_v1",
        {**ADMIN, "Content-Type": "text/plain"},
        artifact(),
        415,
        "",
    ),
    (
        "region",
        "PUT",
        "/v1/models/model_v1",
        ADMIN,
        artifact(),
        415,
        "Content-Type: application/json",
    ),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, artifact(weights=None), 400, "weights"),
    (
        "region",
        "PUT",
        "/v1/models/model_v1",
        ADMIN_JSON,
        artifact(extra=1),
        400,
        "unknown field 'extra'",
    ),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, artifact(weights="heavy"), 400, "weights"),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, artifact(bias=[1]), 400, "bias"),
    (
        "region",
        "PUT",
        "/v1/models/model_v1",
        ADMIN_JSON,
        '{"bias": NaN}',
        400,
        "NaN is not allowed",
    ),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, '{"bias": Infinity}', 400, "Infinity"),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, "[1, 2]", 400, "expected"),
    (
        "region",
        "PUT",
        "/v1/models/other",
        ADMIN_JSON,
        artifact(),
        400,
        "PUT it to /v1/models/model_v1",
    ),
    ("region", "PUT", "/v1/models/model_v1", ADMIN_JSON, " " * (MAX_BODY_BYTES + 1), 413, "over"),
    ("region", "POST", PREDICT, JSON, "{", 400, "not valid JSON"),
    ("region", "POST", PREDICT, {"Content-Type": "text/plain"}, '{"instances": []}', 415, ""),
    ("region", "POST", PREDICT, JSON, "{}", 400, "instances"),
    ("region", "POST", PREDICT, JSON, json.dumps({"instances": [ROW], "x": 1}), 400, "'x'"),
    ("region", "POST", PREDICT, JSON, '{"instances": "all"}', 400, "instances"),
    ("region", "POST", PREDICT, JSON, '{"instances": []}', 400, "instances"),
    ("region", "POST", PREDICT, JSON, '{"instances": [[1, 2]]}', 400, "instance 0"),
    ("region", "POST", PREDICT, JSON, '{"instances": [[NaN, 1, 1]]}', 400, "NaN"),
    ("region", "POST", PREDICT, JSON, '{"instances": [[1e999, 1, 1]]}', 400, "finite"),
    ("region", "POST", PREDICT, JSON, '{"instances": [["1", 1, 1]]}', 400, "finite"),
    ("region", "POST", PREDICT, JSON, "[" * 100_000, 400, "nested too deeply"),
    ("region", "POST", PREDICT, JSON, " " * (MAX_BODY_BYTES + 1), 413, "over"),
    ("region", "POST", "/v1/models/nope:predict", JSON, "{}", 404, "no model 'nope'"),
    ("region", "GET", "/v1/models/nope", {}, None, 404, "no model 'nope'"),
    ("region", "DELETE", "/v1/models/nope", ADMIN, None, 404, "no model 'nope'"),
    ("region", "GET", "/nope", {}, None, 404, "no route /nope"),
    ("region", "GET", PREDICT, {}, None, 405, "GET is not allowed"),
    ("region", "PUT", PREDICT, JSON, artifact(), 405, "PUT is not allowed"),
    ("region", "POST", "/healthz", {}, None, 405, "POST is not allowed"),
    ("region", "DELETE", "/metrics", {}, None, 405, "DELETE is not allowed"),
    ("region", "GET", "/admin/faults", {}, None, 401, "admin token"),
    ("region", "PUT", "/admin/faults", {**JSON, "Authorization": "Bearer no"}, "[]", 401, "token"),
    ("region", "DELETE", "/admin/faults", {"Authorization": "Basic x"}, None, 401, "token"),
    ("region", "PUT", "/v1/models/model_v1", JSON, artifact(), 401, "admin token"),
    ("region", "PUT", "/v1/models/model_v1", {**JSON, "Authorization": "Bearer no"}, "{", 401, ""),
    ("region", "DELETE", "/v1/models/model_v1", {}, None, 401, "admin token"),
    ("region", "DELETE", "/v1/models/model_v1/versions/1.0.0", {}, None, 401, "admin token"),
]
ADMIN_CASES = [  # with the right token
    ('[{"kind": "error_rate", "error_rate": 1.5}]', 400, "error_rate"),
    ('[{"kind": "meteor"}]', 400, "meteor"),
    ('[{"kind": "outage", "duration_s": -1}]', 400, "duration_s"),
    ('[{"kind": "latency", "latency_ms": NaN}]', 400, "NaN"),
    ('[{"kind": "latency"}]', 400, "latency_ms"),
    ('[{"kind": "latency", "latency_ms": 5, "color": "red"}]', 400, "color"),
    ('{"kind": "outage"}', 400, "list"),
    ('[{"kind": "crash"}]', 400, "--processes"),
    ("[", 400, "not valid JSON"),
    (json.dumps(faults(40_000)), 413, "over"),
]
GATEWAY_CASES = [
    ("POST", PREDICT, JSON, '{"instances": []}', 400, "X-Client-Region"),
    ("POST", PREDICT, {**JSON, "X-Client-Region": "mars-1"}, "{}", 400, "unknown region"),
    ("GET", PREDICT, {"X-Client-Region": "eu-west-1"}, None, 405, "POST"),
    ("POST", PREDICT, {**JSON, "X-Client-Region": "eu-west-1"}, "{", 400, "not valid JSON"),
    ("POST", PREDICT, {**JSON, "X-Client-Region": "eu-west-1"}, "{}", 400, "instances"),
    ("POST", "/v1/models/nope:predict", {**JSON, "X-Client-Region": "eu-west-1"}, "{}", 404, ""),
    (
        "POST",
        PREDICT,
        {**JSON, "X-Client-Region": "eu-west-1"},
        " " * (MAX_BODY_BYTES + 1),
        413,
        "",
    ),
    ("POST", PREDICT, {"X-Client-Region": "eu-west-1"}, '{"instances": []}', 415, "Content-Type"),
    ("POST", "/v1/models/%C3%A9:predict", {**JSON, "X-Client-Region": "eu-west-1"}, "{}", 404, ""),
    ("POST", "/v1/models/a%20b:predict", {**JSON, "X-Client-Region": "eu-west-1"}, "{}", 404, ""),
    ("POST", "/v1/models/m%0d%0a:predict", {**JSON, "X-Client-Region": "eu-west-1"}, "{}", 404, ""),
    (
        "POST",
        "/v1/models/model_v1%23:predict",
        {**JSON, "X-Client-Region": "eu-west-1"},
        "{}",
        404,
        "'model_v1#'",
    ),
    ("GET", "/nope", {}, None, 404, "no route /nope"),
    ("POST", "/routing", {}, None, 405, "POST is not allowed"),
    ("DELETE", "/healthz", {}, None, 405, "DELETE is not allowed"),
]


def assert_unchanged(fleet) -> None:
    """The model still serves everywhere, no fault is set, the gateway still routes."""
    for region, url in fleet.urls.items():
        status = requests.get(f"{url}/v1/models/model_v1", timeout=5)
        assert status.status_code == 200 and status.json()["version"] == MODEL.version, region
        assert fleet.admin("GET", region).json() == {"faults": []}
    # the gateway still routes users near eu-west-2 to eu-west-1; on a loaded machine a probe of
    # this fast fleet (0.02 wall s per s) may time out and mark a region down for a few of its
    # intervals (well under a wall second), so a few tries are allowed, never a lasting change
    deadline = time.monotonic() + 10
    while True:
        answer = requests.post(
            f"{fleet.gateway_url}{PREDICT}",
            json={"instances": [ROW]},
            headers={"X-Client-Region": "eu-west-2"},
            timeout=5,
        )
        served = answer.headers.get("X-Served-By")
        if (answer.status_code, served) == (200, "eu-west-1") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200 and served == "eu-west-1"


def test_requests_for_names_no_region_serves_eject_no_region(fleet):
    url = f"{fleet.gateway_url}/v1/models/a%20b:predict"
    for _ in range(12):  # more than the outlier detector's 5 errors in a row
        answer = requests.post(url, data="{}", headers={**JSON, "X-Client-Region": "eu-west-1"})
        assert answer.status_code == 404 and "X-Served-By" not in answer.headers
    routing = requests.get(f"{fleet.gateway_url}/routing", timeout=5).json()
    assert all(state["healthy"] for state in routing["health"].values()), routing["health"]
    assert requests.get(f"{fleet.gateway_url}/healthz", timeout=5).status_code == 200


def assert_json_error(answer: requests.Response, status: int, says: str) -> None:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["Content-Type"].startswith("application/json")
    message = answer.json()["error"]
    assert says in message
    if status == 405:  # says which methods the route takes (RFC 9110, 15.5.6)
        assert answer.headers.get("Allow"), answer.request.method


@pytest.mark.parametrize(("target", "method", "path", "headers", "body", "status", "says"), CASES)
def test_a_region_refuses_bad_input_clearly_and_changes_nothing(
    fleet, target, method, path, headers, body, status, says
):
    url = fleet.urls["us-east-1"]
    token = f"Bearer {fleet.admin_token}"
    headers = {k: token if v == ADMIN["Authorization"] else v for k, v in headers.items()}
    answer = requests.request(method, f"{url}{path}", headers=headers, data=body, timeout=10)
    assert_json_error(answer, status, says)
    assert_unchanged(fleet)


@pytest.mark.parametrize(("body", "status", "says"), ADMIN_CASES)
def test_bad_faults_are_refused_and_the_old_ones_kept(fleet, body, status, says):
    headers = {**JSON, "Authorization": f"Bearer {fleet.admin_token}"}
    for method in ("PUT", "PATCH"):
        url = f"{fleet.urls['us-east-1']}/admin/faults"
        answer = requests.request(method, url, headers=headers, data=body, timeout=10)
        assert_json_error(answer, status, says)
    assert_unchanged(fleet)


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "says"), GATEWAY_CASES)
def test_the_gateway_refuses_bad_input_clearly_and_changes_nothing(
    fleet, method, path, headers, body, status, says
):
    url = f"{fleet.gateway_url}{path}"
    answer = requests.request(method, url, headers=headers, data=body, timeout=10)
    assert_json_error(answer, status, says)
    assert_unchanged(fleet)


@pytest.mark.parametrize("target", ["region", "gateway"])
def test_a_body_over_the_servers_limit_is_refused_before_it_is_read(fleet, target):
    url = fleet.gateway_url if target == "gateway" else fleet.urls["eu-west-1"]
    headers = {**JSON, "X-Client-Region": "eu-west-1"}
    body = b" " * (SERVER_BODY_LIMIT + 1)
    answer = requests.post(f"{url}{PREDICT}", headers=headers, data=body, timeout=30)
    assert answer.status_code == 413  # waitress's own answer, in plain text
    assert_unchanged(fleet)


# -- generated requests ---------------------------------------------------------------------

PATHS = [
    *("/healthz", "/metrics", "/admin/faults", "/routing", "/v1/models/model_v1"),
    *(PREDICT, "/v1/models/x:predict", "/v1/models/", "/v1/models/model_v1/extra", "//"),
    *("/v1/models/model_v1/versions/1.0.0:predict", "/v1/models/model_v1/versions/9:predict"),
    *("/v1/models/model_v1/versions/1.0.0", "/v1/models/model_v1/versions/"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.fixed_dictionaries({"instances": json_values}).map(lambda v: json.dumps(v).encode()),
)
segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:%~", max_size=12)


@pytest.fixture(scope="module")
def fuzzed():
    fleet = started_fleet()
    yield fleet
    fleet.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.sampled_from(["us-east-1", "eu-west-1", "gateway"]),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    path=st.one_of(st.sampled_from(PATHS), st.lists(segment, max_size=4).map("/".join)),
    content_type=st.sampled_from(
        [None, "application/json", "text/plain", "application/x-www-form-urlencoded"]
    ),
    client=st.sampled_from([None, "eu-west-1", "ap-south-1", "mars", ""]),
    token=st.sampled_from([None, "Bearer wrong", "Bearer", "Token x"]),
    body=bodies,
)
def test_generated_requests_get_success_or_a_clean_4xx(
    fuzzed, target, method, path, content_type, client, token, body
):
    url = fuzzed.gateway_url if target == "gateway" else fuzzed.urls[target]
    headers = {}
    for name, value in (
        ("Content-Type", content_type),
        ("X-Client-Region", client),
        ("Authorization", token),
    ):
        if value is not None:
            headers[name] = value
    path = path if path.startswith("/") else f"/{path}"
    answer = requests.request(method, f"{url}{path}", headers=headers, data=body, timeout=10)
    status = answer.status_code
    # No generated request carries the token, so none deploys, undeploys or injects; only a
    # health report may be a 503 (the gateway's, while a loaded machine's probes time out).
    assert status < 500 or (status == 503 and path == "/healthz"), (status, answer.text[:300])
    if status >= 400 and method != "HEAD" and path != "/healthz":  # /healthz: its report
        assert "error" in answer.json()


@pytest.mark.parametrize("path", [PREDICT, "/v2/models/model_v1/infer"])
def test_a_head_on_a_predict_route_gets_headers_only_and_the_connection_stays_usable(fleet, path):
    host, port = address(fleet.gateway_url)
    body = json.dumps({"instances": [[12.0, 70.0, 1.0]]})
    head = f"HEAD {path} HTTP/1.1\r\nHost: x\r\nX-Client-Region: eu-west-1\r\n\r\n"
    post = (
        f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nX-Client-Region: eu-west-1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n{body}"
    )
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall((head + post).encode())  # one kept-alive connection, in turn
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    first, rest = received.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 405 ") and b"Allow: POST" in first
    assert rest.startswith(b"HTTP/1.1 200 "), rest[:80]  # no HEAD body before the next answer
