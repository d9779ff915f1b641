"""The live health monitor: probes each region's /healthz on a SimPy `RealtimeEnvironment`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import requests
import simpy.rt

from sandbox.core.health import HealthView
from sandbox.flow.backend import Process
from sandbox.live.http import wall_timeout

TICK_S = 0.05  # wall seconds between checks for a stop request


class HealthMonitor:
    """Every `interval_s` (emulated) probes every region at once, with `timeout_s`, into `view`."""

    def __init__(
        self,
        view: HealthView,
        urls: Mapping[str, str],
        clock: Callable[[], float],
        time_scale: float,
    ) -> None:
        self.view = view
        self._urls = dict(urls)
        self._clock = clock
        self._scale = time_scale
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=len(self._urls), thread_name_prefix="probe")
        self._sessions = {region: requests.Session() for region in self._urls}
        self._thread = threading.Thread(target=self._run, name="health-monitor", daemon=True)

    def start(self) -> HealthMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for session in self._sessions.values():
            session.close()

    def _probe(self, region: str) -> bool:
        timeout = wall_timeout(self.view.policy.timeout_s, self._scale)
        try:
            url = f"{self._urls[region]}/healthz"
            return self._sessions[region].get(url, timeout=timeout).ok
        except requests.RequestException:
            return False

    def _run(self) -> None:
        env = simpy.rt.RealtimeEnvironment(
            initial_time=self._clock(), factor=self._scale, strict=False
        )
        env.process(self._probe_all(env))
        env.run(until=env.process(self._until_stopped(env)))

    def _probe_all(self, env: simpy.rt.RealtimeEnvironment) -> Process:
        regions = list(self._urls)
        while True:
            yield env.timeout(self.view.policy.interval_s)
            if self._stop.is_set():
                return
            for region, ok in zip(regions, self._pool.map(self._probe, regions), strict=True):
                self.view.probe(region, ok)

    def _until_stopped(self, env: simpy.rt.RealtimeEnvironment) -> Process:
        while not self._stop.is_set():
            yield env.timeout(TICK_S / self._scale)
