"""What runs on a backend's clock: SimPy processes, and the one health-probe schedule that both
backends follow."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any

import simpy

from sandbox.core.health import HealthView

MIN_WALL_TIMEOUT_S = 0.1  # a live fleet's scaled timeouts never go below what a busy laptop honours
Process = Generator[simpy.Event, Any, Any]
Probe = Callable[[str], Process]  # one probe of a region; its value: whether it passed


def wall_timeout(emulated_s: float, time_scale: float) -> float:
    """The wall-clock timeout of a live fleet for an emulated one, at least MIN_WALL_TIMEOUT_S."""
    return max(emulated_s * time_scale, MIN_WALL_TIMEOUT_S)


def live_timeout_s(emulated_s: float, time_scale: float) -> float:
    """How long an emulated timeout lasts on a live fleet, in emulated seconds (a small time
    scale stretches it to MIN_WALL_TIMEOUT_S of wall time)."""
    return wall_timeout(emulated_s, time_scale) / time_scale


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
