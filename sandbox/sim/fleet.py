"""The simulated backend: regions on a SimPy clock, reached over the latency model.

Simulated durations (seconds) are drawn from one seeded `random.Random`, so the same seed and the
same sequence of calls give the same simulated times. Faults use the shared vocabulary
(`sandbox.core.faults`), with simulated seconds as their clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import simpy

from sandbox.core.faults import Fault, RegionFaults, spoil
from sandbox.core.health import HealthView
from sandbox.core.models import Model, Serving
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, VersionSplit
from sandbox.flow.backend import Process

DEPLOY_S = (20.0, 40.0)  # upload, load and warm-up of a small model artifact
ROLLBACK_S = (5.0, 10.0)  # switch back to the previous model (or none)
ROUTING_S = 5.0  # the routing configuration propagates
MONITOR_START_S = 1.0  # the health checkers are created
SERVICE_MS = (2.0, 5.0)  # one prediction request inside the region


class SimFleet:
    """Simulated regions on one SimPy `Environment`, operated from `control_region`."""

    clock = "simulated"

    def __init__(
        self,
        catalog: RegionCatalog,
        regions: Sequence[str],
        control_region: str,
        seed: int = 0,
    ) -> None:
        self.env = simpy.Environment()
        self.catalog = catalog
        self.control_region = control_region
        self.regions = list(regions)
        self.served = {r: Serving() for r in regions}
        self.split = VersionSplit(seed)
        self.faults = {r: RegionFaults(self.now, seed=f"{seed}:{r}") for r in regions}
        self._rng = random.Random(seed)

    @property
    def models(self) -> dict[str, Model | None]:
        """Each region's current model version (None: no model)."""
        return {r: s.current for r, s in self.served.items()}

    @property
    def kept(self) -> dict[str, dict[str, Model]]:
        """Each region's versions by name: the current one and the one it replaced."""
        return {r: s.kept for r, s in self.served.items()}

    def now(self) -> float:
        """Simulated seconds since the start."""
        return self.env.now

    def run(self, process: Process) -> Any:
        """Run the environment until `process` ends; return its value."""
        return self.env.run(until=self.env.process(process))

    def advance(self, seconds: float) -> None:
        """Let simulated time pass (background monitors keep probing); 0 s is no time at all."""
        if seconds > 0:
            self.env.run(until=self.env.now + seconds)

    def inject(self, region: str, faults: Iterable[Fault]) -> None:
        """Add faults to a region (each replacing an active fault of its kind)."""
        self.faults[region].add(faults)

    def _rtt_s(self, region: str) -> float:
        return self.catalog.rtt_ms(self.control_region, region) / 1000.0

    def deploy(self, region: str, model: Model) -> Process:
        """Ship `model` to `region`; the value is whether the deployment succeeded."""
        yield self.env.timeout(self._rtt_s(region) + self._rng.uniform(*DEPLOY_S))
        faults = self.faults[region]
        if faults.effect(predict=False).status is not None or faults.deploy_fails():
            return False
        self.served[region].deploy(model, faults.deploys_bad_build())
        return True

    def serving(self, region: str) -> Model | None:
        """The model version that serves one user prediction in `region` (by the split)."""
        served = self.served[region]
        version = self.split.pick(region)
        return served.kept.get(version or "") or served.current

    def predict(self, region: str, instances: Sequence[Sequence[float]]) -> Process:
        """One prediction request to `region`; the value is its predictions, None if it failed."""
        effect = self.faults[region].effect(predict=True)
        service_s = self._rng.uniform(*SERVICE_MS) / 1000.0
        yield self.env.timeout(self._rtt_s(region) + service_s + effect.delay_s)
        model = self.served[region].current
        if effect.status is not None or model is None:
            return None
        predictions = model.predict(instances)
        return spoil(predictions) if self.serves_wrong(region, model.version) else predictions

    def serves_wrong(self, region: str, version: str) -> bool:
        """Whether `region` answers wrong predictions at `version` (a bad build of that version,
        or a bad_model fault)."""
        return version in self.served[region].bad or self.faults[region].serves_bad()

    def smoke(self, region: str, model: Model) -> Process:
        """Send `model`'s smoke instances to `region`; the value is what it answered."""
        return self.predict(region, model.smoke_instances)

    def rollback(self, region: str) -> Process:
        """Take the model out of `region` again."""
        yield self.env.timeout(self._rtt_s(region) + self._rng.uniform(*ROLLBACK_S))
        self.served[region].clear()

    def withdraw(self, region: str, model: Model) -> Process:
        """Take `model`'s version out of `region`; the version kept beside it serves again."""
        yield self.env.timeout(self._rtt_s(region) + self._rng.uniform(*ROLLBACK_S))
        self.served[region].withdraw(model.version)

    def set_split(self, region: str, weights: dict[str, float]) -> Process:
        """Serve `region`'s user predictions by these version weights (from the next request)."""
        yield self.env.timeout(self._rtt_s(region))
        self.split.set(region, weights)

    def set_routing(self, router: Router) -> Process:
        """Configure routing; the simulated configuration takes ROUTING_S to propagate (the
        simulation's users ask the deployment's `router` themselves)."""
        yield self.env.timeout(ROUTING_S)

    def monitor(self, view: HealthView) -> Process:
        """Start a background health checker per region of `view`."""
        yield self.env.timeout(MONITOR_START_S)
        for region in view.regions:
            self.env.process(self._probe_loop(region, view))

    def _probe_loop(self, region: str, view: HealthView) -> Process:
        policy = view.policy
        yield self.env.timeout(self._rng.uniform(0, policy.interval_s))  # checkers are not in step
        while True:
            effect = self.faults[region].effect(predict=False)
            took = self._rtt_s(region) + effect.delay_s
            yield self.env.timeout(min(took, policy.timeout_s))
            ok = took <= policy.timeout_s and effect.status is None
            view.probe(region, ok and self.served[region].current is not None)
            yield self.env.timeout(policy.interval_s)
