"""What the classroom dashboard shows and does: the state of a live fleet and its deployment, and
the controls a teacher uses (faults, the routing policy, users, a rollout), each built from the
sandbox's own parts: the fleet's operations, live users drawn from a `Workload`, a traced
`Rollout`. Everything it starts stops when it closes."""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox.core.faults import Fault
from sandbox.core.health import Transition
from sandbox.core.models import Model, bundled_models, load_model
from sandbox.core.routing import POLICIES, Router
from sandbox.core.workload import Workload, clients_of
from sandbox.errors import InvalidDeployment, SandboxError
from sandbox.flow.backend import Users
from sandbox.flow.deployment import Deployment
from sandbox.flow.plan import RolloutPlan, check_versions
from sandbox.flow.rollout import Rollout
from sandbox.flow.tracer import Step
from sandbox.live.fleet import LiveFleet

EVENTS = 100


class Busy(SandboxError, RuntimeError):
    """A control that cannot run now (a rollout under way, a deployment not complete)."""


class Events:
    """The latest things that happened, newest last, each with the emulated time it happened."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: deque[dict[str, Any]] = deque(maxlen=EVENTS)
        self._lock = threading.Lock()

    def add(self, kind: str, text: str) -> None:
        with self._lock:
            self._seen.append({"t": round(self._clock(), 1), "kind": kind, "text": text})

    def latest(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._seen)


class Board:
    """The dashboard of `fleet`; `follow` gives it the deployment whose fleet it drives."""

    def __init__(self, fleet: LiveFleet) -> None:
        self.fleet = fleet
        self.events = Events(fleet.now)
        self.deployment: Deployment | None = None
        self.serving: Model | None = None  # the version the fleet serves (a rollout changes it)
        self.clients: list[str] = []
        self.rate_per_s = 0.0
        self._users: Users | None = None
        self._lock = threading.Lock()
        self._rollout: threading.Thread | None = None

    def follow(self, deployment: Deployment) -> None:
        """Drive `deployment`'s fleet from now on; its health changes so far become events."""
        self.deployment, self.serving = deployment, deployment.model
        view = deployment.health_view
        if view is not None:
            for transition in view.transitions:
                self._health(transition)
            view.subscribe(self._health)

    def close(self) -> None:
        """Stop the users and wait for a rollout (after the fleet closed, it ends at once)."""
        self.stop_users()
        if self._rollout is not None:
            self._rollout.join(timeout=10)

    # -- what the page shows ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        fleet, gateway = self.fleet, self.fleet.gateway
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
        served = dict(gateway.stats.served) if gateway else {}
        flows = []
        for client in self.clients:
            where = fleet.catalog.get(client)
            flows.append(
                {"client": client, "lat": where.lat, "lon": where.lon, "region": served.get(client)}
            )
        return {
            "regions": regions,
            "policy": router.policy.name if router else None,
            "policies": list(POLICIES),
            "flows": flows,
            "load": {"clients": self.clients, "rate_per_s": self.rate_per_s},
            "events": self.events.latest(),
            "clients": fleet.catalog.names(),
            "models": self.versions(),
        }

    def versions(self) -> list[str]:
        """The bundled models a rollout may take the fleet to: other versions of what it serves."""
        serving = self.serving
        if serving is None:
            return []
        found = []
        for name in bundled_models():
            model = load_model(name)
            if model.name == serving.name and model.version != serving.version:
                found.append(name)
        return found

    # -- the controls -------------------------------------------------------------------------

    def inject(self, region: str, fault: Fault) -> list[dict[str, Any]]:
        """Add `fault` to `region`; the region's active faults."""
        self.fleet.inject(region, [fault])
        lasting = f" for {fault.duration_s:g} s" if fault.duration_s else ""
        self.events.add("fault", f"{fault.kind} injected in {region}{lasting}")
        return self.fleet.admin("GET", region).json()["faults"]

    def clear(self, region: str) -> None:
        """End every fault of `region`."""
        self.fleet.admin("DELETE", region)
        self.events.add("fault", f"faults cleared in {region}")

    def route_by(self, name: str) -> None:
        """Route by policy `name`, keeping the retries and DNS TTL in force; a failover order or
        weights are the deployment's own, else every region in turn or alike."""
        deployment, gateway = self._deployment(), self.fleet.gateway
        old = gateway.router if gateway is not None else None
        if old is None:
            raise Busy("routing is not configured yet")
        given, regions = deployment.routing_policy, old.regions
        policy = dataclasses.replace(
            old.policy,
            name=name,
            order=(given.order or tuple(regions)) if name == "failover" else (),
            weights=(given.weights or dict.fromkeys(regions, 1)) if name == "weighted" else {},
        )
        policy.check(regions)
        router = Router(policy, regions, self.fleet.catalog, self.fleet.seed, self.fleet.now)
        self.fleet.run(self.fleet.set_routing(router))
        deployment.router = router
        self.events.add("routing", f"routing policy: {name}")

    def start_users(self, clients: list[str], rate_per_s: float) -> None:
        """Users near `clients`, `rate_per_s` requests a wall second in all, until stopped."""
        deployment = self._deployment()
        assert deployment.router is not None, "a completed deployment routes"
        self.stop_users()
        # the page's rates are per wall second (what the gateway's counters show), the users' per
        # emulated second: a second of the fleet's clock takes time_scale wall seconds
        per_emulated_s = rate_per_s * self.fleet.time_scale
        workload = Workload(clients_of(clients, per_emulated_s), self.serving or deployment.model)
        users = self.fleet.users(
            deployment.router, deployment.health_view, workload, None, self.fleet.seed
        )
        users.start()
        with self._lock:
            self._users, self.clients, self.rate_per_s = users, clients, rate_per_s
        self.events.add("load", f"users in {', '.join(clients)}: {rate_per_s:g} requests/s in all")

    def stop_users(self) -> None:
        with self._lock:
            users, self._users, self.clients, self.rate_per_s = self._users, None, [], 0.0
        if users is not None:
            users.close()
            self.events.add("load", "users stopped")

    def roll_out(self, name: str, plan: RolloutPlan) -> Model:
        """Start a rollout of the bundled model `name` by `plan`, in a thread; the new model."""
        deployment = self._deployment()
        if name not in bundled_models():  # bundled models only: never a path on this machine
            raise InvalidDeployment(f"model: expected one of {', '.join(bundled_models())}")
        model, previous = load_model(name), self.serving or deployment.model
        check_versions(previous, model, f"model {name}")
        plan.check(deployment.regions)
        with self._lock:
            if self._rollout is not None and self._rollout.is_alive():
                raise Busy("a rollout is already running")
            rollout = Rollout(deployment, model, plan, previous=previous)
            rollout.trace.subscribe(self._step)
            self._rollout = threading.Thread(
                target=self._run, args=(rollout,), name="dashboard-rollout", daemon=True
            )
            self._rollout.start()
        return model

    # -- internals ----------------------------------------------------------------------------

    def _deployment(self) -> Deployment:
        deployment = self.deployment
        if deployment is None or deployment.outcome != "complete":
            raise Busy("the fleet's deployment is not complete yet")
        return deployment

    def _run(self, rollout: Rollout) -> None:
        try:
            rollout.run()
        except SandboxError as e:  # the fleet closed under it
            self.events.add("rollout", f"rollout stopped: {e}")
            return
        if rollout.outcome == "complete":
            self.serving = rollout.model

    def _step(self, step: Step, label: str) -> None:
        text = f"{label}: {step.result}" if step.result != "-" else f"{label}: {step.next_step}"
        self.events.add("rollout", text)

    def _health(self, t: Transition) -> None:
        self.events.add("health", f"{t.region} {t.state} ({t.source})")
