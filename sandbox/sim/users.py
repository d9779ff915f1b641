"""Simulated users: a `Workload`'s Poisson arrivals, routed, queued and served in SimPy.

Each request goes through the shared attempt loop (`sandbox.core.attempts`, as the live gateway's
do): for each region it tries, it waits the client's round trip to the region, queues for one of
the region's `capacity` slots and is served in a log-normal time plus any fault's delay; a failure
(fault, timeout, no model) tries the next region of the plan. Every request lands in a
`RequestLog`.
"""

from __future__ import annotations

import math
import random

import simpy

from sandbox.core.attempts import Attempts
from sandbox.core.health import HealthView
from sandbox.core.records import RequestLog
from sandbox.core.routing import REQUEST_TIMEOUT_S, Router
from sandbox.core.timing import Process
from sandbox.core.workload import Workload
from sandbox.sim.regions import SimRegions
from sandbox.sim.slots import Slots

DRAIN_S = 30.0  # after the last arrival, in-flight requests finish


class SimUsers:
    """A workload's users on a simulated fleet, from now until `until`."""

    def __init__(
        self,
        fleet: SimRegions,
        router: Router,
        view: HealthView | None,
        workload: Workload,
        log: RequestLog | None,
        seed: int,
    ) -> None:
        self.fleet = fleet
        self.env: simpy.Environment = fleet.env
        self.router = router
        self.view = view
        self.workload = workload
        self.log = log
        self.until = math.inf
        self._rng = random.Random(f"traffic:{seed}")
        service = fleet.service
        self._mu = math.log(service.service_ms / 1000.0)
        self._sigma = service.service_sigma
        self._slots = {r: Slots(self.env, service.capacity) for r in router.regions}
        self._index = {r: i for i, r in enumerate(log.regions)} if log is not None else {}
        self._trips: dict[str, dict[str, float]] = {}  # client region -> region -> round trip

    def start(self, until: float = math.inf) -> None:
        """Start every client group's arrivals; they stop sending at `self.until` (`until`
        unless it is moved later while they send)."""
        self.until = until
        for process in self.workload.arrivals(self.env, self._rng, self._until, self._arrive):
            self.env.process(process)

    def warnings(self) -> list[str]:
        """Simulated users are never late: nothing to warn about."""
        return []

    def close(self) -> None:
        """Stop sending, and let the requests in flight finish (DRAIN_S of simulated time)."""
        self.until = min(self.until, self.env.now)
        self.env.run(until=self.env.now + DRAIN_S)

    def _until(self) -> float:
        return self.until

    def _arrive(self, client: int, region: str) -> None:
        self.env.process(self._request(client, region))

    def _request(self, client: int, region_name: str) -> Process:
        """One request through the attempt loop. An attempt at a region that serves it queues for
        a slot, is served in the service time plus any fault's delay, and answers in time (right or
        wrong: a wrong answer is no 5xx, so neither a retry nor outlier detection sees it) unless
        the fault fails it. It times out REQUEST_TIMEOUT_S after it reached the region, queueing
        included, as the gateway's does: a request still queued then gives up its place."""
        env, fleet, rng = self.env, self.fleet, self._rng
        start = env.now
        trips = self._trips.get(region_name) or self._round_trips(region_name)
        request = Attempts(region_name, self.router, self.view, fleet.split, fleet.attempts)
        version = None
        for region, asked in request:
            yield env.timeout(trips[region])
            model = fleet.serving(region, asked)
            version = model.version if model is not None else None
            sent = env.now
            effect = fleet.faults[region].effect(predict=True, version=version)
            answered = version is not None and not (effect.status and not effect.delay_s)
            if answered:
                slots = self._slots[region]
                waiting = slots.take()
                if waiting is not None:  # queued: wait for a slot or the deadline, first of them
                    yield waiting | env.timeout(REQUEST_TIMEOUT_S)
                    answered = waiting.triggered
                if answered:
                    took = effect.delay_s + rng.lognormvariate(self._mu, self._sigma)
                    left = sent + REQUEST_TIMEOUT_S - env.now
                    yield env.timeout(left if took > left else took)
                    answered = took <= left and effect.status is None
                slots.leave(waiting)
            request.record(answered, version, sent, (env.now - sent) * 1000)
        if self.log is None:
            return
        last = request.region
        wrong = request.answered and fleet.serves_wrong(last, version or "")
        self.log.add(
            start,
            client,
            self._index[request.first],
            self._index[last],
            request.count,
            (env.now - start) * 1000,
            request.answered and not wrong,
            wrong,
            version,
        )

    def _round_trips(self, client: str) -> dict[str, float]:
        """The round trip (s) from users near `client` to each region, kept: asked per attempt."""
        rtt_ms = self.fleet.catalog.rtt_ms
        trips = {r: rtt_ms(client, r) / 1000.0 for r in self.router.regions}
        self._trips[client] = trips
        return trips
