"""Simulated users: Poisson arrivals per client region, routed, queued and served in SimPy.

Each request asks the same `Router` the live gateway uses over the same `HealthView`, waits the
client's round trip to the region, queues for one of the region's `capacity` slots, and is served
in a log-normal time plus any fault's delay; a failure (fault, timeout, no model) tries the next
region of the plan, as the gateway does. Every request lands in a `RequestLog`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import simpy

from sandbox.core.health import HealthView
from sandbox.core.records import NONE, AttemptLog, RequestLog
from sandbox.core.routing import REQUEST_TIMEOUT_S, Router
from sandbox.experiment.scenario import Clients, Service
from sandbox.flow.backend import Process
from sandbox.sim.fleet import SimFleet


class SimTraffic:
    """The users of a scenario on a simulated fleet, from now until `until`."""

    def __init__(
        self,
        fleet: SimFleet,
        router: Router,
        view: HealthView,
        clients: Sequence[Clients],
        service: Service,
        log: RequestLog,
        seed: int,
        attempts: AttemptLog | None = None,
    ) -> None:
        self.fleet = fleet
        self.env: simpy.Environment = fleet.env
        self.router = router
        self.view = view
        self.clients = list(clients)
        self.log = log
        self.attempts = attempts  # every attempt, for a rollout's bakes; None: not recorded
        self.until = math.inf
        self._rng = random.Random(f"traffic:{seed}")
        self._mu = math.log(service.service_ms / 1000.0)
        self._sigma = service.service_sigma
        self._slots = {r: simpy.Resource(self.env, service.capacity) for r in router.regions}
        self._index = {r: i for i, r in enumerate(log.regions)}

    def start(self, until: float) -> None:
        """Start every client group's arrivals; they stop sending at `self.until` (`until`
        unless it is moved later while they send)."""
        self.until = until
        for group in self.clients:
            self.env.process(self._arrivals(group))

    def _arrivals(self, group: Clients) -> Process:
        client = self.log.clients.index(group.region)
        while True:
            yield self.env.timeout(self._rng.expovariate(group.rate_per_s))
            if self.env.now >= self.until:
                return
            self.env.process(self._request(client, group.region))

    def _request(self, client: int, region_name: str) -> Process:
        start = self.env.now
        plan, _ = self.router.plan(region_name, self.view.healthy_regions(), self.view.error_rate)
        attempts, served, first, version = 0, NONE, self._index[plan[0]], None
        for region in plan:
            attempts += 1
            yield self.env.timeout(self.fleet.catalog.rtt_ms(region_name, region) / 1000.0)
            model = self.fleet.serving(region)
            version = model.version if model is not None else None
            sent = self.env.now
            answered = yield from self._serve(region, version)
            self.view.outcome(region, answered)
            if self.attempts is not None:
                self.attempts.add(sent, region, version, answered, (self.env.now - sent) * 1000)
            served = self._index[region]
            if answered:
                break
        wrong = answered and self.fleet.serves_wrong(plan[attempts - 1], version or "")
        latency_ms = (self.env.now - start) * 1000
        ok = answered and not wrong
        self.log.add(start, client, first, served, attempts, latency_ms, ok, wrong, version)

    def _serve(self, region: str, version: str | None) -> Process:
        """One attempt in `region` at model `version`; its value is whether the region answered
        in time (right or wrong: a wrong answer is no 5xx, so neither a retry nor outlier
        detection sees it)."""
        effect = self.fleet.faults[region].effect(predict=True, version=version)
        if version is None or (effect.status and not effect.delay_s):
            return False
        with self._slots[region].request() as slot:
            yield slot
            took = effect.delay_s + self._rng.lognormvariate(self._mu, self._sigma)
            if took > REQUEST_TIMEOUT_S:
                yield self.env.timeout(REQUEST_TIMEOUT_S)
                return False
            yield self.env.timeout(took)
        return effect.status is None
