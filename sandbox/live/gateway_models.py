"""The gateway's model routes (KServe V1, TensorFlow Serving, the Open Inference Protocol): its
liveness and readiness, the models the fleet serves, and each model's readiness and metadata,
answered by the first healthy region that serves it (named in `X-Served-By`); a model or version
the fleet never gave a region is a 404, one no healthy region answers for a 503 (not ready).
"""

from __future__ import annotations

import http.client
from collections.abc import Collection
from typing import Protocol

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from sandbox.core.models import Model
from sandbox.live.http import BadRequest, error
from sandbox.live.upstream import Answer
from sandbox.live.v2 import server_metadata

MODEL_PATHS = (  # GET, answered by a healthy region that serves the model
    "/v1/models/<name>",
    "/v1/models/<name>/versions/<version>",
    "/v1/models/<name>/metadata",
    "/v1/models/<name>/versions/<version>/metadata",
    "/v2/models/<name>",
    "/v2/models/<name>/versions/<version>",
    "/v2/models/<name>/ready",
    "/v2/models/<name>/versions/<version>/ready",
)


class Fleet(Protocol):
    """What the routes ask of the gateway's state."""

    models: dict[str, Model]

    def healthy(self) -> list[str]: ...

    def serving(self, name: str, version: str) -> list[str]: ...

    def forward(
        self, region: str, path: str, body: bytes, headers: dict[str, str], method: str = ...
    ) -> tuple[int, bytes, Answer]: ...


def deployed(models: Collection[str], name: str) -> None:
    """`BadRequest` 404 unless the fleet deployed a model called `name`."""
    if name not in models:
        served = ", ".join(sorted(models)) or "nothing yet"
        raise BadRequest(f"no model {name!r} is deployed; the fleet serves {served}", 404)


def model_routes(fleet: Fleet) -> Blueprint:
    """The routes, over the gateway's state."""
    routes = Blueprint("models", __name__)

    @routes.get("/")
    def live() -> ResponseReturnValue:
        return jsonify(status="alive")

    @routes.get("/v2/health/live")
    def v2_live() -> ResponseReturnValue:
        return jsonify(live=True)

    @routes.get("/v2/health/ready")
    def v2_ready() -> ResponseReturnValue:
        if not fleet.healthy():
            return jsonify(error="no healthy region: the gateway cannot serve", ready=False), 503
        return jsonify(ready=True)

    @routes.get("/v2")
    def server() -> ResponseReturnValue:
        return jsonify(server_metadata("mrsandbox gateway"))

    @routes.get("/v1/models")
    def models() -> ResponseReturnValue:
        return jsonify(models=sorted(fleet.models))

    @routes.post("/v1/models/<name>:explain")
    def explain(name: str) -> ResponseReturnValue:
        deployed(fleet.models, name)
        return error(f"{name} has no explainer: explanations are not served; POST :predict", 501)

    def model(name: str, version: str | None = None) -> ResponseReturnValue:
        deployed(fleet.models, name)
        if version is not None:
            fleet.serving(name, version)  # a 404 naming the versions served unless one has it
        return _asked(fleet, request.path, name, version)

    for path in MODEL_PATHS:
        routes.add_url_rule(path, view_func=model, methods=["GET"], endpoint=f"model {path}")

    return routes


def _asked(fleet: Fleet, path: str, name: str, version: str | None) -> ResponseReturnValue:
    """The first healthy region's 200 answer to `GET path`; else a 503 (not ready)."""
    tried = []
    for region in fleet.healthy():
        try:
            status, content, answer = fleet.forward(region, path, b"", {}, "GET")
        except (OSError, http.client.HTTPException) as e:
            tried.append(f"{region}: {type(e).__name__}")
            continue
        if status == 200:
            response = Response(content, content_type=answer.getheader("Content-Type"))
            response.headers["X-Served-By"] = region
            return response
        tried.append(f"{region}: {status}")
    asked = "; ".join(tried) or "no region is healthy"
    what = f"{name!r}" if version is None else f"{name!r} version {version!r}"
    return error(f"model {what} is not ready: no healthy region serves it ({asked})", 503)
