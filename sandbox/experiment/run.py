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
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.health import Transition
from sandbox.core.models import load_model
from sandbox.core.records import NONE, RequestLog, percentile
from sandbox.core.regions import RegionCatalog
from sandbox.experiment.scenario import Scenario, ScheduledFault
from sandbox.flow.backend import Backend, Process
from sandbox.flow.deployment import COMPLETED, Deployment, run_deployment
from sandbox.flow.rollout import BAKE_HYPOTHESIS, Rollout
from sandbox.sim.fleet import SimFleet

PHASES = ("before", "during", "after")


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

    @property
    def deviated(self) -> bool:
        return bool(self.journal["deviated"])

    def report(self) -> str:
        """A readable summary, the analytic expectation beside each measurement."""
        j, scenario = self.journal, self.scenario
        s = j["summary"]
        lines = [
            f"Experiment: {j['name']} (seed {j['seed']}, {scenario.duration_s:g} s "
            f"{'simulated' if scenario.mode == 'sim' else 'emulated on a live fleet'})",
            f"Deployment: {j['deployment']['outcome']}; status: {j['status']}",
            f"Requests: {s['sent']} sent, {s['succeeded']} succeeded, {s['failed']} failed "
            f"({s['wrong_answers']} of them wrong answers; availability "
            f"{s['availability'] if s['availability'] is not None else '-'})",
            f"Latency (ms): p50 {s['latency_ms']['p50']}, p95 {s['latency_ms']['p95']}, "
            f"p99 {s['latency_ms']['p99']}",
            "Traffic share: " + ", ".join(f"{r} {v:.1%}" for r, v in s["traffic_share"].items()),
        ]
        r = j["rollout"]
        if r is not None:
            lines.append(
                f"Rollout ({r['strategy']}) {r['from_version']} -> {r['to_version']} from "
                f"{r['start_s']:g} s to {r['end_s']:g} s: {r['outcome']} ({r['summary']})"
            )
            for b in r["bakes"]:
                verdict = {True: "held", False: "deviated", None: "inconclusive"}[b["held"]]
                lines.append(
                    f"Bake of wave {b['wave']} ({', '.join(b['regions'])}) from {b['since_s']:g} s "
                    f"for {b['bake_s']:g} s: {r['to_version']} served {b['requests']} predictions, "
                    f"{b['failed']} failed: {verdict}"
                )
        if len(s["by_version"]) > 1:
            lines.append(
                "Answers by version: "
                + ", ".join(
                    f"{v} {n['share']:.1%} ({n['failed']} failed)"
                    for v, n in s["by_version"].items()
                )
            )
        if j["status"] == "aborted":
            outcome = j["deployment"]["outcome"]
            lines.append(f"The deployment did not complete ({outcome}): no user traffic was sent")
            lines.append("Verdict: deviated")
            return "\n".join(lines)
        interval, threshold = scenario.health.interval_s, scenario.health.failure_threshold
        low, high = interval * (threshold - 1), interval * threshold
        for f in s["per_fault"]:
            if "version" in f:
                lines.append(
                    f"Fault {f['kind']} of version {f['version']} in {f['region']} from "
                    f"{f['start_s']:g} s: {f['requests']} answers of that version there, "
                    f"{f['failed']} of them failed after retries"
                )
                continue
            found = (
                f"marked unhealthy after {f['detection_s']:g} s"
                if f["detection_s"] is not None
                else "never marked unhealthy by the probes"
            )
            line = (
                f"Fault {f['kind']} in {f['region']} at {f['start_s']:g} s: {found} (for a "
                f"region that stops answering, expected between {low:g} and {high:g} s: "
                f"{threshold} failed probes {interval:g} s apart, the first one up to a probe "
                "interval after the start)"
            )
            if f["failover_s"] is not None:
                line += (
                    f"; last request sent there {f['failover_s']:g} s in (expected at most "
                    f"interval x threshold + DNS TTL = {interval:g} x {threshold} + "
                    f"{scenario.routing.dns_ttl_s:g} = {f['expected_failover_s']:g} s)"
                )
            if f["recovery_s"] is not None:
                line += f"; healthy again {f['recovery_s']:g} s after it ended"
            lines.append(line)
        for phase, state in j["steady_states"].items():
            probes = ", ".join(
                f"{p['probe']} {p['value']} (max {p['tolerance']:g})" for p in state["probes"]
            )
            lines.append(
                f"Steady state {phase}: {'held' if state['held'] else 'DEVIATED'}"
                + (f": {probes}" if probes else "")
            )
        lines.append(f"Verdict: {'deviated' if j['deviated'] else 'steady state held'}")
        return "\n".join(lines)


def _latency(values: array) -> dict[str, float | None]:
    ordered = sorted(values)
    return {f"p{p}": percentile(ordered, p) for p in (50, 95, 99)}


def run_experiment(scenario: Scenario, catalog: RegionCatalog | None = None) -> Experiment:
    """Run `scenario` (in simulation, or on a live fleet) and return its journal and requests."""
    catalog = catalog or RegionCatalog.default()
    log, events, rollout, t0 = _log(scenario), [], None, 0.0
    warnings: list[str] = []
    with _backend(scenario, catalog) as backend:
        d = _deploy(scenario, catalog, backend)
        if d.outcome in COMPLETED:
            t0 = backend.now()
            _watch(d, log.clients, t0, events)
            for fault in scenario.faults:
                backend.spawn(_schedule(backend, fault, t0, events))
            versions = (load_model(scenario.rollout.model),) if scenario.rollout else ()
            until = t0 + scenario.duration_s
            users = d.start_users(scenario.clients, versions=versions, log=log, until=until)
            try:
                if scenario.rollout is not None:
                    users.until = math.inf  # the users go on while the rollout runs
                    backend.advance(scenario.rollout.start_s)
                    rollout = _rollout(scenario, d).run()
                    users.until = max(t0 + scenario.duration_s, backend.now())
                backend.advance(users.until - backend.now())
            finally:
                users.close()
            warnings = users.warnings()
    log.t = array("d", (t - t0 for t in log.t))
    experiment = _finish(scenario, d, log, events, rollout, t0)
    experiment.warnings += warnings
    return experiment


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
    """Record health transitions, and the routing changes they cause, as events."""
    view, router = d.health_view, d.router
    assert view is not None and router is not None, "a completed deployment routes and monitors"

    def first_choice(client: str) -> str:
        return router.plan(client, view.healthy_regions(), view.error_rate)[0][0]

    choice = {client: first_choice(client) for client in clients}

    def on_transition(t: Transition) -> None:
        at = round(t.t - t0, 3)
        events.append(
            {"t": at, "event": f"health_{t.state}", "region": t.region, "source": t.source}
        )
        for client in clients:
            now = first_choice(client)
            if now != choice[client]:
                events.append(
                    {
                        "t": at,
                        "event": "routing_change",
                        "client": client,
                        "from": choice[client],
                        "to": now,
                    }
                )
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
    journal = _journal(scenario, d, log, events, rollout, t0)
    return Experiment(scenario, journal, log, d, events, rollout)


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
        yield env.timeout(fault.fault.duration_s)
        events.append(
            {
                "t": fault.end_s,
                "event": "fault_end",
                "region": fault.region,
                "kind": fault.fault.kind,
            }
        )


def _window(scenario: Scenario, events: list[dict]) -> tuple[float, float] | None:
    """From the first fault's or the rollout's start to the last one's end (or the run's)."""
    spans = [
        (f.start_s, f.end_s if f.end_s is not None else scenario.duration_s)
        for f in scenario.faults
    ]
    steps = [e["t"] for e in events if e["event"] == "rollout_step"]
    if steps:
        spans.append((steps[0], steps[-1]))
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def _phase_of(t: float, window: tuple[float, float] | None) -> str:
    if window is None or t < window[0]:
        return "before"
    return "during" if t < window[1] else "after"


def _summary(scenario: Scenario, log: RequestLog, events: list[dict]) -> dict[str, Any]:
    window = _window(scenario, events)
    sent = len(log)
    succeeded = sum(log.ok)
    answered = [i for i in range(sent) if log.ok[i] or log.wrong[i]]
    served = Counter(log.region[i] for i in answered)
    phases: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        picked = [i for i in range(sent) if _phase_of(log.t[i], window) == phase]
        ok = [i for i in picked if log.ok[i]]
        phases[phase] = {
            "sent": len(picked),
            "failed": len(picked) - len(ok),
            "error_rate": round((len(picked) - len(ok)) / len(picked), 6) if picked else None,
            "latency_ms": _latency(array("d", (log.latency_ms[i] for i in ok))),
        }
    ok_latency = array("d", (log.latency_ms[i] for i in range(sent) if log.ok[i]))
    return {
        "sent": sent,
        "succeeded": succeeded,
        "failed": sent - succeeded,
        "wrong_answers": sum(log.wrong),
        "availability": round(succeeded / sent, 6) if sent else None,
        "latency_ms": _latency(ok_latency),
        "phases": phases,
        "traffic_share": {
            region: round(served[i] / len(answered), 6) if answered else 0.0
            for i, region in enumerate(log.regions)
        },
        "per_fault": [_per_fault(scenario, f, log, events) for f in scenario.faults],
        "by_version": _by_version(log),
    }


def _by_version(log: RequestLog) -> dict[str, dict[str, float | int]]:
    """Per model version: the requests it answered last, how many failed, and its share."""
    counts: Counter[int] = Counter(log.version)
    failed: Counter[int] = Counter(v for v, ok in zip(log.version, log.ok, strict=True) if not ok)
    answered = sum(n for v, n in counts.items() if v >= 0)
    return {
        name: {
            "requests": counts[i],
            "failed": failed[i],
            "share": round(counts[i] / answered, 6) if answered else 0.0,
        }
        for i, name in enumerate(log.versions.names)
    }


def _per_version_fault(fault: ScheduledFault, log: RequestLog) -> dict[str, Any]:
    """No probe sees a version's fault: what it did to that version's answers there."""
    region, version = log.regions.index(fault.region), log.versions.find(fault.fault.version)
    end = fault.end_s if fault.end_s is not None else math.inf
    hit = [
        i
        for i in range(len(log))
        if version != NONE
        and log.region[i] == region
        and log.version[i] == version
        and fault.start_s <= log.t[i] < end
    ]
    return {
        "region": fault.region,
        "kind": fault.fault.kind,
        "version": fault.fault.version,
        "start_s": fault.start_s,
        "end_s": fault.end_s,
        "requests": len(hit),
        "failed": sum(1 for i in hit if not log.ok[i]),
    }


def _per_fault(
    scenario: Scenario, fault: ScheduledFault, log: RequestLog, events: list[dict]
) -> dict[str, Any]:
    if fault.fault.version is not None:
        return _per_version_fault(fault, log)
    end = fault.end_s
    region = log.regions.index(fault.region)

    def first(kind: str, after: float) -> float | None:
        times = [
            e["t"]
            for e in events
            if e["event"] == kind
            and e.get("region") == fault.region
            and e.get("source") == "probe"
            and e["t"] >= after
        ]
        return times[0] if times else None

    down = first("health_unhealthy", fault.start_s)
    during = [
        e
        for e in events
        if e.get("region") == fault.region
        and fault.start_s <= e["t"]
        and (end is None or e["t"] < end)
    ]
    taken = any(e["event"] in ("health_unhealthy", "health_ejected") for e in during)
    sent_there = [
        log.t[i]
        for i in range(len(log))
        if log.first[i] == region
        and fault.start_s <= log.t[i] < (end if end is not None else math.inf)
    ]
    up = first("health_healthy", end) if end is not None else None
    return {
        "region": fault.region,
        "kind": fault.fault.kind,
        "start_s": fault.start_s,
        "end_s": end,
        "detection_s": round(down - fault.start_s, 3) if down is not None else None,
        "failover_s": round(max(sent_there) - fault.start_s, 3) if sent_there and taken else None,
        "recovery_s": round(up - end, 3) if up is not None and end is not None else None,
        "expected_failover_s": expected_failover_s(scenario),
    }


def expected_failover_s(scenario: Scenario) -> float:
    """How long users may still be sent to a region that stopped answering: probes take up to
    interval x failure_threshold to mark it down, and clients keep a DNS answer for its TTL."""
    health = scenario.health
    return health.interval_s * health.failure_threshold + scenario.routing.dns_ttl_s


def _steady_states(scenario: Scenario, summary: dict) -> dict[str, dict[str, Any]]:
    states = {}
    for phase in PHASES:
        measured = summary["phases"][phase]
        checks = scenario.steady_state.probes(measured["error_rate"], measured["latency_ms"]["p99"])
        states[phase] = {"held": all(c["held"] for c in checks), "probes": checks}
    return states


def _journal(
    scenario: Scenario,
    d: Deployment,
    log: RequestLog,
    events: list[dict],
    rollout: Rollout | None,
    t0: float,
) -> dict[str, Any]:
    completed = d.outcome in COMPLETED
    summary = _summary(scenario, log, events)
    steady = _steady_states(scenario, summary)
    return {
        "name": scenario.name,
        "seed": scenario.seed,
        "status": "completed" if completed else "aborted",
        "deviated": not completed or not all(s["held"] for s in steady.values()),
        "deployment": {"outcome": d.outcome, "steps": len(d.trace.steps)},
        "rollout": _rollout_record(rollout, t0),
        "steady_states": steady,
        "summary": summary,
        "events": events,
        "scenario": scenario.document,
    }


def _rollout_record(rollout: Rollout | None, t0: float) -> dict[str, Any] | None:
    """The rollout in the journal: versions, waves, outcome, and each bake's evidence."""
    if rollout is None:
        return None
    steps = rollout.trace.steps
    return {
        "strategy": rollout.plan.strategy,
        "from_version": rollout.previous.version,
        "to_version": rollout.model.version,
        "waves": rollout.waves,
        "outcome": rollout.outcome,
        "summary": steps[-1].next_step,
        "start_s": round(steps[0].t - t0, 3),
        "end_s": round(steps[-1].t - t0, 3),
        "bakes": [b | {"since_s": round(b["since_s"] - t0, 3)} for b in rollout.bakes],
    }
