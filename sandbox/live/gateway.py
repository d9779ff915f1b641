"""The gateway: the multi-region front door, a WSGI app of its own.

`POST /v1/models/<name>:predict` (KServe V1) or `POST /v2/models/<name>/infer` (the Open
Inference Protocol) with `X-Client-Region` picks regions by the routing policy over the healthy
ones, waits the emulated round trip from the client to that region (scaled by
`time_scale`), forwards, and on a refused connection, a timeout, a 5xx or a 404 from a region
that lost the deployed model tries the next region.
Where a rollout split a region's predictions between model versions, the gateway picks the
version by weight and asks the region for it (`/v1/models/<name>/versions/<version>:predict`,
`/v2/models/<name>/versions/<version>/infer`); a prediction sent to such a path is pinned to that
version and tries only the regions the fleet gave it.
Answers carry `X-Served-By`, `X-Model-Version`, `X-Attempts`, `X-Tried` (the regions tried, in
order) and `X-Fail-Open: true` when no region was healthy.
`GET /routing` shows the policy, the health view and each client region's current choice;
`GET /metrics` counts forwards, retries and fail-opens and shows the health view to Prometheus
(`sandbox.live.metrics`); the models' status and metadata routes are `sandbox.live.gateway_models`.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST

from sandbox.core.attempts import Attempts
from sandbox.core.health import HealthView
from sandbox.core.models import MODEL_NAME, MODEL_NAME_RULE, Model, Serving
from sandbox.core.records import AttemptLog, percentile
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import REQUEST_TIMEOUT_S, Plan, Router, VersionSplit
from sandbox.core.timing import wall_timeout
from sandbox.errors import UnknownRegion
from sandbox.live.gateway_models import deployed, model_routes
from sandbox.live.http import (
    MAX_BODY_BYTES,
    BadRequest,
    install_json_errors,
    wsgi_text,
)
from sandbox.live.metrics import GatewayMetrics
from sandbox.live.openapi import gateway_document
from sandbox.live.server import address
from sandbox.live.upstream import Answer, Upstream

MIN_SLEEP_S = 0.0005  # shorter emulated round trips are not slept: such a sleep costs more
JSON = ("Content-Type", "application/json")
PREDICT_METHODS = "POST, OPTIONS"  # a prediction route's Allow, as on a region
SENT = (  # a prediction's request headers the region gets: it judges them
    ("Content-Type", "CONTENT_TYPE"),
    ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
    ("Inference-Header-Content-Length", "HTTP_INFERENCE_HEADER_CONTENT_LENGTH"),
)
KEPT = ("Content-Type", "Inference-Header-Content-Length")  # of a region's answer, passed on


class TrafficStats:
    """What the gateway saw in the last seconds, for the dashboard: each routed prediction's
    region, outcome and latency; apart, the predictions it answered itself without routing them
    (an unknown model, no X-Client-Region); and which region last served each client region."""

    OUTCOMES = ("ok", "failed", "refused")  # refused: a 4xx the request earned (the region works)

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._seen: deque[tuple[float, str, str, float]] = deque(maxlen=100_000)
        self._unrouted: deque[tuple[float, int, str]] = deque(maxlen=10_000)
        self.served: dict[str, str] = {}

    def add(self, region: str, outcome: str, latency_ms: float) -> None:
        """A routed prediction's attempt at `region` (`outcome`: one of `OUTCOMES`)."""
        with self._lock:
            self._seen.append((time.monotonic(), region, outcome, latency_ms))

    def refuse(self, status: int, reason: str) -> None:
        """A prediction the gateway answered itself with `status`, routed to no region."""
        with self._lock:
            self._unrouted.append((time.monotonic(), status, reason))

    def snapshot(self) -> dict[str, dict[str, float | None]]:
        """Per region over the window: attempts per second; the error rate of the answered and
        failed ones (None without any); refusals per second; p95 latency (ms) of the answered."""
        by_region: dict[str, list[tuple[float, str, str, float]]] = {}
        with self._lock:
            self._forget(self._seen)
            for seen in self._seen:
                by_region.setdefault(seen[1], []).append(seen)
        view: dict[str, dict[str, float | None]] = {}
        for region, mine in by_region.items():
            count = {o: sum(s[2] == o for s in mine) for o in self.OUTCOMES}
            judged = count["ok"] + count["failed"]
            p95 = percentile(sorted(s[3] for s in mine if s[2] == "ok"), 95)
            view[region] = {
                "rate_per_s": round(len(mine) / self.window_s, 2),
                "error_rate": round(count["failed"] / judged, 4) if judged else None,
                "refused_per_s": round(count["refused"] / self.window_s, 2),
                "p95_ms": round(p95, 1) if p95 is not None else None,
            }
        return view

    def unrouted(self) -> list[dict[str, Any]]:
        """Per status over the window: predictions answered without a region, with the last
        reason (e.g. 404 for a model the fleet does not serve)."""
        found: dict[int, dict[str, Any]] = {}
        with self._lock:
            self._forget(self._unrouted)
            for _, status, reason in self._unrouted:
                entry = found.setdefault(status, {"status": status, "count": 0})
                entry["count"] += 1
                entry["last"] = reason
        return [
            {"status": s, "rate_per_s": round(e["count"] / self.window_s, 2), "last": e["last"]}
            for s, e in sorted(found.items())
        ]

    def _forget(self, seen: deque[Any]) -> None:
        since = time.monotonic() - self.window_s
        while seen and seen[0][0] < since:  # older than the window: done with
            seen.popleft()


@dataclass
class GatewayState:
    """What the gateway routes by; the fleet fills it in as the flow goes."""

    urls: dict[str, str]
    catalog: RegionCatalog
    clock: Callable[[], float]  # emulated seconds, the stamp of every attempt
    time_scale: float = 1.0
    router: Router | None = None
    view: HealthView | None = None
    idle: dict[str, list[Upstream]] = field(default_factory=dict)  # connections, by region
    stats: TrafficStats = field(default_factory=TrafficStats)
    split: VersionSplit = field(default_factory=VersionSplit)
    attempts: AttemptLog = field(default_factory=AttemptLog)
    connections: list[Upstream] = field(default_factory=list)
    models: dict[str, Model] = field(default_factory=dict)  # by name: the last one deployed
    served: Mapping[str, Serving] = field(default_factory=dict)  # what the fleet put where
    metrics: GatewayMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = GatewayMetrics(
            list(self.urls), TrafficStats.OUTCOMES, self.time_scale, lambda: self.view
        )

    def forward(
        self, region: str, path: str, body: bytes, headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, bytes, Answer]:
        """Send a request to `region`: the status, body and headers of its answer; OSError or
        HTTPException when it cannot answer in time. The connection is a kept-alive one that no
        other request uses meanwhile, the last one put back first (so that as few stay open as
        requests go at once)."""
        idle = self.idle.setdefault(region, [])
        try:
            connection = idle.pop()
        except IndexError:  # all in use: one more
            host, port = address(self.urls[region])
            connection = Upstream(host, port, wall_timeout(REQUEST_TIMEOUT_S, self.time_scale))
            self.connections.append(connection)
        try:
            answer = connection.request(method, path, body, headers)
        finally:
            idle.append(connection)
        return answer.status, answer.body, answer

    def close(self) -> None:
        """Close every connection the gateway holds to the regions."""
        for connection in self.connections:
            connection.close()

    def serving(self, name: str, version: str) -> list[str]:
        """The regions the fleet gave `name` at `version`; `BadRequest` 404 when none."""
        among = [r for r, s in self.served.items() if s.get(name, version) is not None]
        if not among:
            held = sorted({v for s in self.served.values() if s.get(name) for v in s.kept})
            raise BadRequest(
                f"no region serves {name!r} version {version!r}; the fleet serves "
                f"{', '.join(held) or 'none'} (or leave /versions/<v> out: the fleet picks)",
                404,
            )
        return among

    def healthy(self) -> list[str]:
        routed = self.router.regions if self.router else []
        return self.view.healthy_regions() if self.view else routed

    def plan(self, client: str) -> Plan:
        if self.router is None:
            raise BadRequest("routing is not configured yet: run the deployment first", 503)
        error_rate = self.view.error_rate if self.view else (lambda region: 0.0)
        return self.router.plan(client, self.healthy(), error_rate)


PREDICT_PATH = re.compile(  # V1 | V2, each with a version pinned or not
    r"/v1/models/(?P<v1>[^/]+?)(?:/versions/(?P<v1_version>[^/]+))?:predict"
    r"|/v2/models/(?P<v2>[^/]+?)(?:/versions/(?P<v2_version>[^/]+))?/infer"
)
VERSIONED = {  # a version's predictions, by protocol
    "v1": "/v1/models/{}/versions/{}:predict",
    "v2": "/v2/models/{}/versions/{}/infer",
}


class Gateway:
    """The gateway's WSGI app: predictions on a lean path of their own, the rest through Flask.

    Flask's dispatch costs about as much as a whole prediction (`benchmarks/bench_live.py`), and
    every request through the gateway would pay it on top of the region's own.
    """

    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.control = _control_app(state)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        match = PREDICT_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return self.control(environ, start_response)
        protocol = "v1" if match["v1"] else "v2"
        try:
            status, body, headers = self._predict(
                environ, match[protocol], match[f"{protocol}_version"], VERSIONED[protocol]
            )
        except BadRequest as e:  # before any region was tried
            self.state.stats.refuse(e.status, str(e))
            body = json.dumps({"error": str(e)}).encode()
            status, headers = e.status, [*e.headers, JSON]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]  # HEAD: headers only

    def _predict(
        self, environ: dict[str, Any], name: str, pinned: str | None, versioned: str
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        """Route one prediction (`pinned` to a version, or the split's); `versioned`: the path
        template of one version's predictions."""
        state, started = self.state, time.perf_counter()
        if environ["REQUEST_METHOD"] == "OPTIONS":  # as Flask answers it on a region
            return 200, b"", [("Allow", PREDICT_METHODS)]
        if environ["REQUEST_METHOD"] != "POST":
            method = environ["REQUEST_METHOD"]
            raise BadRequest(f"{method} is not allowed; POST predictions", 405, PREDICT_METHODS)
        if not MODEL_NAME.fullmatch(name):  # no region serves it: answered here, blaming none
            raise BadRequest(f"no model {wsgi_text(name)!r}: names are {MODEL_NAME_RULE}", 404)
        client = wsgi_text(environ.get("HTTP_X_CLIENT_REGION", ""))
        if not client:
            raise BadRequest("missing header X-Client-Region: name the region the user is near")
        try:
            state.catalog.check(client)
        except UnknownRegion as e:
            raise BadRequest(f"X-Client-Region: {e}") from None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            raise BadRequest(f"request body over {MAX_BODY_BYTES} bytes", 413)
        body = environ["wsgi.input"].read(length)
        sent = {header: environ[key] for header, key in SENT if environ.get(key)}
        if state.router is None:
            raise BadRequest("routing is not configured yet: run the deployment first", 503)
        deployed(state.models, name)  # no region was given it: answered here, blaming none
        among = None if pinned is None else state.serving(name, pinned)
        request = Attempts(
            client, state.router, state.view, state.split, state.attempts, pinned, among
        )
        status, content, version, last, kept = 503, b"", None, "", [JSON]
        for region, version in request:
            delay = state.catalog.rtt_ms(client, region) / 1000.0 * state.time_scale
            if delay >= MIN_SLEEP_S:
                time.sleep(delay)
            path = versioned.format(name, version) if version else environ["PATH_INFO"]
            at, start = state.clock(), time.perf_counter()
            try:
                status, content, answer = state.forward(region, path, body, sent)
                version = answer.getheader("X-Model-Version") or version  # a fault's names none
                kept = [(h, v) for h in KEPT if (v := answer.getheader(h))]
            except (OSError, http.client.HTTPException) as e:
                status, content, last = 503, b"", f"{region}: {type(e).__name__}"
            else:
                last = f"{region}: {status}"
            took_ms = (time.perf_counter() - start) / state.time_scale * 1000
            # a region that answers 404 for a model the fleet deployed there has lost it: as a
            # 5xx, that fails the attempt (the next region is tried) and counts against it; any
            # other 4xx is the request's own fault, which the region answered rightly
            ok = status < 500 and status != 404
            outcome = "ok" if status < 400 else "refused" if ok else "failed"
            state.stats.add(region, outcome, took_ms)
            state.metrics.forwarded(region, outcome)
            request.record(ok, version, at, took_ms)
        answerer = request.region if request.answered else None
        state.metrics.answered(
            answerer, time.perf_counter() - started, request.count, request.fail_open
        )
        headers = []
        if request.answered:
            headers += kept
            headers.append(("X-Served-By", request.region))
            if version:
                headers.append(("X-Model-Version", version))
            state.stats.served[client] = request.region
        else:
            message = f"no region answered ({request.count} attempts; last {last})"
            status, content = 503, json.dumps({"error": message}).encode()
            headers.append(JSON)
        headers.append(("X-Attempts", str(request.count)))
        headers.append(("X-Tried", ",".join(request.plan[: request.count])))
        if request.fail_open:
            headers.append(("X-Fail-Open", "true"))
        return status, content, headers


def _control_app(state: GatewayState) -> Flask:
    """The gateway's other routes: /healthz, /routing and /metrics."""
    app = Flask("sandbox.gateway")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES  # the dashboard's controls take JSON bodies
    install_json_errors(app)
    app.register_blueprint(model_routes(state))

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        healthy = state.healthy()
        status = "ok" if healthy else "no healthy region"
        return jsonify(status=status, healthy_regions=healthy), 200 if healthy else 503

    @app.get("/routing")
    def routing() -> ResponseReturnValue:
        router = state.router
        choices = {}
        if router is not None:
            for region in state.catalog.names():
                plan, fail_open = state.plan(region)
                choices[region] = {"region": plan[0], "fail_open": fail_open}
        return jsonify(
            policy=router.policy.name if router else None,
            retries=router.policy.retries if router else None,
            order=list(router.policy.order) if router else [],
            weights=dict(router.policy.weights) if router else {},
            regions=router.regions if router else [],
            health=state.view.snapshot() if state.view else {},
            choices=choices,
            split={region: state.split.weights(region) for region in state.urls},
            dns_ttl_s=router.policy.dns_ttl_s if router else None,
        )

    @app.get("/openapi.json")
    def openapi_document() -> ResponseReturnValue:
        versions = sorted({v for served in state.served.values() for v in served.kept})
        models = list(state.models.values())
        return jsonify(gateway_document(models, versions, state.catalog.names()))

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(state.metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

    return app
