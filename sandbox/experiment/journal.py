"""An experiment's journal: per phase, per fault and per version, what users saw, and whether the
steady-state hypothesis held; no wall-clock fact, so the same seed gives the same bytes."""

from __future__ import annotations

import math
from array import array
from collections import Counter
from typing import Any

from sandbox.core.expectations import Expected, expected_detection, expected_failover
from sandbox.core.records import NONE, RequestLog, percentile
from sandbox.core.regions import RegionCatalog
from sandbox.core.timing import live_timeout_s
from sandbox.experiment.scenario import Scenario, ScheduledFault
from sandbox.flow.deployment import COMPLETED, Deployment
from sandbox.flow.plan import verdict
from sandbox.flow.rollout import Rollout

PHASES = ("before", "during", "after")


def _latency(values: array) -> dict[str, float | None]:
    ordered = sorted(values)
    return {f"p{p}": percentile(ordered, p) for p in (50, 95, 99)}


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


def _phase_of(t: float, window: tuple[float, float] | None) -> str:
    if window is None or t < window[0]:
        return "before"
    return "during" if t < window[1] else "after"


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
    return detection, expected_failover(detection, scenario.routing.dns_ttl_s)


def _summary(
    scenario: Scenario, log: RequestLog, events: list[dict], catalog: RegionCatalog
) -> dict[str, Any]:
    window = phase_window(scenario, events)
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
        "per_fault": [_per_fault(scenario, f, log, events, catalog) for f in scenario.faults],
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
    region, version = log.regions.index(fault.region), log.versions.find(fault.fault.version or "")
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
    scenario: Scenario,
    fault: ScheduledFault,
    log: RequestLog,
    events: list[dict],
    catalog: RegionCatalog,
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
    detection, failover = expectations(scenario, fault, catalog)
    return {
        "region": fault.region,
        "kind": fault.fault.kind,
        "start_s": fault.start_s,
        "end_s": end,
        "detection_s": round(down - fault.start_s, 3) if down is not None else None,
        "failover_s": round(max(sent_there) - fault.start_s, 3) if sent_there and taken else None,
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
