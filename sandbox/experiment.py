"""Failure-injection experiments: run a scenario, measure what users saw, check the hypothesis.

The run deploys the model with the lesson's flow, then sends the scenario's users for
`duration_s` (time 0 is when monitoring starts) while faults switch on and off at their times.
The journal (Chaos Toolkit's spirit) holds no wall-clock fact, so the same seed gives the same
journal, byte for byte.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.backend import Process
from sandbox.flow import COMPLETED, Deployment, run_deployment
from sandbox.health import Transition
from sandbox.records import RequestLog, percentile
from sandbox.regions import RegionCatalog
from sandbox.scenario import Scenario, ScheduledFault
from sandbox.sim import SimFleet
from sandbox.traffic import SimTraffic

PHASES = ("before", "during", "after")
DRAIN_S = 30.0  # after the last arrival, in-flight requests finish


@dataclass
class Experiment:
    """A finished run: the journal, every request, and the deployment that set it up."""

    scenario: Scenario
    journal: dict[str, Any]
    log: RequestLog
    deployment: Deployment
    events: list[dict[str, Any]] = field(default_factory=list)

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
        if j["status"] == "aborted":
            outcome = j["deployment"]["outcome"]
            lines.append(f"The deployment did not complete ({outcome}): no user traffic was sent")
            lines.append("Verdict: deviated")
            return "\n".join(lines)
        interval, threshold = scenario.health.interval_s, scenario.health.failure_threshold
        low, high = interval * (threshold - 1), interval * threshold
        for f in s["per_fault"]:
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
                line += f"; last request sent there {f['failover_s']:g} s in"
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
    if scenario.mode == "live":
        return _run_live(scenario, catalog)
    fleet = SimFleet(catalog, scenario.regions, scenario.regions[0], scenario.seed)
    d = _deploy(scenario, catalog, fleet)
    log, events = _log(scenario), []
    if d.outcome in COMPLETED:
        t0 = fleet.now()
        _watch(d, log.clients, t0, events)
        for fault in scenario.faults:
            fleet.env.process(_schedule(fleet.env, fleet, fault, t0, events))
        traffic = SimTraffic(
            fleet, d.router, d.health_view, scenario.clients, scenario.service, log, scenario.seed
        )
        traffic.start(until=t0 + scenario.duration_s)
        fleet.advance(scenario.duration_s + DRAIN_S)
        log.t = array("d", (t - t0 for t in log.t))
    return _finish(scenario, d, log, events)


def _run_live(scenario: Scenario, catalog: RegionCatalog) -> Experiment:
    """The scenario on real servers: users send real requests through the gateway."""
    from concurrent.futures import ThreadPoolExecutor

    import simpy.rt

    from sandbox.live.fleet import LiveFleet
    from sandbox.live.traffic import SENDERS, LiveTraffic

    fleet = LiveFleet(
        scenario.regions,
        catalog=catalog,
        time_scale=scenario.time_scale,
        seed=scenario.seed,
        processes=scenario.processes,
    )
    with fleet:
        d = _deploy(scenario, catalog, fleet)
        log, events = _log(scenario), []
        if d.outcome in COMPLETED:
            t0 = fleet.now()
            _watch(d, log.clients, t0, events)
            env = simpy.rt.RealtimeEnvironment(
                initial_time=t0, factor=scenario.time_scale, strict=False
            )
            for fault in scenario.faults:
                env.process(_schedule(env, fleet, fault, t0, events))
            traffic = LiveTraffic(fleet, d.model, scenario.clients, log, scenario.seed)
            with ThreadPoolExecutor(SENDERS, thread_name_prefix="user") as pool:
                traffic.start(env, pool, t0, t0 + scenario.duration_s)
                env.run(until=t0 + scenario.duration_s)
            traffic.close()
    return _finish(scenario, d, log, events)


def _deploy(scenario: Scenario, catalog: RegionCatalog, backend: Any) -> Deployment:
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
    scenario: Scenario, d: Deployment, log: RequestLog, events: list[dict[str, Any]]
) -> Experiment:
    events.sort(key=lambda e: e["t"])
    return Experiment(scenario, _journal(scenario, d, log, events), log, d, events)


def _schedule(env: Any, fleet: Any, fault: ScheduledFault, t0: float, events: list) -> Process:
    yield env.timeout(max(0.0, t0 + fault.start_s - env.now))
    fleet.inject(fault.region, [fault.fault])
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


def _window(scenario: Scenario) -> tuple[float, float] | None:
    """From the first fault's start to the last fault's end (or the run's end)."""
    if not scenario.faults:
        return None
    start = min(f.start_s for f in scenario.faults)
    end = max(f.end_s if f.end_s is not None else scenario.duration_s for f in scenario.faults)
    return start, end


def _phase_of(t: float, window: tuple[float, float] | None) -> str:
    if window is None or t < window[0]:
        return "before"
    return "during" if t < window[1] else "after"


def _summary(scenario: Scenario, log: RequestLog, events: list[dict]) -> dict[str, Any]:
    window = _window(scenario)
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
        "per_fault": [_per_fault(f, log, events) for f in scenario.faults],
    }


def _per_fault(fault: ScheduledFault, log: RequestLog, events: list[dict]) -> dict[str, Any]:
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
    }


def _steady_states(scenario: Scenario, summary: dict) -> dict[str, dict[str, Any]]:
    hypothesis = scenario.steady_state
    states = {}
    for phase in PHASES:
        measured = summary["phases"][phase]
        checks = []
        if hypothesis.max_error_rate is not None and measured["error_rate"] is not None:
            checks.append(
                {
                    "probe": "error_rate",
                    "tolerance": hypothesis.max_error_rate,
                    "value": measured["error_rate"],
                    "held": measured["error_rate"] <= hypothesis.max_error_rate,
                }
            )
        p99 = measured["latency_ms"]["p99"]
        if hypothesis.max_p99_ms is not None and p99 is not None:
            checks.append(
                {
                    "probe": "p99_ms",
                    "tolerance": hypothesis.max_p99_ms,
                    "value": p99,
                    "held": p99 <= hypothesis.max_p99_ms,
                }
            )
        states[phase] = {"held": all(c["held"] for c in checks), "probes": checks}
    return states


def _journal(
    scenario: Scenario, d: Deployment, log: RequestLog, events: list[dict]
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
        "steady_states": steady,
        "summary": summary,
        "events": events,
        "scenario": scenario.document,
    }
