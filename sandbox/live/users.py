"""Live users: Poisson arrivals on a `RealtimeEnvironment`, real requests through the gateway."""

from __future__ import annotations

import http.client
import json
import math
import random
import threading
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import Executor

import simpy.rt

from sandbox.core.models import Model, predictions_match
from sandbox.core.records import NONE, RequestLog, percentile
from sandbox.core.routing import REQUEST_TIMEOUT_S
from sandbox.experiment.scenario import Clients
from sandbox.flow.backend import Process
from sandbox.live.fleet import LiveFleet
from sandbox.live.http import wall_timeout
from sandbox.live.server import address

SENDERS = 32  # requests a live experiment keeps in flight at once
LATE_S = 0.5  # emulated seconds a request may go out after its arrival before the run warns


class LiveTraffic:
    """The users of a scenario, sending to the fleet's gateway; every request into `log`."""

    def __init__(
        self,
        fleet: LiveFleet,
        model: Model,
        clients: Sequence[Clients],
        log: RequestLog,
        seed: int,
        versions: Sequence[Model] = (),
    ) -> None:
        """`versions`: other versions of `model` that may answer (a rollout's new one)."""
        self.fleet = fleet
        self.clients = list(clients)
        self.log = log
        self._path = f"/v1/models/{model.name}:predict"
        instance = list(model.smoke_instances[0])
        self._body = json.dumps({"instances": [instance]})
        self._expected = {m.version: m.smoke_predictions[:1] for m in (model, *versions)}
        self._version = model.version
        self._rng = random.Random(f"traffic:{seed}")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._index = {r: i for i, r in enumerate(log.regions)}
        self.until = math.inf
        self.lateness = array("d")  # emulated seconds each request went out after its arrival
        self._address = address(fleet.gateway_url)
        retries = fleet.gateway.router.policy.retries if fleet.gateway.router else 0
        self._timeout = wall_timeout(REQUEST_TIMEOUT_S, fleet.time_scale) * (retries + 2)

    def start(
        self, env: simpy.rt.RealtimeEnvironment, pool: Executor, t0: float, until: float
    ) -> None:
        """Start every client group's arrivals on `env`; requests go out through `pool` until
        `self.until` (`until` unless it is moved while they send)."""
        self.until = until
        for group in self.clients:
            env.process(self._arrivals(env, pool, group, t0))

    def behind(self) -> str | None:
        """A warning when the users went out late (the machine could not keep up), else None."""
        late = percentile(sorted(self.lateness), 95)
        if late is None or late <= LATE_S:
            return None
        return (
            f"the live users fell behind: 5% of requests went out over {late:.3g} emulated s "
            "after their arrival, so rates, latencies and bakes undercount; raise the time scale "
            "(wall s per emulated s) or lower the rates"
        )

    def close(self) -> None:
        """Close the users' connections to the gateway."""
        for connection in self._connections:
            connection.close()

    def _arrivals(self, env, pool, group: Clients, t0: float) -> Process:
        client = self.log.clients.index(group.region)
        while True:
            yield env.timeout(self._rng.expovariate(group.rate_per_s))
            if env.now >= self.until:
                return
            pool.submit(self._send, client, group.region, t0, env.now)

    def _connection(self) -> http.client.HTTPConnection:
        if not hasattr(self._local, "connection"):
            self._local.connection = http.client.HTTPConnection(
                *self._address, timeout=self._timeout
            )
            with self._lock:
                self._connections.append(self._local.connection)
        return self._local.connection

    def _send(self, client: int, region: str, t0: float, due: float) -> None:
        start, wall = self.fleet.now(), time.perf_counter()
        with self._lock:
            self.lateness.append(start - due)
        connection = self._connection()
        headers = {"Content-Type": "application/json", "X-Client-Region": region}
        try:
            connection.request("POST", self._path, self._body, headers)
            answer = connection.getresponse()
            content = answer.read()
            ok, tried = answer.status == 200, (answer.getheader("X-Tried") or "").split(",")
            version = answer.getheader("X-Model-Version")
            expected = self._expected.get(version or self._version, ())
            wrong = ok and not predictions_match(expected, json.loads(content)["predictions"])
            served = answer.getheader("X-Served-By") or (tried[-1] if tried[0] else "")
            attempts = int(answer.getheader("X-Attempts") or 0)
        except (OSError, http.client.HTTPException):
            connection.close()
            ok, wrong, tried, served, attempts, version = False, False, [""], "", 0, None
        latency_ms = (time.perf_counter() - wall) / self.fleet.time_scale * 1000
        first = self._index.get(tried[0], NONE)
        with self._lock:
            served_at = self._index.get(served, NONE)
            self.log.add(
                start - t0,
                *(client, first, served_at, attempts, latency_ms, ok and not wrong, wrong),
                version,
            )
