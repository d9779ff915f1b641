"""The lesson's deployment flow, on any backend (a simulated fleet unless one is given).

A `Deployment`'s methods are the material's functions, so a learner can type the lesson's loop::

    d = Deployment(["us-east-1", "eu-west-1"], "model_v1")
    deploy_model, verify_deployment = d.deploy_model, d.verify_deployment
    routing_setup, monitor_health = d.routing_setup, d.monitor_health
    for region in d.regions:
        deploy_model(region)
        verify_deployment(region)
    routing_setup(d.regions)
    monitor_health(d.regions)

Each call runs its operation on the backend's clock and reports its step to `d.trace`. A failure is
handled by the deployment's policy (retry, stop, rollback, skip); stopping or rolling back ends the
trace and raises `DeploymentHalted`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from sandbox.core.checks import SEEDS, Range
from sandbox.core.faults import Failure, as_failures
from sandbox.core.health import HealthPolicy, HealthView, OutlierPolicy
from sandbox.core.models import Model, load_model
from sandbox.core.records import RequestLog
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, RoutingPolicy
from sandbox.core.workload import Clients, Workload
from sandbox.errors import DeploymentHalted, FlowError, InvalidDeployment
from sandbox.flow.backend import Backend, Users
from sandbox.flow.calls import Call, logged
from sandbox.flow.step import RegionStep
from sandbox.flow.tracer import Trace
from sandbox.sim.fleet import SimFleet

POLICIES = ("retry", "stop", "rollback", "skip")
COMPLETED = ("complete", "complete_with_skips")  # outcomes of a deployment that completed
RETRIES = Range(0, 20, whole=True)  # a region's retries under on_failure retry
END_LABELS = {
    "complete": "Deployment complete",
    "complete_with_skips": "Deployment complete with skips",
    "stopped": "Deployment stopped",
    "rolled_back": "Deployment rolled back",
    "incomplete": "Deployment incomplete",
}
LABELS = {
    "Select region": "Select region {}",
    "Deploy model": "Deploy model to {}",
    "Retry deployment": "Retry deployment to {}",
    "Verify deployment": "Verify deployment in {}",
    "Skip region": "Skip {}",
    "Roll back deployment": "Roll back deployment in {}",
    "Setup traffic routing": "Setup traffic routing",
    "Start health monitoring": "Start health monitoring",
}


def _check_settings(
    regions: Sequence[str],
    on_failure: str,
    max_retries: int,
    seed: int,
    failures: Sequence[Failure],
    catalog: RegionCatalog,
) -> None:
    if isinstance(regions, str) or not regions:
        raise InvalidDeployment("regions must be a non-empty list of region names")
    for region in regions:
        catalog.check(region)
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        raise InvalidDeployment(f"list each region once; more than once: {', '.join(twice)}")
    if on_failure not in POLICIES:
        reason = f"expected one of {', '.join(POLICIES)}, got {on_failure!r}"
        raise InvalidDeployment.about("on_failure", reason)
    for name, value, bounds in (("max_retries", max_retries, RETRIES), ("seed", seed, SEEDS)):
        problem = bounds.problem(value)
        if problem:
            raise InvalidDeployment.about(name, problem)
    for f in failures:
        if f.region not in regions:
            raise InvalidDeployment(
                f"failure in {f.region!r}: not one of the regions ({', '.join(regions)})"
            )
        if f.stage == "bake":
            raise InvalidDeployment(
                f"{f.region}:bake: a bake belongs to a rollout over a previous version "
                "(strategy waves or canary); the lesson's flow has none"
            )


class Deployment:
    """One multi-region deployment of a model, traced step by step."""

    def __init__(
        self,
        regions: Sequence[str],
        model: str | os.PathLike[str] | Model = "model_v1",
        *,
        on_failure: str = "retry",
        max_retries: int = 2,
        failures: Iterable[Failure | str] = (),
        seed: int = 0,
        catalog: RegionCatalog | None = None,
        health: HealthPolicy | None = None,
        outlier: OutlierPolicy | None = None,
        routing: RoutingPolicy | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.catalog = catalog or RegionCatalog.default()
        failures = as_failures(failures)
        _check_settings(regions, on_failure, max_retries, seed, failures, self.catalog)
        self.model = model if isinstance(model, Model) else load_model(model)
        self.on_failure = on_failure
        self.max_retries = max_retries
        self.health_policy = health or HealthPolicy()
        self.outlier_policy = outlier or OutlierPolicy()
        self.routing_policy = routing or RoutingPolicy()
        self.routing_policy.check(list(regions))
        self.seed = seed
        self.failures = failures
        self.calls: list[Call] = []  # the lesson's functions as called, refused ones included
        # The lesson's watched variables.
        self.regions: list[str] = list(regions)
        self.routing_configured = False
        self.monitoring_active = False
        self.routes: list[str] = []
        self.router: Router | None = None
        self.health_view: HealthView | None = None
        self.backend: Backend = backend or SimFleet(
            self.catalog, self.regions, self.regions[0], seed
        )
        missing = [r for r in self.regions if r not in self.backend.regions]
        if missing:
            raise InvalidDeployment(f"the backend does not serve {', '.join(missing)}")
        for failure in failures:
            self.backend.inject(failure.region, [failure.as_fault()])
        self._steps = RegionStep(self.backend, self.model, self._step, self._handle_failure)
        self.deployment_status = self._steps.deployment_status
        self.verification_status = self._steps.verification_status
        self.trace = Trace(
            self.model.name, self._variables(), self.model.version, self.backend.clock
        )
        self._pending: str | None = None  # deployed, waiting for its verification
        self._skipped: list[str] = []

    # -- the lesson's functions -------------------------------------------------------------

    @logged
    def deploy_model(self, region: str) -> bool:
        """Deploy the model to `region`; True on success, False when the region was skipped."""
        self._check_call("deploy_model", region)
        if self._pending is not None:
            raise FlowError(
                f"verify_deployment({self._pending!r}) comes right after deploy_model"
                f"({self._pending!r}), before the next region is deployed"
            )
        if region in self.verification_status or region in self._skipped:
            raise FlowError(f"{region} has already been deployed and verified or skipped")
        expected = next(r for r in self.regions if r not in self._done())
        if region != expected:
            raise FlowError(
                f"deploy_model({region!r}): regions are deployed in their listed order; "
                f"the next one is {expected!r}"
            )
        if not self.trace.steps:
            self._step("Select region", region, "Region selected")
        deployed = self._steps.deploy(region)
        if deployed:
            self._pending = region
        return deployed

    @logged
    def verify_deployment(self, region: str) -> bool:
        """Send the model's smoke set to `region` and compare its predictions with the expected."""
        self._check_call("verify_deployment", region)
        if region in self._skipped:
            return False
        if self._pending != region:
            raise FlowError(
                f"verify_deployment({region!r}) needs a deploy_model({region!r}) that is not yet "
                "verified; call deploy_model first"
            )
        verified = self._steps.verify(region)
        if verified:
            self._pending = None
        return verified

    @logged
    def routing_setup(self, regions: Sequence[str]) -> list[str]:
        """Route traffic to the verified regions among `regions`; return them."""
        self._check_call("routing_setup")
        self._check_all("routing_setup", regions)
        if self.routing_configured:
            raise FlowError("routing_setup: routing is already configured")
        waiting = [r for r in self.regions if r not in self._done()]
        if waiting:
            raise FlowError(
                "routing_setup comes after every region is deployed and verified; "
                f"not verified yet: {', '.join(waiting)}"
            )
        routes = [r for r in regions if self.verification_status.get(r) == "success"]
        if not routes:
            self._halt("stopped", "Stopped: no verified region to route traffic to")
        self.router = Router(self.routing_policy, routes, self.catalog, self.seed, self.backend.now)
        self.backend.run(self.backend.set_routing(self.router))
        self.routes = routes
        self.routing_configured = True
        self._step("Setup traffic routing", self._scope(routes), "Routing configured")
        return list(routes)

    @logged
    def monitor_health(self, regions: Sequence[str]) -> None:
        """Start health checks of the routed regions among `regions`; this ends the flow."""
        self._check_call("monitor_health")
        self._check_all("monitor_health", regions)
        if not self.routing_configured:
            raise FlowError("monitor_health comes after routing_setup: set up routing first")
        monitored = [r for r in self.regions if r in self.routes]
        self.health_view = HealthView(
            monitored,
            self.backend.now,
            self.health_policy,
            self.outlier_policy,
            on_transition=self.trace.transition,
        )
        self.backend.run(self.backend.monitor(self.health_view))
        self.monitoring_active = True
        self._step("Start health monitoring", self._scope(monitored), "Monitoring active")
        if self._skipped:
            self._end("complete_with_skips", f"Completed without {', '.join(self._skipped)}")
        else:
            self._end("complete", "All steps completed successfully")

    # -- after the flow -----------------------------------------------------------------------

    @property
    def outcome(self) -> str | None:
        """`complete`, `complete_with_skips`, `stopped`, `rolled_back`, `incomplete` (a call was
        left out), or None while running."""
        return self.trace.outcome

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the backend's clock; health monitors keep probing."""
        self.backend.advance(seconds)

    def health(self) -> dict[str, str]:
        """Each monitored region's health as its monitor sees it (empty before monitoring)."""
        view = self.health_view
        if view is None:
            return {}
        return {r: "healthy" if view.healthy(r) else "unhealthy" for r in view.regions}

    def route(self, client: str) -> str:
        """The region serving a client near `client`, by the routing policy over healthy regions.

        When no routed region is healthy, it answers as if all were (fails open, as DNS
        failover does).
        """
        self.catalog.check(client)
        if self.router is None:
            raise FlowError("route() needs routing_setup first")
        view = self.health_view
        healthy = view.healthy_regions() if view is not None else self.routes
        error_rate = view.error_rate if view is not None else (lambda region: 0.0)
        return self.router.plan(client, healthy, error_rate)[0][0]

    def start_users(
        self,
        clients: Iterable[Clients],
        *,
        versions: Iterable[Model] = (),
        log: RequestLog | None = None,
        until: float = math.inf,
    ) -> Users:
        """Users near `clients`' regions, sending predictions of the model through the
        deployment's routing on its backend until `until`, every request into `log` (by default
        a new one, `users.log`); `versions`: other versions of the model that may answer them (a
        rollout's)."""
        if self.router is None:
            raise FlowError("start_users needs routing: call routing_setup first")
        workload = Workload(tuple(clients), self.model, tuple(versions))
        if log is None:
            log = RequestLog(workload.regions, self.regions)
        users = self.backend.users(self.router, self.health_view, workload, log, self.seed)
        users.start(until)
        return users

    def give_up(self, summary: str) -> None:
        """End the trace unfinished (outcome `incomplete`), e.g. when a call was left out."""
        self._check_call("give_up")
        self._end("incomplete", summary)

    # -- internals ----------------------------------------------------------------------------

    def _variables(self) -> dict[str, Any]:
        return {
            "regions": self.regions,
            "deployment_status": self.deployment_status,
            "verification_status": self.verification_status,
            "routing_configured": self.routing_configured,
            "monitoring_active": self.monitoring_active,
        }

    def _scope(self, regions: Sequence[str]) -> str:
        return "all regions" if list(regions) == self.regions else ", ".join(regions)

    def _done(self) -> set[str]:
        return {r for r, s in self.verification_status.items() if s == "success"} | set(
            self._skipped
        )

    def _check_all(self, name: str, regions: Sequence[str]) -> None:
        if isinstance(regions, str) or sorted(regions) != sorted(self.regions):
            raise FlowError(
                f"{name} takes the deployment's regions, {self.regions!r}; got {regions!r}"
            )

    def _check_call(self, name: str, *regions: str) -> None:
        if self.trace.ended:
            raise FlowError(
                f"{name}: this deployment has ended ({self.outcome}); start a new Deployment"
            )
        for region in regions:
            if region not in self.regions:
                raise FlowError(
                    f"{name}({region!r}): not one of this deployment's regions "
                    f"({', '.join(self.regions)})"
                )

    def _step(self, action: str, region: str, result: str) -> None:
        label = LABELS[action].format(region)
        self.trace.record(action, region, result, self.backend.now(), self._variables(), label)

    def _handle_failure(self, region: str, stage: str) -> bool:
        """Apply the policy: True to try again, False when skipped; otherwise halt."""
        what = (
            f"deployment to {region} failed"
            if stage == "deployment"
            else f"verification of {region} failed"
        )
        attempts = self._steps.attempts[region]
        if self.on_failure == "retry" and attempts <= self.max_retries:
            return True
        if self.on_failure == "skip":
            self._pending = None
            self._skipped.append(region)
            self.deployment_status[region] = "skipped"
            self._step("Skip region", region, "Region skipped")
            return False
        if self.on_failure == "rollback":
            for r in reversed([r for r, s in self.deployment_status.items() if s == "success"]):
                self.backend.run(self.backend.rollback(r))
                self.deployment_status[r] = "rolled_back"
                self._step("Roll back deployment", r, "Rolled back")
            self._halt("rolled_back", f"Rolled back: {what}")
        plural = "s" if attempts > 1 else ""
        tries = f" after {attempts} attempt{plural}" if self.on_failure == "retry" else ""
        self._halt("stopped", f"Stopped: {what}{tries}")

    def _end(self, outcome: str, summary: str) -> None:
        self._pending = None
        self.trace.end(outcome, END_LABELS[outcome], summary, self.backend.now(), self._variables())

    def _halt(self, outcome: str, summary: str) -> NoReturn:
        self._end(outcome, summary)
        raise DeploymentHalted(summary, outcome)
