"""A simulated region's serving slots: `capacity` requests at a time, the others queued in turn,
as a `simpy.Resource` serves them, with fewer events.

A Resource schedules an event for every request and every release; processed, a request's event
does nothing unless someone waits for it, and a release's gives a free slot to the first request
queued. Here a request given its slot at once has no event, and a release has one only when it
could give something: when requests are queued, or when something else happens at the same
instant. Otherwise none can join the queue before that event would be processed: a request asks
for a slot only when its round trip (over 0 s) ends, and that end is scheduled already. So the
same requests wait, are served and give up at the same instants, in the same order, as with a
Resource.
"""

from __future__ import annotations

import simpy


class Slots:
    """`capacity` slots on `env`: `used` of them taken, and the requests waiting in turn."""

    __slots__ = ("_env", "capacity", "queue", "used")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self._env = env
        self.capacity = capacity
        self.used = 0
        self.queue: list[simpy.Event] = []

    def take(self) -> simpy.Event | None:
        """Ask for a slot: None when it is given at once, else the event that gives it (wait for
        it, or give up the place with `leave`). As a Resource's request, it first lets the
        request at the head of the queue take a free slot."""
        if not self.queue and self.used < self.capacity:
            self.used += 1
            return None
        waiting = simpy.Event(self._env)
        self.queue.append(waiting)
        self._give(None)
        return waiting

    def leave(self, waiting: simpy.Event | None) -> None:
        """Give back the slot `take` gave (at once, or by triggering `waiting`), or the place in
        the queue of a `waiting` that was never given one."""
        if waiting is None or waiting.triggered:
            self.used -= 1
        else:
            self.queue.remove(waiting)
        env = self._env
        if not self.queue and env.peek() > env.now:
            return  # its event would give nothing: no request can queue before it is processed
        released = simpy.Event(env)
        released.callbacks.append(self._give)
        released.succeed()

    def _give(self, _: object) -> None:
        """A free slot to the request at the head of the queue, if there are both."""
        if self.queue and self.used < self.capacity:
            self.used += 1
            self.queue.pop(0).succeed()
