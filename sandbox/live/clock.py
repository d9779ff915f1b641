"""The live fleet's clock: one SimPy `RealtimeEnvironment` in a thread of its own, where everything
timed runs (the flow's operations, health probes, users' arrivals, scheduled faults), as the
simulated fleet runs all of them on its one environment. An emulated second takes `time_scale`
wall seconds. Blocking work (an HTTP call) goes to a thread pool and is waited for without
holding the clock up, so that probes and users keep their times while a deployment is under way.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import simpy.rt

from sandbox.core.timing import Process
from sandbox.errors import ServerError

T = TypeVar("T")
TICK_S = 0.005  # wall seconds between looks for a new process or a finished call


class LiveClock:
    """Emulated seconds since `start`, and the environment that runs on them."""

    def __init__(self, time_scale: float, workers: int = 16) -> None:
        self.scale = time_scale
        self.env = simpy.rt.RealtimeEnvironment(factor=time_scale, strict=False)
        self._inbox: queue.SimpleQueue[Process] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="fleet-call")
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="fleet-clock", daemon=True)

    def start(self) -> LiveClock:
        """Start the clock: time 0 is now."""
        self.env.sync()
        self._thread.start()
        return self

    def now(self) -> float:
        """Emulated seconds since the start."""
        return (time.monotonic() - self.env.real_start) / self.scale

    @property
    def running(self) -> bool:
        """Whether the clock runs (started, neither stopped nor failed)."""
        return self._thread.is_alive()

    def spawn(self, process: Process) -> None:
        """Run `process` on the clock, from any thread (it starts within a tick)."""
        self._check()
        self._inbox.put(process)

    def run(self, process: Process) -> Any:
        """Run `process` on the clock and wait for its value (from any thread but the clock's)."""
        done = threading.Event()
        result: list[Any] = []
        failure: list[BaseException] = []

        def wrapped() -> Process:
            try:
                # a tick may start it at an instant just before this call: catch up first, so
                # that its waits count from now
                yield self.env.timeout(max(0.0, self.now() - self.env.now))
                result.append((yield from process))
            except BaseException as e:  # handed to the caller's thread
                failure.append(e)
            finally:
                done.set()

        self.spawn(wrapped())
        while not done.wait(0.05):
            self._check()
        if failure:
            raise failure[0]
        return result[0]

    def wait(self, seconds: float) -> None:
        """Let `seconds` of emulated time pass, or less if the clock stops meanwhile."""
        if seconds > 0:
            self._ended.wait(seconds * self.scale)
        if self._failure is not None:
            self._check()

    def call(self, function: Callable[..., T], *args: Any) -> Process:
        """A process whose value is `function(*args)`, run in the pool meanwhile."""
        future = self._pool.submit(function, *args)
        while not future.done():
            yield self.env.timeout(TICK_S / self.scale)
        return future.result()

    def stop(self) -> None:
        """Stop the clock and wait for the calls under way; safe to call twice."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._ended.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _check(self) -> None:
        if self._failure is not None:
            raise ServerError(f"the live fleet's clock stopped: {self._failure!r}")
        if self._ended.is_set():
            raise ServerError("the live fleet has been closed")

    def _loop(self) -> None:
        try:
            self.env.run(until=self.env.process(self._intake()))
        except BaseException as e:  # a process failed: every later call says so
            self._failure = e
        finally:
            self._ended.set()

    def _intake(self) -> Process:
        while not self._stopping.is_set():
            while True:
                try:
                    self.env.process(self._inbox.get_nowait())
                except queue.Empty:
                    break
            yield self.env.timeout(TICK_S / self.scale)
