"""What runs on a backend's clock: SimPy processes, and the one health-probe schedule that both
backends follow."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any

import simpy

from sandbox.core.health import HealthView

Process = Generator[simpy.Event, Any, Any]
Probe = Callable[[str], Process]  # one probe of a region; its value: whether it passed


def probe_loops(
    env: simpy.Environment, view: HealthView, probe: Probe, rng: random.Random
) -> list[Process]:
    """A health checker per region of `view`: the first probe at a random phase within the first
    interval (checkers are not in step), then after each probe ends, `interval_s` before the next
    one starts (Route 53's request interval). Each result goes to `view`."""
    return [_loop(env, view, probe, rng, region) for region in view.regions]


def _loop(
    env: simpy.Environment, view: HealthView, probe: Probe, rng: random.Random, region: str
) -> Process:
    yield env.timeout(rng.uniform(0, view.policy.interval_s))
    while True:
        ok = yield from probe(region)
        view.probe(region, ok)
        yield env.timeout(view.policy.interval_s)
