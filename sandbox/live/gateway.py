"""The gateway: the multi-region front door, one more Flask app.

`POST /v1/models/<name>:predict` with `X-Client-Region` picks regions by the routing policy over
the healthy ones, waits the emulated round trip from the client to that region (scaled by
`time_scale`), forwards, and on a refused connection, a timeout or a 5xx tries the next region.
Answers carry `X-Served-By` and `X-Attempts` (and `X-Fail-Open: true` when no region was healthy).
`GET /routing` shows the policy, the health view and each client region's current choice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from sandbox.errors import UnknownRegion
from sandbox.health import HealthView
from sandbox.live.http import MAX_BODY_BYTES, BadRequest, install_json_errors
from sandbox.regions import RegionCatalog
from sandbox.routing import Router

FORWARD_TIMEOUT_S = 2.0  # emulated seconds a forwarded request may take


@dataclass
class GatewayState:
    """What the gateway routes by; the fleet fills it in as the flow goes."""

    urls: dict[str, str]
    catalog: RegionCatalog
    time_scale: float = 1.0
    router: Router | None = None
    view: HealthView | None = None
    local: threading.local = field(default_factory=threading.local)
    sessions: list[requests.Session] = field(default_factory=list)

    def session(self) -> requests.Session:
        """A session per gateway thread, so connections to the regions are reused."""
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.sessions.append(self.local.session)
        return self.local.session

    def close(self) -> None:
        """Close every connection the gateway holds to the regions."""
        for session in self.sessions:
            session.close()

    def healthy(self) -> list[str]:
        routed = self.router.regions if self.router else []
        return self.view.healthy_regions() if self.view else routed

    def plan(self, client: str) -> tuple[list[str], bool]:
        if self.router is None:
            raise BadRequest("routing is not configured yet: run the deployment first", 503)
        error_rate = self.view.error_rate if self.view else (lambda region: 0.0)
        return self.router.plan(client, self.healthy(), error_rate)


def _client_region(state: GatewayState) -> str:
    client = request.headers.get("X-Client-Region")
    if not client:
        raise BadRequest("missing header X-Client-Region: name the region the user is near")
    try:
        return state.catalog.check(client)
    except UnknownRegion as e:
        raise BadRequest(f"X-Client-Region: {e}") from None


def create_gateway_app(state: GatewayState) -> Flask:
    """A Flask app routing predictions to the regions in `state`."""
    app = Flask("sandbox.gateway")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["gateway"] = state
    install_json_errors(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok", healthy_regions=state.healthy())

    @app.get("/routing")
    def routing() -> Any:
        router = state.router
        choices = {}
        if router is not None:
            for region in state.catalog.names():
                plan, fail_open = state.plan(region)
                choices[region] = {"region": plan[0], "fail_open": fail_open}
        return jsonify(
            policy=router.policy.name if router else None,
            retries=router.policy.retries if router else None,
            regions=router.regions if router else [],
            health=state.view.snapshot() if state.view else {},
            choices=choices,
        )

    @app.post("/v1/models/<name>:predict")
    def predict(name: str) -> Response:
        client = _client_region(state)
        body = request.get_data()
        plan, fail_open = state.plan(client)
        attempts, last = 0, None
        for region in plan:
            attempts += 1
            time.sleep(state.catalog.rtt_ms(client, region) / 1000.0 * state.time_scale)
            try:
                answer = state.session().post(
                    f"{state.urls[region]}/v1/models/{name}:predict",
                    data=body,
                    headers={"Content-Type": request.content_type or "application/json"},
                    timeout=FORWARD_TIMEOUT_S * state.time_scale,
                )
            except requests.RequestException as e:
                last = f"{region}: {type(e).__name__}"
                if state.view:
                    state.view.outcome(region, False)
                continue
            ok = answer.status_code < 500
            if state.view:
                state.view.outcome(region, ok)
            if ok:
                response = Response(answer.content, answer.status_code, mimetype="application/json")
                response.headers["X-Served-By"] = region
                break
            last = f"{region}: {answer.status_code}"
        else:
            response = jsonify(error=f"no region answered ({attempts} attempts; last {last})")
            response.status_code = 503
        response.headers["X-Attempts"] = str(attempts)
        if fail_open:
            response.headers["X-Fail-Open"] = "true"
        return response

    return app
