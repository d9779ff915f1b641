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

    The key is the measured time. Right is anything the rule allows: the first failed probe comes
    within one interval of the fault's start, so detection takes from `interval x (threshold - 1)`
    to `interval x threshold` plus the probe timeout (widened to the measurement, should it fall
    outside).
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
    measured = detection_s(document, scenario.source)
    timeout = scenario.health.timeout_s
    if measured is None:
        return None
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
        low=math.floor(10 * min(measured, interval * (threshold - 1))) / 10,
        high=math.ceil(10 * max(measured, interval * threshold + timeout)) / 10,
        unit="s",
        hint="A region is marked unhealthy after `threshold` failed probes in a row, one every "
        "`interval` seconds.",
        solution=(
            f"Rule of thumb: interval x threshold = {interval} x {threshold} = "
            f"{interval * threshold} s.",
            f"The first failed probe comes within one interval of the fault's start, then "
            f"{threshold - 1} more, {interval} s apart: from {interval * (threshold - 1)} s to "
            f"{interval * threshold} s, plus up to the {timeout:g} s probe timeout.",
            f"The simulated run measured {measured:.1f} s.",
        ),
        mistakes=("Counting the threshold without the interval", "Adding a whole extra interval"),
        difficulty="hard",
        source=f"mrsandbox sweep {scenario.source} {vary}",
    )
