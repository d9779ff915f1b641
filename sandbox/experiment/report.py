"""An experiment's report: the journal as text, the analytic expectation beside each measurement."""

from __future__ import annotations

from typing import Any

from sandbox.experiment.scenario import Scenario


def report(j: dict[str, Any], scenario: Scenario) -> str:
    """A readable summary of journal `j` of a run of `scenario`."""
    s = j["summary"]
    lines = [
        f"Experiment: {j['name']} (seed {j['seed']}, {scenario.duration_s:g} s "
        f"{'simulated' if scenario.mode == 'sim' else 'emulated on a live fleet'})",
        f"Deployment: {j['deployment']['outcome']}; status: {j['status']}",
        f"Requests: {s['sent']} sent, {s['succeeded']} succeeded, {s['failed']} failed "
        f"({s['wrong_answers']} of them wrong answers; availability "
        f"{s['availability'] if s['availability'] is not None else '-'})",
        "Latency (ms): "
        + ", ".join(f"{p} {'-' if v is None else v}" for p, v in s["latency_ms"].items()),
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
                f"{v} {n['share']:.1%} ({n['failed']} failed)" for v, n in s["by_version"].items()
            )
        )
    if j["status"] == "aborted":
        outcome = j["deployment"]["outcome"]
        lines.append(f"The deployment did not complete ({outcome}): no user traffic was sent")
        lines.append("Verdict: deviated")
        return "\n".join(lines)
    for f in s["per_fault"]:
        if "version" in f:
            lines.append(
                f"Fault {f['kind']} of version {f['version']} in {f['region']} from "
                f"{f['start_s']:g} s: {f['requests']} answers of that version there, "
                f"{f['failed']} of them failed after retries"
            )
            continue
        lines.append(_fault_line(f))
    for phase, state in j["steady_states"].items():
        lines.append(f"Steady state {phase}: {_phase(state)}")
    inconclusive = [phase for phase, state in j["steady_states"].items() if state["held"] is None]
    if j["deviated"]:
        verdict = "deviated"
    elif inconclusive:
        verdict = f"no deviation (inconclusive: {', '.join(inconclusive)})"
    else:
        verdict = "steady state held"
    lines.append(f"Verdict: {verdict}")
    return "\n".join(lines)


def _fault_line(f: dict[str, Any]) -> str:
    """A fault's measurements, each beside the bounds the timing model gives for it."""
    why = f["why"]
    expected = f["expected_detection_s"]
    if f["detection_s"] is not None:
        found = f"marked unhealthy after {f['detection_s']:g} s"
    else:
        found = "never marked unhealthy by the probes"
    if expected is not None:
        found += f" (expected {expected[0]:g} to {expected[1]:g} s: {why['detection']})"
    else:
        found += f" (no detection expected: {why['detection']})"
    line = f"Fault {f['kind']} in {f['region']} at {f['start_s']:g} s: {found}"
    if f["failover_s"] is not None:
        line += f"; last request sent there {f['failover_s']:g} s in"
        bounds = f["expected_failover_s"]
        if bounds is not None:
            line += f" (expected at most {bounds[1]:g} s: {why['failover']})"
        else:
            line += " (no bound: only outlier ejection moves users, as their requests fail)"
    if f["recovery_s"] is not None:
        line += f"; healthy again {f['recovery_s']:g} s after it ended"
    return line


def _phase(state: dict[str, Any]) -> str:
    """`held`, `DEVIATED` or `inconclusive`, with each probe's value or why it has none."""
    word = {True: "held", False: "DEVIATED", None: "inconclusive"}[state["held"]]
    probes = ", ".join(
        f"{p['probe']} {p['value']} (max {p['tolerance']:g})"
        if p["value"] is not None
        else f"{p['probe']} - ({p['why']})"
        for p in state["probes"]
    )
    detail = probes or state.get("why", "")
    return f"{word}: {detail}" if detail else word
