"""A region's model server: a Flask app factory, one app instance per region.

Routes (JSON everywhere): `GET /healthz`, `PUT|GET|DELETE /v1/models/<name>`,
`POST /v1/models/<name>:predict`, `GET|DELETE /v1/models/<name>/versions/<version>`,
`POST /v1/models/<name>/versions/<version>:predict` (TensorFlow Serving's paths, its request
forms and `GET .../metadata`), KServe V1's `GET /` (liveness), `GET /v1/models` and
`POST /v1/models/<name>:explain` (501: no explainer), the Open Inference Protocol's `/v2` routes
(`sandbox.live.v2`), `GET /metrics` (Prometheus), `GET|PUT|PATCH|DELETE /admin/faults` (bearer
token).

A region serves one model; deploying another version of it keeps the version it replaces, so a
rollout can send a share of the predictions to either version (the gateway's split) and roll
back by deleting the new one. Predictions carry the version that made them in `X-Model-Version`.
Faults scoped to a version hit the predictions of that version, except the smoke test's (a
request with `X-Smoke-Test`): they stand for a release that passes its smoke set. Faults are the
shared vocabulary of `sandbox.core.faults`, on a clock of emulated seconds: wall seconds divided by
`time_scale`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from sandbox.core.faults import KINDS, RegionFaults, parse_faults, spoil
from sandbox.core.models import Model, Serving, parse_model
from sandbox.errors import InvalidFault, InvalidModel
from sandbox.live import openapi, v2
from sandbox.live.forms import metadata, read_predict
from sandbox.live.http import (
    MAX_BODY_BYTES,
    BadRequest,
    error,
    install_json_errors,
    json_body,
    require_admin,
)
from sandbox.live.metrics import region_metrics

FAULT_ACTIONS = {"PATCH": "add", "PUT": "replace", "DELETE": "clear"}  # what /admin/faults did
HOLD_STEP_S = 0.02  # how often a slow fault looks whether its client is still there


@dataclass
class RegionState:
    """What one region serves (its model's versions) and its faults."""

    name: str
    faults: RegionFaults
    served: Serving = field(default_factory=Serving)
    lock: threading.Lock = field(default_factory=threading.Lock)


VERSIONED_PREDICT = re.compile(  # a prediction of one version (V1 or V2): the version
    r"/v1/models/[^/]+/versions/([^/]+):predict|/v2/models/[^/]+/versions/([^/]+)/infer"
)
PREDICT_ROUTES = frozenset(
    {
        "/v1/models/<name>:predict",
        "/v1/models/<name>/versions/<version>:predict",
        "/v2/models/<name>/infer",
        "/v2/models/<name>/versions/<version>/infer",
    }
)
UNFAULTED = ("/metrics", "/admin/faults", "/openapi.json")  # what faults are seen and undone by
ROUTES = tuple(  # route label by path, for faults and metrics; predictions first
    (label, re.compile(label.replace("<name>", "[^/]+").replace("<version>", "[^/]+")))
    for label in (
        "/healthz",
        "/v1/models/<name>:predict",
        "/v1/models/<name>/versions/<version>:predict",
        "/v2/models/<name>/infer",
        "/v2/models/<name>/versions/<version>/infer",
        "/",
        "/v1/models",
        "/v1/models/<name>:explain",
        "/v1/models/<name>/metadata",
        "/v1/models/<name>/versions/<version>/metadata",
        "/v1/models/<name>/versions/<version>",
        "/v1/models/<name>",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/<name>/ready",
        "/v2/models/<name>/versions/<version>/ready",
        "/v2/models/<name>/versions/<version>",
        "/v2/models/<name>",
        *UNFAULTED,
    )
)


class _Instrumented:
    """WSGI middleware around a region's Flask app: its faults before, its metrics after.

    Plain WSGI rather than Flask's request hooks: measured, the hooks cost a tenth of a plain
    prediction's time.
    """

    def __init__(
        self,
        app: Callable,
        state: RegionState,
        time_scale: float,
        requests: Counter,
        latency: Histogram,
    ) -> None:
        self.app = app
        self.state = state
        self.time_scale = time_scale
        self.requests = requests
        self.latency = latency
        self.children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        route = next((label for label, rx in ROUTES if rx.fullmatch(path)), "unmatched")
        seen: list[str] = []

        def respond(status: str, headers: list, exc_info: Any = None) -> Any:
            seen.append(status[:3])
            return start_response(status, headers, exc_info)

        result = self._faulted(route, environ, respond) or self.app(environ, respond)
        key = (route, seen[0] if seen else "500")
        if key not in self.children:
            self.children[key] = (self.requests.labels(*key), self.latency.labels(route))
        counter, histogram = self.children[key]
        counter.inc()
        histogram.observe((time.perf_counter() - started) / self.time_scale)  # emulated
        return result

    def _faulted(
        self, route: str, environ: dict[str, Any], respond: Callable
    ) -> list[bytes] | None:
        """The answer of an active fault, after its delay; None to let the request through."""
        if route in UNFAULTED:
            return None
        predict = route in PREDICT_ROUTES
        effect = self.state.faults.effect(predict, self._version(environ) if predict else None)
        if effect.delay_s:
            _hold(effect.delay_s * self.time_scale, environ.get("waitress.client_disconnected"))
        if effect.status is None:
            return None
        what = "is unavailable" if effect.status == 503 else "timed out"
        body = json.dumps({"error": f"{self.state.name} {what} (injected fault)"}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        respond(f"{effect.status} {HTTPStatus(effect.status).phrase}", headers)
        return [body]

    def _version(self, environ: dict[str, Any]) -> str | None:
        """The model version a prediction asks for (None for the smoke test's)."""
        if environ.get("HTTP_X_SMOKE_TEST"):
            return None
        match = VERSIONED_PREDICT.fullmatch(environ.get("PATH_INFO", ""))
        model = self.state.served.current
        return match.group(match.lastindex or 1) if match else model.version if model else None


def _hold(seconds: float, gone: Callable[[], bool] | None) -> None:
    """Wait `seconds`, or until the client has hung up: a request the caller gave up on (a
    gateway timeout, a probe timeout) must not keep a worker thread for a whole slow fault."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if gone is not None and gone():
            return
        time.sleep(min(left, HOLD_STEP_S))


def create_region_app(
    region: str,
    *,
    token: str,
    time_scale: float = 1.0,
    seed: int = 0,
    on_crash: Callable[[float | None], None] | None = None,
    on_faults: Callable[[str, list[dict[str, Any]]], None] | None = None,
) -> Flask:
    """A Flask app serving `region`; `on_crash` (process mode) kills the serving process;
    `on_faults(action, faults)` hears every change of its faults, whoever asked for it (`add`,
    `replace` or `clear`, with the faults given)."""
    app = Flask(f"sandbox.region.{region}")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    started = time.monotonic()
    state = RegionState(
        region, RegionFaults(lambda: (time.monotonic() - started) / time_scale, f"{seed}:{region}")
    )
    app.extensions["region"] = state
    registry = CollectorRegistry()
    requests_total, latency, fault_gauge = region_metrics(registry, time_scale)
    install_json_errors(app)

    app.wsgi_app = _Instrumented(  # type: ignore[method-assign]
        app.wsgi_app, state, time_scale, requests_total, latency
    )

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        model = state.served.current
        body = {
            "status": "ok" if model else "no model",
            "region": region,
            "model": model.name if model else None,
            "version": model.version if model else None,
        }
        return jsonify(body), 200 if model else 503

    @app.get("/")
    def live() -> ResponseReturnValue:
        return jsonify(status="alive")

    @app.get("/v1/models")
    def models() -> ResponseReturnValue:
        model = state.served.current
        return jsonify(models=[model.name] if model else [])

    def current(name: str, version: str | None = None) -> Model:
        model = state.served.get(name, version)
        if model is None:
            at = f" version {version!r}" if version is not None else ""
            raise BadRequest(f"no model {name!r}{at} in {region}", 404)
        return model

    def status(model: Model) -> ResponseReturnValue:
        return jsonify(
            name=model.name, version=model.version, ready=True, versions=sorted(state.served.kept)
        )

    @app.get("/v1/models/<name>")
    def model_status(name: str) -> ResponseReturnValue:
        return status(current(name))

    @app.get("/v1/models/<name>/versions/<version>")
    def version_status(name: str, version: str) -> ResponseReturnValue:
        return status(current(name, version))

    @app.get("/v1/models/<name>/metadata")
    @app.get("/v1/models/<name>/versions/<version>/metadata")
    def model_metadata(name: str, version: str | None = None) -> ResponseReturnValue:
        return jsonify(metadata(current(name, version)))

    @app.put("/v1/models/<name>")
    def deploy(name: str) -> ResponseReturnValue:
        require_admin(token)  # deployments change what every user gets: the fleet's alone
        try:
            model = parse_model(json_body(), f"PUT /v1/models/{name}")
        except InvalidModel as e:
            raise BadRequest(str(e)) from None
        if model.name != name:  # parse_model held the name to MODEL_NAME
            raise BadRequest(f"the artifact is {model.name!r}; PUT it to /v1/models/{model.name}")
        if state.faults.deploy_fails():
            return error(f"deployment to {region} failed (injected deploy_failures fault)", 503)
        with state.lock:
            replaced = state.served.deploy(model, state.faults.deploys_bad_build())
            versions = sorted(state.served.kept)
        body = {"name": model.name, "version": model.version, "ready": True}
        return jsonify(body | {"versions": versions}), 200 if replaced else 201

    @app.delete("/v1/models/<name>")
    def undeploy(name: str) -> ResponseReturnValue:
        require_admin(token)
        model = current(name)
        with state.lock:
            state.served.clear()
        return jsonify(name=model.name, version=model.version, ready=False, versions=[])

    @app.delete("/v1/models/<name>/versions/<version>")
    def withdraw(name: str, version: str) -> ResponseReturnValue:
        require_admin(token)
        model = current(name, version)
        with state.lock:
            state.served.withdraw(version)
            versions = sorted(state.served.kept)
        body = {"name": model.name, "version": model.version, "ready": False}
        return jsonify(body | {"versions": versions})

    @app.post("/v1/models/<name>:predict")
    def predict(name: str) -> ResponseReturnValue:
        return predict_with(current(name))

    @app.post("/v1/models/<name>/versions/<version>:predict")
    def predict_version(name: str, version: str) -> ResponseReturnValue:
        return predict_with(current(name, version))

    def predict_with(model: Model) -> ResponseReturnValue:
        form = read_predict(json_body(), model)
        response = jsonify({form.answer: predictions(model, form.instances, form.field)})
        response.headers["X-Model-Version"] = model.version
        return response

    def predictions(model: Model, instances: list[Any], field: str) -> list[float]:
        """What the region serves for `instances` (V1 and V2): a bad build's are spoilt."""
        try:
            predicted = model.predict(instances)
        except ValueError as e:
            raise BadRequest(f"{field}: {e}") from None
        if model.version in state.served.bad or state.faults.serves_bad():
            return spoil(predicted)
        return predicted

    @app.post("/v1/models/<name>:explain")
    def explain(name: str) -> ResponseReturnValue:
        model = current(name)
        message = f"{model.name} has no explainer: explanations are not served; POST :predict"
        return error(message, 501)

    app.register_blueprint(
        v2.region_routes(region, current, lambda: sorted(state.served.kept), predictions)
    )

    kinds = [kind for kind in KINDS if kind != "crash" or on_crash is not None]

    @app.get("/openapi.json")
    def openapi_document() -> ResponseReturnValue:
        model = state.served.current
        served = [model] if model else []
        versions = sorted(state.served.kept)
        return jsonify(openapi.region_document(region, served, versions, kinds))

    @app.get("/metrics")
    def metrics() -> Response:
        for kind in KINDS:
            fault_gauge.labels(kind).set(1 if state.faults.is_active(kind) else 0)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.route("/admin/faults", methods=["GET", "PUT", "PATCH", "DELETE"])
    def admin_faults() -> ResponseReturnValue:
        require_admin(token)
        if request.method in ("PUT", "PATCH"):
            try:
                faults = parse_faults(json_body(), "body")
            except InvalidFault as e:
                raise BadRequest(str(e)) from None
            # the crash acted on is the one kept: a later fault of one kind wins
            crash = next((f for f in reversed(faults) if f.kind == "crash"), None)
            if crash is not None and on_crash is None:
                raise BadRequest("a crash needs process mode: start the fleet with --processes")
            if request.method == "PUT":
                state.faults.replace(faults)
            else:
                state.faults.add(faults)
            if on_faults is not None:
                on_faults(FAULT_ACTIONS[request.method], [f.to_dict() for f in faults])
            if crash is not None and on_crash is not None:
                on_crash(crash.duration_s)
        elif request.method == "DELETE":
            state.faults.clear()
            if on_faults is not None:
                on_faults(FAULT_ACTIONS["DELETE"], [])
        return jsonify(faults=state.faults.active())

    return app
