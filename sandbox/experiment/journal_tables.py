"""A run's journal as tables, with the journal's own names: each fault's timings, and the events
in time order (faults, health transitions, routing changes, rollout steps)."""

from __future__ import annotations

from typing import Any

from sandbox.core.checks import is_number
from sandbox.experiment.run import Experiment
from sandbox.flow.tables import Table

FAULT_KEYS = ("region", "kind", "start_s", "end_s", "detection_s", "failover_s", "recovery_s")


def _run(experiment: object, what: str) -> Experiment:
    if not isinstance(experiment, Experiment):
        said = f"{what} takes an experiment, as run_experiment returns; got {experiment!r}"
        raise TypeError(said)
    return experiment


def _cell(value: object) -> str:
    """A journal value as the journal writes it (seconds to the ms), `-` for none."""
    return "-" if value is None else str(value)


def fault_table(experiment: Experiment) -> Table:
    """A row per fault of the run, under the journal's keys (seconds; detection, failover and
    recovery counted from the fault's start or end; `-` where nothing was measured)."""
    faults = _run(experiment, "fault_table").journal["summary"]["per_fault"]
    rows = tuple(tuple(_cell(fault.get(key)) for key in FAULT_KEYS) for fault in faults)
    return Table("Per fault (s)", FAULT_KEYS, rows)


def _about(event: dict[str, Any]) -> str:
    if event["event"] == "routing_change":
        return f"users near {event['client']}"
    return str(event.get("region") or "-")


def _detail(event: dict[str, Any]) -> str:
    if event["event"] == "routing_change":
        return f"sent to {event['to']} (were sent to {event['from']})"
    if event["event"] == "rollout_step":
        return f"{event['action']}: {event['result']}"
    return str(event.get("source") or event.get("kind") or "")


def event_table(
    experiment: Experiment, since_s: float | None = None, until_s: float | None = None
) -> Table:
    """The run's events from `since_s` to `until_s` (seconds since the users started, both
    included; the whole run by default), in time order: the event, the region it is about (or
    the users near a region, for a routing change) and its detail (what probes or outlier
    detection decided, the fault's kind, where users were sent)."""
    events = _run(experiment, "event_table").events
    for name, value in (("since_s", since_s), ("until_s", until_s)):
        if value is not None and not is_number(value):
            raise TypeError(f"event_table's {name} should be seconds (a number), got {value!r}")
    if since_s is not None and until_s is not None and since_s > until_s:
        raise ValueError(
            f"event_table: since_s ({since_s:g}) is after until_s ({until_s:g}); "
            "give the earlier time first"
        )
    low = -float("inf") if since_s is None else since_s
    high = float("inf") if until_s is None else until_s
    rows = tuple(
        (str(e["t"]), e["event"], _about(e), _detail(e)) for e in events if low <= e["t"] <= high
    )
    headers = ("t (s)", "event", "about", "detail")
    return Table("Events", headers, rows)
