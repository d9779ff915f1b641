"""Generated numeric questions keyed by a simulated experiment: how long after a fault starts
the probes mark its region unhealthy, for a drawn health-check interval and threshold."""

from __future__ import annotations

import math
import random

from sandbox.experiment.scenario import Scenario
from sandbox.experiment.sweeps import with_value
from sandbox.quiz.model import Question
from sandbox.quiz.runs import detection_s

INTERVALS_S = (5, 10, 15, 20, 30)
THRESHOLDS = (3, 4, 5)


def detection_time(qid: str, scenario: Scenario, rng: random.Random) -> Question | None:
    """ "With interval 10 s and threshold 3, about how long after the outage starts is the region
    marked unhealthy?", answered by running the scenario with those settings.

    The key is the measured time. Right is anything the probe timing model allows, the bounds the
    run's journal gives (`sandbox.core.expectations`): failed probes come one cycle apart
    (interval + round trip + what a failed probe waits), the first within a cycle of the start.
    """
    if not scenario.faults:
        return None
    fault = scenario.faults[0]
    room = (fault.end_s or scenario.duration_s) - fault.start_s - scenario.health.timeout_s
    pairs = [(i, t) for i in INTERVALS_S for t in THRESHOLDS if i * t < room]
    if not pairs:
        return None
    interval, threshold = rng.choice(pairs)
    seed = rng.randrange(1000)
    settings = (
        ("health.interval_s", interval),
        ("health.failure_threshold", threshold),
        ("seed", seed),
    )
    document = dict(scenario.document)
    for key, value in settings:
        document = with_value(document, key, value)
    measured, low, high = detection_s(document, scenario.source)
    if measured is None or low is None or high is None or not low <= measured <= high:
        return None  # no detection to ask about (the fidelity tests hold the bounds)
    what = fault.fault.kind
    vary = " ".join(f"--vary {key}={value}" for key, value in settings)
    return Question(
        id=qid,
        text=(
            f"In the scenario '{scenario.name}', {fault.region} has a fault ({what}) from "
            f"t = {fault.start_s:g} s. With a health check every {interval} s and a failure "
            f"threshold of {threshold}, about how many seconds after the fault starts is "
            f"{fault.region} marked unhealthy?"
        ),
        value=round(measured, 1),
        low=math.floor(10 * low) / 10,
        high=math.ceil(10 * high) / 10,
        unit="s",
        hint="A region is marked unhealthy after `threshold` failed probes in a row, one every "
        "`interval` seconds.",
        solution=(
            f"Rule of thumb: interval x threshold = {interval} x {threshold} = "
            f"{interval * threshold} s.",
            f"Failed probes come one cycle apart: the {interval} s interval, plus each probe's "
            f"round trip and what a failed probe waits. The first comes within a cycle of the "
            f"fault's start, then {threshold - 1} more: from {low:g} s to {high:g} s here.",
            f"The simulated run measured {measured:.1f} s.",
        ),
        mistakes=("Counting the threshold without the interval", "Adding a whole extra interval"),
        difficulty="hard",
        source=f"mrsandbox sweep {scenario.source} {vary}",
    )
