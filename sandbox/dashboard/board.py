"""What the classroom dashboard shows and does: the state of a live fleet and its deployment, and
the controls a teacher uses (faults, the routing policy, users, a rollout), each built from the
sandbox's own parts: the fleet's operations, live users drawn from a `Workload`, a traced
`Rollout`. Everything it starts stops when it closes."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from sandbox.core.checks import Range
from sandbox.core.faults import Fault
from sandbox.core.models import Model, bundled_models, load_model
from sandbox.core.routing import POLICIES, RoutingPolicy
from sandbox.core.workload import Clients, Workload
from sandbox.dashboard.events import Events
from sandbox.errors import InvalidDeployment, SandboxError
from sandbox.flow.backend import Users
from sandbox.flow.deployment import COMPLETED, Deployment
from sandbox.flow.plan import RolloutPlan, check_versions
from sandbox.flow.rollout import Rollout
from sandbox.live.fleet import LiveFleet

MAX_USER_REQUESTS_PER_S = 50.0  # wall requests a second from every user region together
USER_RATE = Range(0.1, MAX_USER_REQUESTS_PER_S)  # wall requests a second per user region


class Busy(SandboxError, RuntimeError):
    """A control that cannot run now (a rollout under way, a deployment not complete)."""


class Board:
    """The dashboard of `fleet`; `follow` gives it the deployment whose fleet it drives. Every
    change of a region's faults becomes an event, whatever route made it."""

    def __init__(self, fleet: LiveFleet) -> None:
        self.fleet = fleet
        self.events = Events(fleet.now)
        self.deployment: Deployment | None = None
        self.serving: Model | None = None  # the version the fleet serves (a rollout changes it)
        self.clients: list[str] = []
        self.rate_per_s = 0.0  # per user region
        self.order: tuple[str, ...] = ()  # what failover and weighted take, last given
        self.weights: dict[str, float] = {}
        self._users: Users | None = None
        self._lock = threading.Lock()
        self._rollout: threading.Thread | None = None
        fleet.on_faults(self.events.faults)

    def follow(self, deployment: Deployment) -> None:
        """Drive `deployment`'s fleet from now on; its health changes so far become events."""
        self.deployment, self.serving = deployment, deployment.model
        given = deployment.routing_policy
        routed = deployment.router.regions if deployment.router else deployment.regions
        self.order = given.order or tuple(routed)
        self.weights = dict(given.weights) or dict.fromkeys(routed, 1)
        view = deployment.health_view
        if view is not None:
            for transition in view.transitions:
                self.events.health(transition)
            view.subscribe(self.events.health)

    def close(self) -> None:
        """Stop the users and wait for a rollout (after the fleet closed, it ends at once)."""
        self.stop_users()
        if self._rollout is not None:
            self._rollout.join(timeout=10)

    # -- what the page shows ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page draws, as JSON."""
        fleet, gateway = self.fleet, self.fleet.gateway
        view = gateway.view if gateway else None
        health = view.snapshot() if view else {}
        traffic = gateway.stats.snapshot() if gateway else {}
        quiet = {"rate_per_s": 0.0, "error_rate": None, "refused_per_s": 0.0, "p95_ms": None}
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
                    **traffic.get(name, quiet),
                }
            )
        served = dict(gateway.stats.served) if gateway else {}
        flows = []
        for client in self.clients:
            where = fleet.catalog.get(client)
            flows.append(
                {"client": client, "lat": where.lat, "lon": where.lon}
                | {"region": served.get(client), "rate_per_s": self.rate_per_s}
            )
        routing = self.routing()
        return {
            "regions": regions,
            "policy": routing.get("policy"),
            "policies": list(POLICIES),
            "routing": routing,
            "faults": list(fleet.fault_kinds),
            "flows": flows,
            "unrouted": gateway.stats.unrouted() if gateway else [],
            "load": {"clients": self.clients, "rate_per_s": self.rate_per_s},
            "events": self.events.latest(),
            "clients": fleet.catalog.names(),
            "models": self.versions(),
        }

    def routing(self) -> dict[str, Any]:
        """The routing in force, and the order and weights a switch to failover or weighted
        takes (the last given)."""
        gateway = self.fleet.gateway
        router = gateway.router if gateway else None
        if router is None:
            return {}
        policy = router.policy
        return {
            "policy": policy.name,
            "retries": policy.retries,
            "dns_ttl_s": policy.dns_ttl_s,
            "regions": router.regions,
            "order": list(self.order),
            "weights": self.weights,
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
        """Add `fault` to `region`; the region's active faults (the fleet's listener makes the
        event, as for a fault injected any other way)."""
        self.fleet.inject(region, [fault])
        if fault.kind == "crash":  # the region is going down: nothing to ask
            return [fault.to_dict()]
        return self.fleet.admin("GET", region).json()["faults"]

    def clear(self, region: str) -> None:
        """End every fault of `region`."""
        self.fleet.admin("DELETE", region)

    def route_by(self, name: str, order: Any = None, weights: Any = None) -> RoutingPolicy:
        """Route by policy `name`, keeping every other setting in force: the retries, the DNS
        TTL, and the failover order and weights last given (`order` and `weights`, as a JSON
        body gives them, replace them for their own policy only; the policy checks them). The
        router stays the same, so the DNS answers users hold stay cached until their TTL ends,
        as resolvers keep them."""
        deployment = self._deployment()
        router = deployment.router
        if router is None:
            raise Busy("routing is not configured yet")
        failover, weighted = name == "failover", name == "weighted"
        policy = dataclasses.replace(
            router.policy,
            name=name,
            order=order if order is not None else self.order if failover else (),
            weights=weights if weights is not None else self.weights if weighted else {},
        )
        policy.check(router.regions)
        router.policy = policy  # one attribute: a request plans by the old or the new policy
        with self._lock:
            self.order = policy.order or self.order
            self.weights = dict(policy.weights) or self.weights
        self.events.routing(name, policy.order, policy.weights)
        return policy

    def start_users(self, clients: list[str], rate_per_s: float) -> None:
        """Users near each of `clients`, `rate_per_s` requests a wall second from each (at most
        `MAX_USER_REQUESTS_PER_S` in all), until stopped."""
        problem = USER_RATE.problem(rate_per_s)
        if problem:
            reason = f"{problem} (wall requests a second from each user region)"
            raise InvalidDeployment.about("rate_per_s", reason)
        if rate_per_s * len(clients) > MAX_USER_REQUESTS_PER_S:
            most = int(MAX_USER_REQUESTS_PER_S / len(clients) * 10) / 10
            reason = (
                f"{rate_per_s:g} requests/s in each of {len(clients)} user regions is over "
                f"{MAX_USER_REQUESTS_PER_S:g} in all; give at most {most:g}"
            )
            raise InvalidDeployment.about("rate_per_s", reason)
        deployment = self._deployment()
        assert deployment.router is not None, "a completed deployment routes"
        self.stop_users()
        # the page's rates are per wall second (what the gateway's counters show), the users' per
        # emulated second: a second of the fleet's clock takes time_scale wall seconds
        groups = tuple(Clients(c, rate_per_s * self.fleet.time_scale) for c in clients)
        workload = Workload(groups, self.serving or deployment.model)
        users = self.fleet.users(
            deployment.router, deployment.health_view, workload, None, self.fleet.seed
        )
        users.start()
        with self._lock:
            self._users, self.clients, self.rate_per_s = users, clients, rate_per_s
        each = f"{rate_per_s:g} requests/s each"
        self.events.add("load", f"users in {', '.join(clients)}: {each}")

    def stop_users(self) -> None:
        with self._lock:
            users, self._users, self.clients, self.rate_per_s = self._users, None, [], 0.0
        if users is not None:
            users.close()
            self.events.add("load", "users stopped")

    def roll_out(self, name: str, plan: RolloutPlan) -> Model:
        """Start a rollout of the bundled model `name` by `plan`, in a thread; the new model.
        The refusals are the command line's (`check_versions`: another version of the served
        model), and a `Rollout`'s own (a deployment complete in every region)."""
        deployment = self._deployment()
        self._idle()  # first: while one runs, every other refusal would judge a passing state
        if name not in bundled_models():  # bundled models only: never a path on this machine
            raise InvalidDeployment(f"model: expected one of {', '.join(bundled_models())}")
        model, previous = load_model(name), self.serving or deployment.model
        check_versions(previous, model, f"model {name}")
        plan.check(deployment.regions)
        with self._lock:
            self._idle()
            rollout = Rollout(deployment, model, plan, previous=previous)
            rollout.trace.subscribe(self.events.step)
            self._rollout = threading.Thread(
                target=self._run, args=(rollout,), name="dashboard-rollout", daemon=True
            )
            self._rollout.start()
        return model

    # -- internals ----------------------------------------------------------------------------

    def _deployment(self) -> Deployment:
        deployment = self.deployment
        if deployment is None or deployment.outcome not in COMPLETED:
            raise Busy("the fleet's deployment is not complete yet")
        return deployment

    def _idle(self) -> None:
        if self._rollout is not None and self._rollout.is_alive():
            raise Busy("a rollout is already running")

    def _run(self, rollout: Rollout) -> None:
        try:
            rollout.run()
        except SandboxError as e:  # the fleet closed under it
            self.events.add("rollout", f"rollout stopped: {e}")
            return
        if rollout.outcome == "complete":
            self.serving = rollout.model
