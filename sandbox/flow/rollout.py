"""Rollouts beyond the lesson: a new version of the model over a fleet serving the previous one.

The regions are taken in waves (`sequential`: one region at a time, the lesson's order; `waves`:
sets of regions together; `canary`: each wave's new version first takes a share of its traffic).
After a wave is deployed and verified its traffic shifts to the new version (`canary`: a share
first) and, for a bake time, the steady-state hypothesis is checked on the predictions the new
version actually served. A deviation, or a deployment or verification that fails after its
retries, rolls every region the new version reached back to the previous version. Every step
goes to a `Trace` that also tracks the version each region serves.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, NoReturn

from sandbox.core import progress
from sandbox.core.faults import Failure, as_failures
from sandbox.core.health import Transition
from sandbox.core.models import Model, load_model
from sandbox.core.records import AttemptLog, Served
from sandbox.errors import DeploymentHalted, InvalidDeployment
from sandbox.flow.deployment import Deployment
from sandbox.flow.plan import (
    BAKE_HYPOTHESIS,
    RolloutPlan,
    SteadyState,
    check_failures,
    check_versions,
    verdict,
)
from sandbox.flow.step import RegionStep
from sandbox.flow.tracer import WATCHED, Trace

ROLLOUT_WATCHED = (*WATCHED, "serving_version")
LABELS = {
    "Start wave": "Start wave {}",
    "Deploy model": "Deploy model to {}",
    "Retry deployment": "Retry deployment to {}",
    "Verify deployment": "Verify deployment in {}",
    "Shift traffic": "Shift traffic in {}",
    "Bake": "Bake wave {}",
    "Roll back deployment": "Roll back deployment in {}",
}
END_LABELS = {"complete": "Rollout complete", "rolled_back": "Rollout rolled back"}


class Rollout:
    """A rollout of `model` over the fleet of a completed `Deployment` of its previous version.

    `attempts` is where the fleet's user traffic is recorded (by default the backend's attempt
    log: the gateway's, or the simulated users'), so that a bake sees what the new version
    served.
    """

    def __init__(
        self,
        deployment: Deployment,
        model: str | os.PathLike[str] | Model,
        plan: RolloutPlan,
        attempts: AttemptLog | None = None,
        *,
        hypothesis: SteadyState = BAKE_HYPOTHESIS,
        failures: Iterable[Failure | str] = (),
        previous: Model | None = None,
    ) -> None:
        """`model`: the new version (a bundled name, an artifact's path, or a `Model`);
        `previous`: the version the regions serve, when a rollout since the deployment changed it
        (by default the deployment's model); `failures`: `Failure`s or `REGION:stage` text,
        as `Deployment` takes them."""
        if deployment.outcome != "complete":
            state = f"ended {deployment.outcome}" if deployment.outcome else "has not run yet"
            raise InvalidDeployment(
                f"a rollout starts from a deployment that completed in every region; this one "
                f"{state}"
            )
        if not isinstance(plan, RolloutPlan):
            raise InvalidDeployment(
                f"plan: expected a RolloutPlan, e.g. RolloutPlan('canary'), got {plan!r}"
            )
        model = model if isinstance(model, Model) else load_model(model)
        self.previous = previous or deployment.model
        check_versions(self.previous, model)
        plan.check(deployment.regions)
        self.model = model
        self.plan = plan
        self.attempts = attempts or deployment.backend.attempt_log()
        self.hypothesis = hypothesis
        self.failures = as_failures(failures)
        check_failures(self.failures, deployment.regions, plan)
        self.backend = deployment.backend
        self.max_retries = deployment.max_retries
        self.regions = list(deployment.regions)
        self.waves = plan.layout(self.regions)
        self._steps = RegionStep(self.backend, model, self._step, self._retry)
        self.deployment_status = self._steps.deployment_status
        self.verification_status = self._steps.verification_status
        self.serving_version = dict.fromkeys(self.regions, self.previous.version)
        self._lesson = {
            "routing_configured": deployment.routing_configured,
            "monitoring_active": deployment.monitoring_active,
        }
        title = (
            f"Rollout of {model.name} {self.previous.version} -> {model.version} to "
            f"{', '.join(self.regions)} ({plan.strategy}: "
            f"{' ; '.join(', '.join(w) for w in self.waves)})"
        )
        self.trace = Trace(
            model.name,
            self._variables(),
            model.version,
            self.backend.clock,
            ROLLOUT_WATCHED,
            title,
        )
        if deployment.health_view is not None:  # what the monitor sees during the rollout
            deployment.health_view.subscribe(self._transition)
        self._touched: dict[str, None] = {}  # regions the new version reached, in order
        self.bakes: list[dict[str, Any]] = []

    @property
    def outcome(self) -> str | None:
        """`complete` or `rolled_back`; None before `run`."""
        return self.trace.outcome

    def run(self) -> Rollout:
        """Take every wave to the new version, or roll back; return self."""
        if self.trace.steps:
            raise InvalidDeployment("this rollout has run; start a new Rollout")
        for region in self.regions:  # users keep the previous version until a shift
            self._split(region, {self.previous.version: 100.0})
        for failure in self.failures:
            self.backend.inject(failure.region, [failure.as_fault(self.model.version)])
        try:
            for number, wave in enumerate(self.waves, 1):
                self._wave(number, wave)
        except DeploymentHalted:
            return self
        self._end("complete", f"Every region serves {self.model.version}")
        return self

    # -- steps ----------------------------------------------------------------------------------

    def _wave(self, number: int, wave: list[str]) -> None:
        self._step("Start wave", ", ".join(wave), f"Wave {number} of {len(self.waves)}", number)
        for region in wave:
            if self._steps.deploy(region):  # retried, or rolled back
                self._touched.setdefault(region)  # the new version is there: roll it back too
                self._steps.verify(region)
        percent = self.plan.percent
        self._shift(wave, percent)
        if self.plan.bake:
            self._bake(number, wave)
        if percent < 100:
            self._shift(wave, 100.0)
        self.trace.mark()

    def _retry(self, region: str, stage: str) -> bool:
        """After a failed deployment or verification: again, up to max_retries, or roll back."""
        attempts = self._steps.attempts[region]
        if attempts > self.max_retries:
            self._roll_back(f"{stage} in {region} failed after {_count(attempts, 'attempt')}")
        return True

    def _shift(self, wave: list[str], percent: float) -> None:
        new, old = self.model.version, self.previous.version
        weights = {new: 100.0} if percent >= 100 else {old: 100.0 - percent, new: percent}
        for region in wave:
            self._split(region, weights)
            self.serving_version[region] = _shares(weights)
        self._step("Shift traffic", ", ".join(wave), f"{percent:g}% to {new}")

    def _bake(self, number: int, wave: list[str]) -> None:
        since = self.backend.now()
        progress.report(step=f"bake of wave {number}, {self.plan.bake:g} s")
        self.backend.advance(self.plan.bake)
        served = self.attempts.served(since, self.backend.now(), wave, self.model.version)
        unsent = f"{self.model.version} served no prediction during the bake"
        probes = self.hypothesis.probes(served.error_rate, served.p99_ms, unsent)
        held = verdict(probes)
        self.bakes.append(
            {
                "wave": number,
                "regions": list(wave),
                "since_s": round(since, 3),
                "bake_s": self.plan.bake,
                "requests": served.requests,
                "failed": served.failed,
                "held": held,
                "probes": probes,
            }
        )
        result = _bake_result(served, probes, self.model.version, self.plan.bake)
        self._step("Bake", ", ".join(wave), result, number)
        if held is False:
            self._roll_back(f"the bake of wave {number} deviated ({result.partition(': ')[2]})")

    def _roll_back(self, why: str) -> NoReturn:
        old = self.previous.version
        for region in reversed(list(self._touched)):
            self._split(region, {old: 100.0})
            self.backend.run(self.backend.withdraw(region, self.model))
            self.deployment_status[region] = "rolled_back"
            self.serving_version[region] = old
            self._step("Roll back deployment", region, f"Rolled back to {old}")
        self._touched.clear()
        self._end("rolled_back", f"Rolled back: {why}")
        raise DeploymentHalted(f"Rolled back: {why}", "rolled_back")

    # -- internals --------------------------------------------------------------------------

    def _transition(self, transition: Transition) -> None:
        if self.trace.steps and not self.trace.ended:
            self.trace.transition(transition)

    def _split(self, region: str, weights: dict[str, float]) -> None:
        self.backend.run(self.backend.set_split(region, weights))

    def _variables(self) -> dict[str, Any]:
        return {
            "regions": self.regions,
            "deployment_status": self.deployment_status,
            "verification_status": self.verification_status,
            **self._lesson,
            "serving_version": self.serving_version,
        }

    def _step(self, action: str, region: str, result: str, label: object = None) -> None:
        text = LABELS[action].format(region if label is None else label)
        self.trace.record(action, region, result, self.backend.now(), self._variables(), text)

    def _end(self, outcome: str, summary: str) -> None:
        self.trace.end(outcome, END_LABELS[outcome], summary, self.backend.now(), self._variables())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _shares(weights: dict[str, float]) -> str:
    """`1.0.0 90% / 1.1.0 10%`, or the one version serving everything."""
    if len(weights) == 1:
        return next(iter(weights))
    return " / ".join(f"{version} {share:g}%" for version, share in weights.items())


def _bake_result(served: Served, probes: list[dict[str, Any]], version: str, bake_s: float) -> str:
    if not served.requests:
        return f"Inconclusive: {version} served no prediction in {bake_s:g} s"
    measured = f"{_count(served.requests, 'prediction')}, {served.failed} failed"
    failing = [p for p in probes if p["held"] is False]
    if failing:
        return f"Deviated: {measured}; " + "; ".join(
            f"{p['probe']} {p['value']:.4g} > {p['tolerance']:g}" for p in failing
        )
    return f"Steady state held: {measured}"
