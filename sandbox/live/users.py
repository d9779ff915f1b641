"""Live users: a `Workload`'s Poisson arrivals on the fleet's clock, each a real request through
the gateway from a pool of sender threads, judged against the answering version's own
prediction."""

from __future__ import annotations

import http.client
import json
import math
import random
import threading
import time
from array import array
from concurrent.futures import ThreadPoolExecutor

from sandbox.core.models import predictions_match
from sandbox.core.records import NONE, RequestLog, percentile
from sandbox.core.routing import REQUEST_TIMEOUT_S, Router
from sandbox.core.timing import Process, wall_timeout
from sandbox.core.workload import Workload
from sandbox.live.clock import LiveClock
from sandbox.live.server import address
from sandbox.live.upstream import Upstream

SENDERS = 32  # requests the users keep in flight at once
LATE_S = 0.5  # emulated seconds a request may go out after its arrival before the run warns


class LiveUsers:
    """A workload's users sending to the fleet's gateway; every request into `log` (or none)."""

    def __init__(
        self,
        clock: LiveClock,
        gateway_url: str,
        router: Router,
        workload: Workload,
        log: RequestLog | None,
        seed: int,
    ) -> None:
        self.clock = clock
        self.workload = workload
        self.log = log
        self.until = math.inf
        self.lateness = array("d")  # emulated seconds each request went out after its arrival
        self._rng = random.Random(f"traffic:{seed}")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[Upstream] = []
        self._index = {r: i for i, r in enumerate(log.regions)} if log is not None else {}
        self._address = address(gateway_url)
        self._body = workload.body.encode()  # every user sends the same request
        # a request may try every region the routing allows, each up to the attempt timeout
        self._timeout = wall_timeout(REQUEST_TIMEOUT_S, clock.scale) * (router.policy.retries + 2)
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="user")
        self._closed = False
        self._sending = 0  # client groups still sending
        self._sent = threading.Event()  # every group has sent its last request

    def start(self, until: float = math.inf) -> None:
        """Start every client group's arrivals on the fleet's clock; requests go out until
        `self.until` (`until` unless it is moved while they send)."""
        self.until = until
        arrivals = self.workload.arrivals(self.clock.env, self._rng, self._until, self._arrive)
        self._sending = len(arrivals)
        for process in arrivals:
            self.clock.spawn(self._counted(process))

    def warnings(self) -> list[str]:
        """A warning when the users went out late (the machine could not keep up)."""
        late = percentile(sorted(self.lateness), 95)
        if late is None or late <= LATE_S:
            return []
        return [
            f"the live users fell behind: 5% of requests went out over {late:.3g} emulated s "
            "after their arrival, so rates, latencies and bakes undercount; raise the time scale "
            "(wall s per emulated s) or lower the rates"
        ]

    def close(self) -> None:
        """Stop sending, wait for the requests in flight, close the connections. Once `until`
        has come, what arrived before it is sent first (on a busy machine, late); before then
        (an interrupted run), nothing more is."""
        ended = math.isfinite(self.until) and self.clock.now() >= self.until
        if ended:
            while not self._sent.wait(0.05) and self.clock.running:
                pass
        self.until = -math.inf
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=not ended)  # the arrived ones still queued
        with self._lock:
            for connection in self._connections:
                connection.close()

    def _counted(self, arrivals: Process) -> Process:
        yield from arrivals
        with self._lock:
            self._sending -= 1
            if not self._sending:
                self._sent.set()

    def _until(self) -> float:
        return self.until

    def _arrive(self, client: int, region: str) -> None:
        if not self._closed:
            self._pool.submit(self._send, client, region, self.clock.env.now)

    def _connection(self) -> Upstream:
        if not hasattr(self._local, "connection"):
            self._local.connection = Upstream(*self._address, self._timeout)
            with self._lock:
                self._connections.append(self._local.connection)
        return self._local.connection

    def _send(self, client: int, region: str, due: float) -> None:
        start, wall = self.clock.now(), time.perf_counter()
        connection = self._connection()
        workload = self.workload
        headers = {"Content-Type": "application/json", "X-Client-Region": region}
        try:
            answer = connection.request("POST", workload.path, self._body, headers)
            content = answer.body
            ok, tried = answer.status == 200, (answer.getheader("X-Tried") or "").split(",")
            version = answer.getheader("X-Model-Version")
            expected = workload.expected(version)
            wrong = ok and not predictions_match(expected, json.loads(content)["predictions"])
            served = answer.getheader("X-Served-By") or (tried[-1] if tried[0] else "")
            attempts = int(answer.getheader("X-Attempts") or 0)
        except (OSError, http.client.HTTPException):  # the connection closed itself
            ok, wrong, tried, served, attempts, version = False, False, [""], "", 0, None
        latency_ms = (time.perf_counter() - wall) / self.clock.scale * 1000
        with self._lock:
            self.lateness.append(start - due)
            if self.log is not None:
                first, last = self._index.get(tried[0], NONE), self._index.get(served, NONE)
                right = ok and not wrong
                row = (start, client, first, last, attempts, latency_ms, right, wrong)
                self.log.add(*row, version)
