"""An experiment's journal: per phase, per fault and per version, what users saw, and whether the
steady-state hypothesis held; no wall-clock fact, so the same seed gives the same bytes."""

from __future__ import annotations

from typing import Any

from sandbox.core.expectations import Expected, expected_detection, expected_failover
from sandbox.core.records import RequestLog
from sandbox.core.regions import RegionCatalog
from sandbox.core.timing import live_timeout_s
from sandbox.experiment.scenario import Scenario, ScheduledFault
from sandbox.experiment.summary import PHASES, FaultTraffic, latency, summarize
from sandbox.flow.deployment import COMPLETED, Deployment
from sandbox.flow.plan import verdict
from sandbox.flow.rollout import Rollout


def phase_window(scenario: Scenario, events: list[dict]) -> tuple[float, float] | None:
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


def expectations(
    scenario: Scenario, fault: ScheduledFault, catalog: RegionCatalog
) -> tuple[Expected, Expected]:
    """What the probe timing model implies for `fault` in a run of `scenario`: when its region
    is marked unhealthy, and how long users may still be sent there."""
    rtt_s = catalog.rtt_ms(scenario.regions[0], fault.region) / 1000.0
    health = scenario.health
    live = scenario.mode == "live"
    probe_timeout = live_timeout_s(health.timeout_s, scenario.time_scale) if live else None
    detection = expected_detection(fault.fault, health, rtt_s, probe_timeout)
    others = len(scenario.regions) - 1
    return detection, expected_failover(detection, scenario.routing.dns_ttl_s, others)


def _summary(
    scenario: Scenario, log: RequestLog, events: list[dict], catalog: RegionCatalog
) -> dict[str, Any]:
    s = summarize(log, scenario.faults, phase_window(scenario, events))
    return {
        "sent": s.sent,
        "succeeded": s.succeeded,
        "failed": s.sent - s.succeeded,
        "wrong_answers": s.wrong,
        "availability": round(s.succeeded / s.sent, 6) if s.sent else None,
        "latency_ms": latency(s.answered()),
        "phases": {name: phase.record() for name, phase in s.phases.items()},
        "traffic_share": s.shares(log),
        "per_fault": [_per_fault(scenario, f, events, catalog) for f in s.faults],
        "by_version": s.versions(log),
    }


def _per_fault(
    scenario: Scenario, traffic: FaultTraffic, events: list[dict], catalog: RegionCatalog
) -> dict[str, Any]:
    fault = traffic.fault
    if fault.fault.version is not None:  # no probe sees it: what it did to that version there
        return {
            "region": fault.region,
            "kind": fault.fault.kind,
            "version": fault.fault.version,
            "start_s": fault.start_s,
            "end_s": fault.end_s,
            "requests": traffic.requests,
            "failed": traffic.failed,
        }
    end = fault.end_s

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
    last = traffic.last_sent
    up = first("health_healthy", end) if end is not None else None
    detection, failover = expectations(scenario, fault, catalog)
    return {
        "region": fault.region,
        "kind": fault.fault.kind,
        "start_s": fault.start_s,
        "end_s": end,
        "detection_s": round(down - fault.start_s, 3) if down is not None else None,
        "failover_s": round(last - fault.start_s, 3) if last is not None and taken else None,
        "recovery_s": round(up - end, 3) if up is not None and end is not None else None,
        "expected_detection_s": detection.bounds,
        "expected_failover_s": failover.bounds,
        "why": {"detection": detection.why, "failover": failover.why},
    }


def _steady_states(scenario: Scenario, summary: dict) -> dict[str, dict[str, Any]]:
    """Per phase: held, deviated (False), or inconclusive (None: nothing measured, or nothing to
    check), with each probe and why it had no value."""
    states = {}
    for phase in PHASES:
        measured = summary["phases"][phase]
        unsent = "no request was sent in this phase"
        checks = scenario.steady_state.probes(
            measured["error_rate"], measured["latency_ms"]["p99"], unsent
        )
        state: dict[str, Any] = {"held": verdict(checks), "probes": checks}
        if not checks:
            state["why"] = "[steady_state] sets no tolerance: there is nothing to check"
        states[phase] = state
    return states


def journal(
    scenario: Scenario,
    d: Deployment,
    log: RequestLog,
    events: list[dict],
    rollout: Rollout | None,
    t0: float,
) -> dict[str, Any]:
    completed = d.outcome in COMPLETED
    summary = _summary(scenario, log, events, d.catalog)
    steady = _steady_states(scenario, summary)
    return {
        "name": scenario.name,
        "seed": scenario.seed,
        "status": "completed" if completed else "aborted",
        "deviated": not completed or any(s["held"] is False for s in steady.values()),
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
