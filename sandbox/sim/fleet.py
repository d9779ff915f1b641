"""The simulated backend: `SimRegions` with a clock to run the flow on, health probes, and users."""

from __future__ import annotations

from typing import Any

from sandbox.core.health import HealthView
from sandbox.core.records import AttemptLog, RequestLog
from sandbox.core.routing import Router
from sandbox.core.timing import Process, probe_loops
from sandbox.core.workload import Workload
from sandbox.sim.regions import SimRegions
from sandbox.sim.users import SimUsers

ROUTING_S = 5.0  # the routing configuration propagates
MONITOR_START_S = 1.0  # the health checkers are created


class SimFleet(SimRegions):
    """The simulated fleet as a `Backend`: everything happens on its SimPy clock."""

    clock = "simulated"

    def run(self, process: Process) -> Any:
        """Run the environment until `process` ends; return its value."""
        return self.env.run(until=self.env.process(process))

    def advance(self, seconds: float) -> None:
        """Let simulated time pass (background monitors keep probing); 0 s is no time at all."""
        if seconds > 0:
            self.env.run(until=self.env.now + seconds)

    def spawn(self, process: Process) -> None:
        """Run `process` in the background of the simulation."""
        self.env.process(process)

    def start(self) -> SimFleet:
        """Simulated regions need no starting."""
        return self

    def close(self) -> None:
        """Simulated regions need no stopping."""

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def attempt_log(self) -> AttemptLog:
        """Every attempt the users make from now on (recorded only once asked for)."""
        if self.attempts is None:
            self.attempts = AttemptLog()
        return self.attempts

    def users(
        self,
        router: Router,
        view: HealthView | None,
        workload: Workload,
        log: RequestLog | None,
        seed: int,
    ) -> SimUsers:
        """Simulated users of `workload` on this fleet."""
        return SimUsers(self, router, view, workload, log, seed)

    def set_routing(self, router: Router) -> Process:
        """Configure routing; the simulated configuration takes ROUTING_S to propagate (the
        simulation's users ask the deployment's `router` themselves)."""
        yield self.env.timeout(ROUTING_S)

    def monitor(self, view: HealthView) -> Process:
        """Start a background health checker per region of `view`."""
        yield self.env.timeout(MONITOR_START_S)
        policy = view.policy

        def probe(region: str) -> Process:
            """The probe's round trip, then what the region answers when it arrives; failed at
            the timeout, counted from when it left (`sandbox.core.expectations`' model)."""
            left = policy.timeout_s - self._rtt_s(region)
            if left <= 0:
                yield self.env.timeout(policy.timeout_s)
                return False
            yield self.env.timeout(self._rtt_s(region))
            effect = self.faults[region].effect(predict=False)
            if effect.delay_s > left:
                yield self.env.timeout(left)
                return False
            yield self.env.timeout(effect.delay_s)
            return effect.status is None and self.served[region].current is not None

        for loop in probe_loops(self.env, view, probe, self._rng):
            self.env.process(loop)
