"""Failure-injection experiments: run a scenario, measure what users saw, check the hypothesis.

The run deploys the model with the lesson's flow, then sends the scenario's users for
`duration_s` (time 0 is when monitoring starts) while faults switch on and off at their times.
With a `[rollout]`, a new version of the model is rolled out over the serving fleet from
`rollout.start_s` on (its bakes watch those users), and the users go on until it has ended.
The journal (Chaos Toolkit's spirit) holds no wall-clock fact, so the same seed gives the same
journal, byte for byte.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.core import progress
from sandbox.core.health import Transition
from sandbox.core.models import load_model
from sandbox.core.records import RequestLog
from sandbox.core.regions import RegionCatalog
from sandbox.experiment.bounds import emulated_s
from sandbox.experiment.journal import journal
from sandbox.experiment.report import report
from sandbox.experiment.scenario import Scenario, ScheduledFault
from sandbox.flow.backend import Backend, Process
from sandbox.flow.deployment import COMPLETED, Deployment
from sandbox.flow.plan import BAKE_HYPOTHESIS
from sandbox.flow.rollout import Rollout
from sandbox.flow.sample import run_deployment
from sandbox.sim.fleet import SimFleet


@dataclass
class Experiment:
    """A finished run: the journal, every request, and the deployment that set it up."""

    scenario: Scenario
    journal: dict[str, Any]
    log: RequestLog
    deployment: Deployment
    events: list[dict[str, Any]] = field(default_factory=list)
    rollout: Rollout | None = None
    warnings: list[str] = field(default_factory=list)  # wall-clock facts, kept out of the journal
    t0: float = 0.0  # the backend's time when the users started: the journal's time 0
    started_at: datetime | None = None  # the wall-clock time then (live only; not in the journal)

    def probes(self, region: str) -> list[tuple[float, bool]]:
        """Every health probe result of `region`: (seconds on the journal's clock, passed)."""
        view = self.deployment.health_view
        log = view.probe_log if view is not None else []
        return [(round(t - self.t0, 3), ok) for t, r, ok in log if r == region]

    @property
    def deviated(self) -> bool:
        return bool(self.journal["deviated"])

    def served_by(self, version: str) -> int:
        """The users' requests model version `version` served last, answered or failed (a
        failed attempt retried elsewhere counts for the retry's version; 0 when it served none):
        what `users_saw` and the rollout figure count as "served last by" it."""
        by_version = self.journal["summary"]["by_version"]
        return int(by_version[version]["requests"]) if version in by_version else 0

    def report(self) -> str:
        """A readable summary, the analytic expectation beside each measurement."""
        return report(self.journal, self.scenario)


def run_experiment(scenario: Scenario, catalog: RegionCatalog | None = None) -> Experiment:
    """Run `scenario` (in simulation, or on a live fleet) and return its journal and requests."""
    catalog = catalog or RegionCatalog.default()
    log, rollout, t0, started_at = _log(scenario), None, 0.0, None
    events: list[dict[str, Any]] = []
    warnings: list[str] = []
    with _backend(scenario, catalog) as backend:
        d = _deploy(scenario, catalog, backend)
        if d.outcome in COMPLETED:
            t0 = backend.now()
            started_at = datetime.now(UTC) if scenario.mode == "live" else None
            _watch(d, log.clients, t0, events)
            for fault in scenario.faults:
                backend.spawn(_schedule(backend, fault, t0, events))
            versions = (load_model(scenario.rollout.model),) if scenario.rollout else ()
            until = t0 + scenario.duration_s
            users = d.start_users(scenario.clients, versions=versions, log=log, until=until)
            if progress.listening():
                backend.spawn(_told(backend, log, t0, emulated_s(scenario)))
            try:
                if scenario.rollout is not None:
                    users.until = math.inf  # the users go on while the rollout runs
                    backend.advance(scenario.rollout.start_s)
                    rolling = _rollout(scenario, d)
                    rolling.trace.subscribe(lambda step, label: progress.report(step=label))
                    rollout = rolling.run()
                    users.until = max(t0 + scenario.duration_s, backend.now())
                backend.advance(users.until - backend.now())
            finally:
                users.close()
            warnings = users.warnings()
    log.origin = t0
    experiment = _finish(scenario, d, log, events, rollout, t0)
    experiment.warnings += warnings
    experiment.started_at = started_at
    return experiment


TOLD_EVERY_S = 0.2  # wall seconds between two reports of a run's progress


def _told(backend: Backend, log: RequestLog, t0: float, horizon: float) -> Process:
    """Report the emulated time and the requests sent about every TOLD_EVERY_S of wall time: a
    process of its own on the run's clock, so the users' path carries nothing for it. Its step
    in emulated time follows the wall time each step took (a simulation runs far faster)."""
    env, step = backend.env, 1.0
    progress.report(done=0.0, total=horizon, step="users")
    while True:
        before = time.perf_counter()
        yield env.timeout(step)
        took = max(time.perf_counter() - before, 1e-6)
        step *= min(4.0, max(0.25, TOLD_EVERY_S / took))
        progress.report(done=env.now - t0, requests=len(log))


def _backend(scenario: Scenario, catalog: RegionCatalog) -> Backend:
    """The fleet the scenario's mode asks for (a live one imports its servers only then)."""
    if scenario.mode == "live":
        from sandbox.live import LiveFleet

        return LiveFleet(
            scenario.regions,
            catalog=catalog,
            time_scale=scenario.time_scale,
            seed=scenario.seed,
            processes=scenario.processes,
        )
    regions = scenario.regions
    return SimFleet(catalog, regions, regions[0], scenario.seed, scenario.service)


def _rollout(scenario: Scenario, d: Deployment) -> Rollout:
    spec = scenario.rollout
    assert spec is not None
    steady = scenario.steady_state
    bounded = steady.max_error_rate is not None or steady.max_p99_ms is not None
    return Rollout(
        d,
        load_model(spec.model),
        spec.plan,
        hypothesis=steady if bounded else BAKE_HYPOTHESIS,
        failures=spec.failures,
    )


def _deploy(scenario: Scenario, catalog: RegionCatalog, backend: Backend) -> Deployment:
    return run_deployment(
        scenario.regions,
        scenario.model,
        on_failure=scenario.on_failure,
        max_retries=scenario.max_retries,
        failures=scenario.failures,
        seed=scenario.seed,
        catalog=catalog,
        health=scenario.health,
        outlier=scenario.outlier,
        routing=scenario.routing,
        backend=backend,
    )


def _log(scenario: Scenario) -> RequestLog:
    return RequestLog(list(dict.fromkeys(c.region for c in scenario.clients)), scenario.regions)


def _watch(d: Deployment, clients: list[str], t0: float, events: list[dict[str, Any]]) -> None:
    """Record health transitions, and the routing changes they cause, as events (with a DNS
    TTL, users move when their cached answer ends, so those moves come from the router)."""
    view, router = d.health_view, d.router
    assert view is not None and router is not None, "a completed deployment routes and monitors"

    def moved(client: str, old: str, new: str, t: float) -> None:
        change = {"client": client, "from": old, "to": new}
        events.append({"t": round(t - t0, 3), "event": "routing_change", **change})

    def first_choice(client: str) -> str:
        return router.plan(client, view.healthy_regions(), view.error_rate)[0][0]

    cached = router.caches
    if cached:
        router.subscribe(lambda client, old, new, t: moved(client, old, new, t))
    choice = {} if cached else {client: first_choice(client) for client in clients}

    def on_transition(t: Transition) -> None:
        at = round(t.t - t0, 3)
        events.append(
            {"t": at, "event": f"health_{t.state}", "region": t.region, "source": t.source}
        )
        for client in choice:  # without a TTL, users move when the health view changes
            now = first_choice(client)
            if now != choice[client]:
                moved(client, choice[client], now, t.t)
                choice[client] = now

    view.subscribe(on_transition)


def _finish(
    scenario: Scenario,
    d: Deployment,
    log: RequestLog,
    events: list[dict[str, Any]],
    rollout: Rollout | None,
    t0: float,
) -> Experiment:
    if rollout is not None:
        events += [
            {"t": round(step.t - t0, 3), "event": "rollout_step", "action": step.action}
            | {"region": step.region, "result": step.result or step.next_step}
            for step in rollout.trace.steps
        ]
    events.sort(key=lambda e: e["t"])
    record = journal(scenario, d, log, events, rollout, t0)
    return Experiment(scenario, record, log, d, events, rollout, t0=t0)


def _schedule(backend: Backend, fault: ScheduledFault, t0: float, events: list) -> Process:
    env = backend.env
    yield env.timeout(max(0.0, t0 + fault.start_s - env.now))
    backend.inject(fault.region, [fault.fault])
    events.append(
        {
            "t": fault.start_s,
            "event": "fault_start",
            "region": fault.region,
            "kind": fault.fault.kind,
        }
    )
    if fault.end_s is not None:
        yield env.timeout(fault.end_s - fault.start_s)
        events.append(
            {
                "t": fault.end_s,
                "event": "fault_end",
                "region": fault.region,
                "kind": fault.fault.kind,
            }
        )
