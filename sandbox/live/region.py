"""A region's model server: a Flask app factory, one app instance per region.

Routes (JSON everywhere): `GET /healthz`, `PUT|GET|DELETE /v1/models/<name>`,
`POST /v1/models/<name>:predict`, `GET /metrics` (Prometheus), `GET|PUT|PATCH|DELETE /admin/faults`
(bearer token). Faults are the shared vocabulary of `sandbox.faults`, on a clock of emulated
seconds: wall seconds divided by `time_scale`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from sandbox.errors import InvalidFault, InvalidModel
from sandbox.faults import KINDS, RegionFaults, parse_faults, spoil
from sandbox.live.http import (
    MAX_BODY_BYTES,
    BadRequest,
    bearer_ok,
    error,
    install_json_errors,
    json_body,
)
from sandbox.models import Model, parse_model

MAX_INSTANCES = 1000
MODEL_NAME = re.compile(r"[A-Za-z0-9._-]+")
UNFAULTED = ("metrics", "admin_faults")  # endpoints that faults never touch


@dataclass
class RegionState:
    """What one region serves: its model (one at a time), whether it is a bad build, its faults."""

    name: str
    faults: RegionFaults
    model: Model | None = None
    bad_build: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram, Gauge]:
    requests = Counter(
        "mrsandbox_requests", "Requests by route and status", ["route", "status"], registry=registry
    )
    latency = Histogram(
        "mrsandbox_request_seconds", "Request latency in wall seconds", ["route"], registry=registry
    )
    faults = Gauge(
        "mrsandbox_fault_active",
        "1 while a fault of this kind is active",
        ["kind"],
        registry=registry,
    )
    return requests, latency, faults


def create_region_app(
    region: str,
    *,
    token: str,
    time_scale: float = 1.0,
    seed: int = 0,
    on_crash: Callable[[float | None], None] | None = None,
) -> Flask:
    """A Flask app serving `region`; `on_crash` (process mode) kills the serving process."""
    app = Flask(f"sandbox.region.{region}")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    started = time.monotonic()
    state = RegionState(
        region, RegionFaults(lambda: (time.monotonic() - started) / time_scale, f"{seed}:{region}")
    )
    app.extensions["region"] = state
    registry = CollectorRegistry()
    requests_total, latency, fault_gauge = _metrics(registry)
    install_json_errors(app)

    @app.before_request
    def apply_faults() -> Any:
        g.started = time.perf_counter()
        if request.endpoint in UNFAULTED:
            return None
        effect = state.faults.effect(predict=request.endpoint == "predict")
        if effect.delay_s:
            time.sleep(effect.delay_s * time_scale)
        if effect.status == 503:
            return error(f"{region} is unavailable (injected fault)", 503)
        if effect.status == 504:
            return error(f"{region} timed out (injected fault)", 504)
        return None

    children: dict[tuple[str, int], tuple[Any, Any]] = {}  # label look-ups, once per pair

    @app.after_request
    def count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        key = (route, response.status_code)
        if key not in children:
            children[key] = (requests_total.labels(route, str(key[1])), latency.labels(route))
        counter, histogram = children[key]
        counter.inc()
        histogram.observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        model = state.model
        body = {
            "status": "ok" if model else "no model",
            "region": region,
            "model": model.name if model else None,
            "version": model.version if model else None,
        }
        return jsonify(body), 200 if model else 503

    def current(name: str) -> Model:
        model = state.model
        if model is None or model.name != name:
            raise BadRequest(f"no model {name!r} in {region}", 404)
        return model

    @app.get("/v1/models/<name>")
    def model_status(name: str) -> Any:
        model = current(name)
        return jsonify(name=model.name, version=model.version, ready=True)

    @app.put("/v1/models/<name>")
    def deploy(name: str) -> Any:
        try:
            model = parse_model(json_body(), f"PUT /v1/models/{name}")
        except InvalidModel as e:
            raise BadRequest(str(e)) from None
        if model.name != name:
            raise BadRequest(f"the artifact is {model.name!r}; PUT it to /v1/models/{model.name}")
        if not MODEL_NAME.fullmatch(name):
            raise BadRequest(f"model names use letters, digits, '.', '_' and '-'; got {name!r}")
        if state.faults.deploy_fails():
            return error(f"deployment to {region} failed (injected deploy_failures fault)", 503)
        with state.lock:
            replaced = state.model is not None and state.model.name == name
            state.model, state.bad_build = model, state.faults.deploys_bad_build()
        body = {"name": model.name, "version": model.version, "ready": True}
        return jsonify(body), 200 if replaced else 201

    @app.delete("/v1/models/<name>")
    def undeploy(name: str) -> Any:
        model = current(name)
        with state.lock:
            state.model, state.bad_build = None, False
        return jsonify(name=model.name, version=model.version, ready=False)

    @app.post("/v1/models/<name>:predict")
    def predict(name: str) -> Any:
        model = current(name)
        body = json_body()
        if not isinstance(body, dict) or "instances" not in body:
            raise BadRequest('expected {"instances": [[...], ...]}')
        instances = body["instances"]
        if not isinstance(instances, list) or not 1 <= len(instances) <= MAX_INSTANCES:
            raise BadRequest(f"instances: expected a list of 1 to {MAX_INSTANCES} instances")
        try:
            predictions = model.predict(instances)
        except ValueError as e:
            raise BadRequest(f"instances: {e}") from None
        if state.bad_build or state.faults.serves_bad():
            predictions = spoil(predictions)
        return jsonify(predictions=predictions)

    @app.get("/metrics")
    def metrics() -> Response:
        for kind in KINDS:
            fault_gauge.labels(kind).set(1 if state.faults.is_active(kind) else 0)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.route("/admin/faults", methods=["GET", "PUT", "PATCH", "DELETE"])
    def admin_faults() -> Any:
        if not bearer_ok(token):
            return error("missing or wrong admin token: send 'Authorization: Bearer <token>'", 401)
        if request.method in ("PUT", "PATCH"):
            try:
                faults = parse_faults(json_body(), "body")
            except InvalidFault as e:
                raise BadRequest(str(e)) from None
            crash = next((f for f in faults if f.kind == "crash"), None)
            if crash is not None and on_crash is None:
                raise BadRequest("a crash needs process mode: start the fleet with --processes")
            if request.method == "PUT":
                state.faults.replace(faults)
            else:
                state.faults.add(faults)
            if crash is not None and on_crash is not None:
                on_crash(crash.duration_s)
        elif request.method == "DELETE":
            state.faults.clear()
        return jsonify(faults=state.faults.active())

    return app
