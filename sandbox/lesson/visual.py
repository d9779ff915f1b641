"""A run's Visual Quiz: the material's three questions asked of this run (the deployment status
after the last deployment, the step of traffic routing, the variable monitoring leaves false),
their options drawn from the run's own tables and their keys computed as the material set's are
(`sandbox.quiz.material`): for the material's run it is the material's quiz."""

from __future__ import annotations

import random
from typing import Any

from sandbox.flow.deployment import Deployment
from sandbox.flow.tracer import display
from sandbox.quiz.material import parse_set
from sandbox.quiz.model import Quiz

LEFT_FALSE = ("verification_status", "monitoring_active", "routing_configured", "deployment_status")


def visual_quiz(command: str, d: Deployment, seed: int) -> Quiz | None:
    """The three questions for the run of `command` (`d`), options in a seeded order; None
    when the run is too short to ask them (no deployment, no routing or no monitoring)."""
    steps, snaps = d.trace.steps, d.trace.snapshots
    deployed = [s.step for s in steps if s.action == "Deploy model" and "success" in s.result]
    routing = [s.step for s in steps if s.action == "Setup traffic routing"]
    if not deployed or not routing or not d.monitoring_active:
        return None
    n, k = deployed[-1], routing[0]
    status = snaps[n]["deployment_status"]
    last = list(status)[-1:]
    states = [status, snaps[n - 1]["deployment_status"], {}, {r: status[r] for r in last}]
    steps_shown = [k - 1, k + 1, k, k - 2]
    questions: list[dict[str, Any]] = [
        {
            "id": f"deployment-status-after-step-{n}",
            "text": f"Look at the execution table, what is the deployment status after step {n}?",
            "options": list(dict.fromkeys(display(s) for s in states)),
            "hint": f"Check the 'deployment_status' variable in the Status Tracker after step {n}.",
            "key": {"kind": "state", "run": command, "variable": "deployment_status", "step": n},
        },
        {
            "id": "step-of-traffic-routing",
            "text": "At which step does traffic routing get configured?",
            "options": [f"Step {i}" for i in steps_shown if 1 <= i <= len(steps)],
            "hint": "Look at the 'Action' column in the Process Table for 'Setup traffic routing'.",
            "key": {"kind": "step", "run": command, "action": "Setup traffic routing"},
        },
        {
            "id": "without-monitoring",
            "text": "If monitoring was not started, which variable would remain false in the "
            "variable tracker?",
            "options": list(LEFT_FALSE),
            "hint": "Check the 'monitoring_active' row in the Status Tracker for its final value.",
            "key": {"kind": "left_out", "run": command, "call": "monitor_health"},
        },
    ]
    if any(len(q["options"]) < 3 for q in questions):
        return None
    quiz = parse_set({"title": "Visual Quiz", "questions": questions}, "the run", "visual")
    return quiz.shuffled(random.Random(f"visual:{seed}").randrange(2**32)) if seed else quiz
