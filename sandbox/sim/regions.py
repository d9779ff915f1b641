"""The simulated regions: what each serves, its faults and its version split, and what a call
to a region does there, on one SimPy clock over the latency model.

Simulated durations (seconds) are drawn from one seeded `random.Random`, so the same seed and the
same sequence of calls give the same simulated times. Faults use the shared vocabulary
(`sandbox.core.faults`), with simulated seconds as their clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import simpy

from sandbox.core.checks import Range
from sandbox.core.faults import Fault, RegionFaults, spoil
from sandbox.core.models import Model, Serving
from sandbox.core.records import AttemptLog
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import VersionSplit
from sandbox.core.timing import Process
from sandbox.errors import InvalidDeployment

DEPLOY_S = (20.0, 40.0)  # upload, load and warm-up of a small model artifact
ROLLBACK_S = (5.0, 10.0)  # switch back to the previous model (or none)
SERVICE_MS = (2.0, 5.0)  # one prediction request inside the region


@dataclass(frozen=True)
class Service:
    """Each simulated region: concurrent requests it serves, and its time per prediction."""

    capacity: int = 16
    service_ms: float = 5.0  # median of a log-normal service time
    service_sigma: float = 0.5

    BOUNDS: ClassVar[dict[str, Range]] = {
        "capacity": Range(1, 100_000, whole=True),
        "service_ms": Range(0, 60_000, low_open=True),
        "service_sigma": Range(0, 3),
    }

    def __post_init__(self) -> None:
        for name, bounds in self.BOUNDS.items():
            problem = bounds.problem(getattr(self, name))
            if problem:
                raise InvalidDeployment.about(name, problem, "service ")


class SimRegions:
    """Simulated regions on one SimPy `Environment`, called from `control_region`."""

    def __init__(
        self,
        catalog: RegionCatalog,
        regions: Sequence[str],
        control_region: str,
        seed: int = 0,
        service: Service | None = None,
    ) -> None:
        self.env = simpy.Environment()
        self.service = service or Service()
        self.catalog = catalog
        self.control_region = control_region
        self.regions = list(regions)
        self.served = {r: Serving() for r in regions}
        self.split = VersionSplit(seed)
        self.faults = {r: RegionFaults(self.now, seed=f"{seed}:{r}") for r in regions}
        self._rng = random.Random(seed)
        self.attempts: AttemptLog | None = None  # the users' attempts, once someone reads them

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

    def serving(self, region: str, version: str | None) -> Model | None:
        """The model that answers a prediction asked of `version` in `region` (None: its
        current version)."""
        served = self.served[region]
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
        """Send `model`'s smoke instances to `region`; the value is what it answered (None when
        it failed, or serves another version, as a live region's status says)."""
        served = yield from self.predict(region, model.smoke_instances)
        current = self.served[region].current
        asked = (model.name, model.version)
        return served if current is not None and (current.name, current.version) == asked else None

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
