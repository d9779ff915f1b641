"""A simulated region's slots serve as a `simpy.Resource` does, with fewer events: the same
requests wait, are served and give up at the same instants, in the same order. Driven here as
the simulated users drive them, on a whole-number clock where many things happen at once."""

from __future__ import annotations

import random

import pytest
import simpy

from sandbox.sim.slots import Slots

DEADLINE = 3  # an attempt gives up this long after it reached the region, queueing included
Trace = list[tuple[float, int, str, int]]  # (when, request, what, service time drawn)


def with_resource(env: simpy.Environment, capacity: int, rng: random.Random, trace: Trace):
    """One attempt as the users made it with a Resource."""
    resource = simpy.Resource(env, capacity)

    def attempt(i: int, trip: int):
        yield env.timeout(trip)
        sent = env.now
        with resource.request() as slot:
            if not slot.triggered:
                trace.append((env.now, i, "queued", 0))
                yield slot | env.timeout(DEADLINE)
                if not slot.triggered:
                    trace.append((env.now, i, "gave up", 0))
                    return
            took = rng.randint(0, 5)
            left = sent + DEADLINE - env.now
            yield env.timeout(left if took > left else took)
        trace.append((env.now, i, "served" if took <= left else "timed out", took))

    return attempt


def with_slots(env: simpy.Environment, capacity: int, rng: random.Random, trace: Trace):
    """The same attempt with `Slots`, as `SimUsers` makes it."""
    slots = Slots(env, capacity)

    def attempt(i: int, trip: int):
        yield env.timeout(trip)
        sent = env.now
        waiting = slots.take()
        if waiting is not None:
            trace.append((env.now, i, "queued", 0))
            yield waiting | env.timeout(DEADLINE)
            if not waiting.triggered:
                slots.leave(waiting)
                trace.append((env.now, i, "gave up", 0))
                return
        took = rng.randint(0, 5)
        left = sent + DEADLINE - env.now
        yield env.timeout(left if took > left else took)
        slots.leave(waiting)
        trace.append((env.now, i, "served" if took <= left else "timed out", took))

    return attempt


def run(serve, capacity: int, seed: int) -> Trace:
    """Bursts of requests (gaps of 0 to 2, round trips of 1 to 3), each one attempt."""
    env, rng, trace = simpy.Environment(), random.Random(seed), []
    attempt = serve(env, capacity, rng, trace)

    def arrivals():
        for i in range(400):
            yield env.timeout(rng.choice((0, 0, 1, 2)))
            env.process(attempt(i, rng.randint(1, 3)))

    env.process(arrivals())
    env.run()
    return trace


@pytest.mark.parametrize("capacity", [1, 2, 5])
@pytest.mark.parametrize("seed", range(4))
def test_slots_serve_as_a_simpy_resource_does(capacity, seed):
    expected = run(with_resource, capacity, seed)
    assert run(with_slots, capacity, seed) == expected
    outcomes = {what for _, _, what, _ in expected}
    assert {"queued", "served", "timed out"} <= outcomes  # requests queued, and some too long
    if capacity == 1:
        assert "gave up" in outcomes


def test_a_slot_given_back_goes_to_the_first_request_queued():
    env = simpy.Environment()
    slots = Slots(env, 1)
    assert slots.take() is None  # given at once
    first, second = slots.take(), slots.take()
    assert first is not None and second is not None and slots.queue == [first, second]
    slots.leave(None)
    env.run()
    assert first.triggered and not second.triggered and slots.used == 1
    slots.leave(second)  # gives up its place
    assert slots.queue == [] and slots.used == 1
