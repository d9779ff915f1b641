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
                f"{v} {n['share']:.1%} ({n['failed']} failed)" for v, n in s["by_version"].items()
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
