"""The simulated backend: regions on a SimPy clock, reached over the latency model.

Simulated durations (seconds) are drawn from one seeded `random.Random`, so the same seed and the
same sequence of calls give the same simulated times.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Generator, Iterable, Sequence
from typing import Any

import simpy

from sandbox.faults import Failure
from sandbox.health import HealthPolicy, HealthState
from sandbox.models import Model
from sandbox.regions import RegionCatalog

DEPLOY_S = (20.0, 40.0)  # upload, load and warm-up of a small model artifact
ROLLBACK_S = (5.0, 10.0)  # switch back to the previous model (or none)
ROUTING_S = 5.0  # the routing configuration propagates
MONITOR_START_S = 1.0  # the health checkers are created
SERVICE_MS = (2.0, 5.0)  # one prediction request inside the region

Process = Generator[simpy.Event, Any, Any]


class SimFleet:
    """Simulated regions on one SimPy `Environment`, operated from `control_region`."""

    def __init__(
        self,
        catalog: RegionCatalog,
        regions: Sequence[str],
        control_region: str,
        failures: Iterable[Failure] = (),
        seed: int = 0,
    ) -> None:
        self.env = simpy.Environment()
        self.catalog = catalog
        self.control_region = control_region
        self.models: dict[str, Model | None] = dict.fromkeys(regions)
        self.health: dict[str, HealthState] = {}
        self._rng = random.Random(seed)
        self._failures = {(f.region, f.stage): f for f in failures}
        self._attempts: Counter[str] = Counter()
        self._deployed: Counter[str] = Counter()

    def run(self, process: Process) -> Any:
        """Run the environment until `process` ends; return its value."""
        return self.env.run(until=self.env.process(process))

    def advance(self, seconds: float) -> None:
        """Let simulated time pass (background monitors keep probing)."""
        self.env.run(until=self.env.now + seconds)

    def _rtt_s(self, region: str) -> float:
        return self.catalog.rtt_ms(self.control_region, region) / 1000.0

    def _hit(self, region: str, stage: str, attempt: int) -> bool:
        failure = self._failures.get((region, stage))
        return failure is not None and failure.applies(attempt)

    def deploy(self, region: str, model: Model) -> Process:
        """Ship `model` to `region`; the value is whether the deployment succeeded."""
        self._attempts[region] += 1
        yield self.env.timeout(self._rtt_s(region) + self._rng.uniform(*DEPLOY_S))
        if self._hit(region, "deploy", self._attempts[region]):
            return False
        self.models[region] = model
        self._deployed[region] += 1
        return True

    def predict(self, region: str, instances: Sequence[Sequence[float]]) -> Process:
        """Send one prediction request to `region`; the value is its predictions."""
        service_s = self._rng.uniform(*SERVICE_MS) / 1000.0
        yield self.env.timeout(self._rtt_s(region) + service_s)
        model = self.models[region]
        if model is None:
            raise LookupError(f"no model is deployed in {region}")
        predictions = model.predict(instances)
        if self._hit(region, "verify", self._deployed[region]):
            return [p + 1.0 for p in predictions]  # a broken build: every output off by one
        return predictions

    def rollback(self, region: str) -> Process:
        """Take the model out of `region` again."""
        yield self.env.timeout(self._rtt_s(region) + self._rng.uniform(*ROLLBACK_S))
        self.models[region] = None

    def wait(self, seconds: float) -> Process:
        """A control-plane operation that takes `seconds`."""
        yield self.env.timeout(seconds)

    def monitor(self, regions: Sequence[str], policy: HealthPolicy) -> None:
        """Start a background health checker per region."""
        for region in regions:
            self.health[region] = HealthState(policy)
            self.env.process(self._probe_loop(region, policy))

    def _probe_loop(self, region: str, policy: HealthPolicy) -> Process:
        state = self.health[region]
        while True:
            yield self.env.timeout(policy.interval_s)
            rtt_s = self._rtt_s(region)
            yield self.env.timeout(min(rtt_s, policy.timeout_s))
            state.observe(rtt_s <= policy.timeout_s and self.models[region] is not None)
