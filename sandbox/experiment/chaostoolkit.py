"""An experiment's journal in Chaos Toolkit's shape (chaoslib's `initialize_run_journal` and
`run_steady_state_hypothesis`), mapped from the sandbox's own journal.

The embedded `experiment` is the scenario in Chaos Toolkit's experiment format: a hypothesis probe
per `[steady_state]` tolerance (a `range` tolerance from 0 to it), an action per fault (and one
for a rollout), no rollbacks (the fleet stops when the run ends). Every activity's provider is
the command that reproduces the run (`mrsandbox experiment SCENARIO --mode MODE`): the sandbox
runs the whole scenario itself, and the same seed gives the same values. The scenario document
travels in the `mrsandbox` extension.

Each probe's `output` is the value the sandbox measured over a phase and its `tolerance_met` is
the sandbox's verdict (`null` when nothing was measured: inconclusive); `during` holds one state.
A probe's `start`..`end` is the phase it measured; an action's is its fault's life. Times are the
emulated clock's seconds from when the users started, placed on a calendar: in sim
mode the Unix epoch, with `platform` and `node` naming the simulation (no fact of the machine: the
same seed gives the same bytes anywhere); in live mode the wall-clock time when the users started,
on this machine's platform and node.
`chaoslib-version` is null: no chaoslib ran the experiment."""

from __future__ import annotations

import platform
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.experiment.journal import phase_window
from sandbox.experiment.run import Experiment
from sandbox.experiment.summary import PHASES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SIMULATION = "mrsandbox simulation"  # the platform and node of a simulated run

PROBE_NAMES = {"error_rate": "users-error-rate", "p99_ms": "users-p99-latency-ms"}


def chaostoolkit_journal(result: Experiment) -> dict[str, Any]:
    """`result`'s journal as Chaos Toolkit writes one."""
    own, scenario = result.journal, result.scenario
    origin = result.started_at or EPOCH
    live = result.started_at is not None

    def at(t: float) -> str:
        return (origin + timedelta(seconds=t)).isoformat()

    def run(activity: dict[str, Any], output: Any, start: float, end: float) -> dict[str, Any]:
        span = {"start": at(start), "status": "succeeded", "end": at(end)}
        return {"activity": activity, "output": output} | span | {"duration": round(end - start, 3)}

    provider = {
        "type": "process",
        "path": "mrsandbox",
        "arguments": ["experiment", scenario.source, "--mode", scenario.mode],
    }
    probes = [
        {
            "type": "probe",
            "name": PROBE_NAMES[check["probe"]],
            "tolerance": {"type": "range", "range": [0, check["tolerance"]]},
            "provider": provider,
        }
        for check in own["steady_states"]["before"]["probes"]
    ]
    actions = [(fault, _fault_action(fault, provider)) for fault in own["summary"]["per_fault"]]
    rollout = own["rollout"]
    if rollout is not None:
        name = f"rollout-{rollout['to_version']}-{rollout['strategy']}"
        actions.append((rollout, {"type": "action", "name": name, "provider": provider}))
    experiment: dict[str, Any] = {
        "title": scenario.name,
        "description": _description(result),
        "tags": ["mrsandbox", scenario.mode],
        "extensions": [{"name": "mrsandbox", "seed": scenario.seed, "scenario": own["scenario"]}],
    }
    if probes:
        experiment["steady-state-hypothesis"] = {
            "title": "users' error rate and p99 latency within [steady_state]",
            "probes": probes,
        }
    experiment |= {"method": [a for _, a in actions], "rollbacks": [], "dry": None}

    window = phase_window(scenario, own["events"]) or (scenario.duration_s,) * 2
    spans = dict(zip(PHASES, ((0.0, window[0]), window, (window[1], _end(result))), strict=True))

    def state(phase: str) -> dict[str, Any]:
        checks = own["steady_states"][phase]
        start, end = spans[phase]
        runs = [
            run(p, c["value"], start, end) | {"tolerance_met": c["held"]}
            for p, c in zip(probes, checks["probes"], strict=True)
        ]
        return {"steady_state_met": checks["held"], "probes": runs}

    end = _end(result)
    return {
        "chaoslib-version": None,
        "platform": platform.platform() if live else SIMULATION,
        "node": platform.node() if live else SIMULATION,
        "experiment": experiment,
        "start": at(0.0),
        "status": own["status"],
        "deviated": own["deviated"],
        "steady_states": {
            "before": state("before") if probes else None,
            "after": state("after") if probes else None,
            "during": [state("during")] if probes else [],
        },
        "run": [
            run(action, record, record["start_s"], _ends(record, end))
            for record, action in sorted(actions, key=lambda a: a[0]["start_s"])
        ],
        "rollbacks": [],
        "end": at(end),
        "duration": end,
    }


def _fault_action(record: dict[str, Any], provider: dict[str, Any]) -> dict[str, Any]:
    scope = f"-{record['version']}" if record.get("version") else ""
    name = f"{record['kind']}{scope}-{record['region']}-at-{record['start_s']:g}s"
    return {"type": "action", "name": name, "provider": provider}


def _ends(record: dict[str, Any], end: float) -> float:
    return record["end_s"] if record["end_s"] is not None else end


def _end(result: Experiment) -> float:
    """The journal's last second: the scenario's duration, or the last request's if later."""
    return round(max(result.scenario.duration_s, result.log.latest() or 0.0), 3)


def _description(result: Experiment) -> str:
    s = result.scenario
    users = ", ".join(f"{c.rate_per_s:g}/s near {c.region}" for c in s.clients)
    return (
        f"mrsandbox scenario {s.source!r} ({s.mode} mode, seed {s.seed}): {s.model} on "
        f"{', '.join(s.regions)} for {s.duration_s:g} s with users {users}; the hypothesis is "
        "checked over the requests before, during and after the faults."
    )
