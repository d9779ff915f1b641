"""The dashboard's routes on the gateway: `/dashboard` (plain HTML, CSS and JavaScript shipped in
the package, no other host), `/dashboard/map/land.json` (the world's land, Natural Earth 1:110m,
from `sandbox/data`), `/dashboard/state` (what the page shows, polled once a second) and
token-guarded controls: faults, the routing policy, users, a rollout. Bad input is a 4xx that
names the field and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

import requests
from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from sandbox.core.faults import parse_fault
from sandbox.core.models import bundled_models
from sandbox.dashboard.board import Board, Busy
from sandbox.errors import SandboxError
from sandbox.flow.plan import RolloutPlan
from sandbox.live.http import BadRequest, json_body, require_admin

STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
LAND = files("sandbox") / "data" / "land_110m.json"


def blueprint(board: Board) -> Blueprint:
    """The dashboard's routes, over `board`."""
    page = Blueprint("dashboard", __name__)
    static = files("sandbox.dashboard") / "static"
    fleet = board.fleet

    def guard() -> None:
        require_admin(fleet.admin_token)

    def body_table(*keys: str) -> dict[str, Any]:
        body = json_body()
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        unknown = sorted(set(body) - set(keys))
        if unknown:
            raise BadRequest(f"unknown field {unknown[0]!r}; known: {', '.join(keys)}")
        return body

    @contextmanager
    def answering(region: str = "") -> Iterator[None]:
        """A region that does not answer (a crash) is a 503; a refusal of the sandbox's is a
        400, or a 409 when the control cannot run now."""
        try:
            yield
        except requests.RequestException:
            raise BadRequest(
                f"{region} does not answer: a crashed region comes back when its crash's "
                "duration_s ends, and one crashed without duration_s only when the fleet restarts",
                503,
            ) from None
        except Busy as e:
            raise BadRequest(str(e), 409) from None
        except SandboxError as e:
            raise BadRequest(str(e)) from None

    @page.get("/dashboard")
    def dashboard() -> Response:
        return Response((static / "dashboard.html").read_text(), content_type="text/html")

    @page.get("/dashboard/static/<name>")
    def asset(name: str) -> Response:
        if name not in STATIC:
            raise BadRequest(f"no file {name!r}", 404)
        return Response((static / name).read_text(), content_type=STATIC[name])

    @page.get("/dashboard/map/land.json")
    def land() -> Response:
        response = Response(LAND.read_bytes(), content_type="application/geo+json")
        response.cache_control.max_age = 3600  # the same file for the fleet's whole life
        return response

    @page.get("/dashboard/state")
    def state() -> ResponseReturnValue:
        return jsonify(board.state())

    @page.route("/dashboard/api/faults", methods=["POST", "DELETE"])
    def faults() -> ResponseReturnValue:
        guard()
        body = body_table("region", "fault") if request.method == "POST" else body_table("region")
        region = body.get("region")
        if region not in fleet.regions:
            raise BadRequest(f"region: expected one of {', '.join(fleet.regions)}, got {region!r}")
        with answering(region):
            if request.method == "DELETE":
                board.clear(region)
                return jsonify(region=region, faults=[])
            fault = parse_fault(body.get("fault"), "fault")
            return jsonify(region=region, faults=board.inject(region, fault))

    @page.put("/dashboard/api/policy")
    def policy() -> ResponseReturnValue:
        guard()
        body = body_table("policy", "order", "weights")
        with answering():
            board.route_by(body.get("policy", ""), body.get("order"), body.get("weights"))
        return jsonify(board.routing())

    @page.route("/dashboard/api/load", methods=["POST", "DELETE"])
    def load() -> ResponseReturnValue:
        guard()
        if request.method == "DELETE":
            board.stop_users()
            return jsonify(clients=[], rate_per_s=0.0)
        body = body_table("clients", "rate_per_s")
        clients, rate = body.get("clients"), body.get("rate_per_s", 5)
        names = fleet.catalog.names()
        if not isinstance(clients, list) or not clients:
            raise BadRequest("clients: expected a list of catalogue regions, e.g. ['eu-west-2']")
        unknown = [c for c in clients if c not in names]
        if unknown:
            raise BadRequest(f"clients: {unknown[0]!r} is not a region of the catalogue")
        clients = list(dict.fromkeys(clients))
        with answering():
            board.start_users(clients, rate)
        return jsonify(clients=clients, rate_per_s=rate)

    @page.post("/dashboard/api/rollout")
    def roll_out() -> ResponseReturnValue:
        guard()
        from sandbox.experiment.bounds import rollout_estimate

        body = body_table("model", "strategy", "canary_percent", "bake_s", "yes")
        strategy = body.get("strategy", "sequential")
        name = body.get("model")
        if not isinstance(name, str):
            names = ", ".join(bundled_models())
            given = "nothing" if name is None else json.dumps(name)
            raise BadRequest(f"model: name a bundled model ({names}); got {given}")
        if not isinstance(body.get("yes", False), bool):
            raise BadRequest(f"yes: expected true or false, got {json.dumps(body['yes'])}")
        with answering():
            plan = RolloutPlan(strategy, None, body.get("canary_percent"), body.get("bake_s"))
            estimate = rollout_estimate(plan, fleet.regions, fleet.time_scale)
            if estimate.over and not body.get("yes", False):
                refusal = estimate.refusal("bake_s", yes='"yes": true')
                raise BadRequest(f"bake_s: {refusal}")
            model = board.roll_out(name, plan)
        shown = {"model": model.name, "version": model.version, "strategy": strategy}
        return jsonify(shown | {"regions": fleet.regions}), 202

    return page
