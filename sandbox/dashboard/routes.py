"""The classroom dashboard on the gateway: `/dashboard` (plain HTML, CSS and JavaScript shipped in
the package, no other host), `/dashboard/state` (what the page shows, polled once a second) and
token-guarded controls: faults, the routing policy, synthetic users, a region-by-region rollout.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, Response, jsonify, request

from sandbox.core.faults import parse_faults
from sandbox.core.models import bundled_models, load_model, predictions_match
from sandbox.core.routing import POLICIES, Router, RoutingPolicy
from sandbox.errors import SandboxError
from sandbox.live.http import BadRequest, bearer_ok, json_body
from sandbox.live.server import address

if TYPE_CHECKING:
    from sandbox.live.fleet import LiveFleet

STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
MAX_RATE_PER_S = 50.0  # synthetic requests per second, all client regions together
MIN_RATE_PER_S = 0.1
EVENTS = 100
ROLLOUT_PAUSE_S = 0.5  # wall seconds between regions, to watch the rollout move


class Events:
    """The latest things that happened, newest last, each with the emulated time it happened."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._seen: deque[dict[str, Any]] = deque(maxlen=EVENTS)
        self._lock = threading.Lock()

    def add(self, kind: str, text: str) -> None:
        with self._lock:
            self._seen.append({"t": round(self._clock(), 1), "kind": kind, "text": text})

    def latest(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._seen)


class SyntheticUsers:
    """Users in chosen client regions sending predictions through the gateway at a steady rate,
    each region in a thread of its own, until stopped (or the fleet closes)."""

    def __init__(self, fleet: LiveFleet) -> None:
        self._fleet = fleet
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.clients: list[str] = []
        self.rate_per_s = 0.0

    def start(self, clients: list[str], rate_per_s: float) -> None:
        self.stop()
        self._stop = threading.Event()
        self.clients, self.rate_per_s = clients, rate_per_s
        for n, client in enumerate(clients):
            thread = threading.Thread(
                target=self._send,
                args=(client, rate_per_s / len(clients), random.Random(n), self._stop),
                name=f"dashboard-user-{client}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.clients, self.rate_per_s = [], 0.0

    def _send(self, client: str, rate: float, rng: random.Random, stop: threading.Event) -> None:
        host, port = address(self._fleet.gateway_url)
        body = json.dumps({"instances": [[12.0, 70.0, 1.0]]})
        headers = {"Content-Type": "application/json", "X-Client-Region": client}
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            while not stop.wait(rng.expovariate(rate)):
                model = self._fleet.serving_model()  # a rollout may change it
                try:
                    connection.request("POST", f"/v1/models/{model}:predict", body, headers)
                    connection.getresponse().read()
                except (OSError, http.client.HTTPException):
                    connection.close()
        finally:
            connection.close()


def dashboard_blueprint(fleet: LiveFleet) -> Blueprint:
    """The dashboard's routes, for the gateway of `fleet`."""
    page = Blueprint("dashboard", __name__)
    static = files("sandbox.dashboard") / "static"
    events = Events(fleet.now)
    users = SyntheticUsers(fleet)
    fleet.on_close(users.stop)
    fleet.on_transition(lambda t: events.add("health", f"{t.region} {t.state} ({t.source})"))
    rollout = threading.Lock()
    closing = threading.Event()
    fleet.on_close(closing.set)

    def guard() -> None:
        if not bearer_ok(fleet.admin_token):
            message = "missing or wrong admin token: send 'Authorization: Bearer <token>'"
            raise BadRequest(message, 401)

    def body_table(*keys: str) -> dict[str, Any]:
        body = json_body()
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        unknown = sorted(set(body) - set(keys))
        if unknown:
            raise BadRequest(f"unknown field {unknown[0]!r}; known: {', '.join(keys)}")
        return body

    @contextmanager
    def answering(region: str) -> Iterator[None]:
        """A region that does not answer (a crash) is a 503, not an error of the dashboard."""
        try:
            yield
        except requests.RequestException:
            raise BadRequest(f"{region} does not answer (crashed?); try again later", 503) from None

    @page.get("/dashboard")
    def dashboard() -> Response:
        return Response((static / "dashboard.html").read_text(), content_type="text/html")

    @page.get("/dashboard/static/<name>")
    def asset(name: str) -> Response:
        if name not in STATIC:
            raise BadRequest(f"no file {name!r}", 404)
        return Response((static / name).read_text(), content_type=STATIC[name])

    @page.get("/dashboard/state")
    def state() -> Any:
        gateway = fleet.gateway
        view = gateway.view if gateway else None
        health = view.snapshot() if view else {}
        traffic = gateway.stats.snapshot() if gateway else {}
        router = gateway.router if gateway else None
        regions = []
        for name in fleet.regions:
            region = fleet.catalog.get(name)
            model = fleet.deployed(name)
            regions.append(
                {
                    "name": name,
                    "location": region.location,
                    "lat": region.lat,
                    "lon": region.lon,
                    "healthy": health.get(name, {}).get("healthy", True),
                    "model": model.name if model else None,
                    "version": model.version if model else None,
                    "split": gateway.split.weights(name) if gateway else {},
                    **traffic.get(name, {"rate_per_s": 0.0, "error_rate": 0.0, "p95_ms": None}),
                }
            )
        flows = []
        served = dict(gateway.stats.served) if gateway else {}
        for client in users.clients:
            where = fleet.catalog.get(client)
            flows.append(
                {"client": client, "lat": where.lat, "lon": where.lon, "region": served.get(client)}
            )
        return jsonify(
            regions=regions,
            policy=router.policy.name if router else None,
            policies=list(POLICIES),
            flows=flows,
            load={"clients": users.clients, "rate_per_s": users.rate_per_s},
            events=events.latest(),
            clients=fleet.catalog.names(),
            models=bundled_models(),
        )

    @page.route("/dashboard/api/faults", methods=["POST", "DELETE"])
    def faults() -> Any:
        guard()
        body = body_table("region", "fault") if request.method == "POST" else body_table("region")
        region = body.get("region")
        if region not in fleet.regions:
            raise BadRequest(f"region: expected one of {', '.join(fleet.regions)}, got {region!r}")
        if request.method == "DELETE":
            with answering(region):
                fleet.admin("DELETE", region)
            events.add("fault", f"faults cleared in {region}")
            return jsonify(region=region, faults=[])
        try:
            wanted = parse_faults([body.get("fault")], "fault")
            with answering(region):
                fleet.inject(region, wanted)
        except SandboxError as e:
            raise BadRequest(str(e)) from None
        fault = wanted[0]
        lasting = f" for {fault.duration_s:g} s" if fault.duration_s else ""
        events.add("fault", f"{fault.kind} injected in {region}{lasting}")
        with answering(region):
            active = fleet.admin("GET", region).json()["faults"]
        return jsonify(region=region, faults=active)

    @page.put("/dashboard/api/policy")
    def policy() -> Any:
        guard()
        name = body_table("policy").get("policy")
        if name not in POLICIES:
            raise BadRequest(f"policy: expected one of {', '.join(POLICIES)}, got {name!r}")
        gateway = fleet.gateway
        if gateway is None or gateway.router is None:
            raise BadRequest("routing is not configured yet", 409)
        old = gateway.router
        order = old.policy.order or tuple(old.regions)  # what serve was given, else the regions
        weights = old.policy.weights or dict.fromkeys(old.regions, 1)
        chosen = RoutingPolicy(name, old.policy.retries, order, weights)
        gateway.router = Router(chosen, old.regions, fleet.catalog, fleet.seed)
        events.add("routing", f"routing policy: {name}")
        return jsonify(policy=name)

    @page.route("/dashboard/api/load", methods=["POST", "DELETE"])
    def load() -> Any:
        guard()
        if request.method == "DELETE":
            users.stop()
            events.add("load", "synthetic users stopped")
            return jsonify(clients=[], rate_per_s=0.0)
        body = body_table("clients", "rate_per_s")
        clients, rate = body.get("clients"), body.get("rate_per_s", 5)
        names = fleet.catalog.names()
        if not isinstance(clients, list) or not clients or any(c not in names for c in clients):
            raise BadRequest("clients: expected a list of catalogue regions, e.g. ['eu-west-2']")
        clients = list(dict.fromkeys(clients))
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise BadRequest(f"rate_per_s: expected a number, got {rate!r}")
        if not MIN_RATE_PER_S <= rate <= MAX_RATE_PER_S:
            raise BadRequest(f"rate_per_s: expected {MIN_RATE_PER_S:g} to {MAX_RATE_PER_S:g}")
        users.start(clients, float(rate))
        events.add("load", f"synthetic users in {', '.join(clients)}: {rate:g} requests/s")
        return jsonify(clients=clients, rate_per_s=rate)

    @page.post("/dashboard/api/rollout")
    def roll_out() -> Any:
        guard()
        name = body_table("model").get("model")
        if name not in bundled_models():  # bundled models only: never a path on this machine
            raise BadRequest(f"model: expected one of {', '.join(bundled_models())}")
        model = load_model(name)
        if not rollout.acquire(blocking=False):
            raise BadRequest("a rollout is already running", 409)

        def run() -> None:
            try:
                for region in fleet.regions:
                    if closing.is_set():
                        return
                    events.add("rollout", f"deploying {model.name} {model.version} to {region}")
                    served = fleet.run(fleet.deploy(region, model))
                    served = served and fleet.run(fleet.smoke(region, model))
                    if not served or not predictions_match(model.smoke_predictions, served):
                        events.add("rollout", f"{region} was not deployed and verified: stopped")
                        return
                    events.add("rollout", f"{region} verified with {model.name} {model.version}")
                    closing.wait(ROLLOUT_PAUSE_S)
                events.add("rollout", f"rollout of {model.name} complete")
            finally:
                rollout.release()

        threading.Thread(target=run, name="dashboard-rollout", daemon=True).start()
        return jsonify(model=model.name, version=model.version, regions=fleet.regions), 202

    return page
