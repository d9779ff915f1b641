"""A fault's detection and failover in a run, beside the bounds the probe timing model gives them
(the journal's, from `sandbox.core.expectations`: the same model runs the probes): the timing of
a run's fault, several runs' side by side, and the probes and events around the fault."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.core.expectations import Expected
from sandbox.experiment.run import Experiment
from sandbox.flow.tables import Table

EARLIER_PROBES = 2  # probes of the region before its fault that `probe_table` shows


@dataclass(frozen=True)
class Timing:
    """When the probes marked a fault's region unhealthy (`detection_s`) and when the last
    request was sent there (`failover_s`), in seconds after the fault started, each with the
    bounds the probe timing model gives it; None where nothing was measured or expected."""

    region: str
    kind: str
    start_s: float
    end_s: float | None
    interval_s: float
    failure_threshold: int
    detection_s: float | None
    detection_bounds: tuple[float, float] | None
    failover_s: float | None
    failover_bounds: tuple[float, float] | None
    why: str

    @property
    def rule_s(self) -> float:
        """The rule of thumb: `interval_s x failure_threshold`."""
        return self.interval_s * self.failure_threshold

    def holds(self) -> bool:
        """Whether each measurement is inside its bounds (none where none are expected)."""
        return all(
            _expected(bounds).holds(measured)
            for measured, bounds in (
                (self.detection_s, self.detection_bounds),
                (self.failover_s, self.failover_bounds),
            )
        )


def _expected(bounds: tuple[float, float] | None) -> Expected:
    low, high = bounds if bounds is not None else (None, None)
    return Expected(low, high, "")


def _fault(experiment: Experiment, fault: int) -> dict[str, Any]:
    faults = experiment.journal["summary"]["per_fault"]
    if not faults:
        raise ValueError(f"the scenario {experiment.scenario.name!r} has no fault to time")
    if not 0 <= fault < len(faults):
        raise ValueError(f"fault {fault}: the scenario has faults 0 to {len(faults) - 1}")
    found: dict[str, Any] = faults[fault]
    if "detection_s" not in found:
        version = found.get("version")
        raise ValueError(f"fault {fault} hits version {version}'s predictions: no probe sees it")
    return found


def timing(experiment: Experiment, fault: int = 0) -> Timing:
    """The timing of the `fault`-th fault of `experiment` (by the scenario's order)."""
    f = _fault(experiment, fault)
    detection, failover = f["expected_detection_s"], f["expected_failover_s"]
    health = experiment.scenario.health
    return Timing(
        region=f["region"],
        kind=f["kind"],
        start_s=f["start_s"],
        end_s=f["end_s"],
        interval_s=health.interval_s,
        failure_threshold=health.failure_threshold,
        detection_s=f["detection_s"],
        detection_bounds=tuple(detection) if detection else None,
        failover_s=f["failover_s"],
        failover_bounds=tuple(failover) if failover else None,
        why=f["why"]["detection"],
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _bounds(bounds: tuple[float, float] | None) -> str:
    return "-" if bounds is None else f"{bounds[0]:g} to {bounds[1]:g}"


def timing_table(runs: Mapping[str, Experiment], title: str = "Detection and failover") -> Table:
    """A row per run (`{label: experiment}`), of its first fault: the health checks' settings,
    the rule of thumb, the bounds the sandbox computes beside each measurement, in seconds
    after the fault started."""
    if not runs:
        raise ValueError("give at least one run, as {label: experiment}")
    rows = []
    for label, experiment in runs.items():
        t = timing(experiment)
        rows.append(
            (
                label,
                f"{t.interval_s:g}",
                str(t.failure_threshold),
                f"{t.rule_s:g}",
                _bounds(t.detection_bounds),
                _seconds(t.detection_s),
                _bounds(t.failover_bounds),
                _seconds(t.failover_s),
                "yes" if t.holds() else "no",
            )
        )
    headers = (
        "run",
        "interval_s",
        "failure_threshold",
        "interval x threshold",
        "detection: bounds",
        "detection: measured",
        "failover: bounds",
        "failover: measured",
        "inside the bounds",
    )
    return Table(f"{title} (s after the fault started)", headers, tuple(rows))


def _event(event: dict[str, Any], region: str) -> str | None:
    """What an event of the run says about `region`, or None when it is not about it."""
    kind = event["event"]
    if kind == "routing_change" and region in (event["from"], event["to"]):
        return f"users near {event['client']} sent to {event['to']} (were: {event['from']})"
    if event.get("region") != region:
        return None
    said = {
        "fault_start": f"fault starts: {event.get('kind')}",
        "fault_end": f"fault ends: {event.get('kind')}",
        "health_unhealthy": f"marked unhealthy ({event.get('source')})",
        "health_healthy": f"healthy again ({event.get('source')})",
        "health_ejected": "ejected by outlier detection",
        "health_returned": "back from its ejection",
    }
    return said.get(kind)


def probe_table(experiment: Experiment, fault: int = 0) -> Table:
    """The probes of a fault's region from shortly before the fault until it was marked
    unhealthy (or the fault ended), each failed one with its count in a row, among the run's
    events about the region and the last request sent there."""
    f = _fault(experiment, fault)
    region, start = f["region"], f["start_s"]
    ends = start + f["detection_s"] if f["detection_s"] is not None else f["end_s"]
    ends = experiment.scenario.duration_s if ends is None else ends
    probes = experiment.probes(region)
    before = [t for t, _ in probes if t < start][-EARLIER_PROBES:]
    since = before[0] if before else start
    rows: list[tuple[float, str]] = []
    streak = 0
    for t, ok in probes:
        streak = 0 if ok else streak + 1
        if since <= t <= ends:
            rows.append((t, "probe passed" if ok else f"probe failed ({streak} in a row)"))
    for event in experiment.events:
        said = _event(event, region)
        if said and since <= event["t"] <= ends:
            rows.append((event["t"], said))
    if f["failover_s"] is not None:
        rows.append((start + f["failover_s"], f"the last request sent to {region}"))
    rows.sort(key=lambda row: row[0])  # stable: a probe before the verdict it gives
    shown = tuple((f"{t:.3f}", f"{t - start:+.3f}", what) for t, what in rows)
    title = f"Probes of {region} and what happened there (its fault starts at {start:g} s)"
    return Table(title, ("t (s)", "since the fault (s)", "what"), shown)
