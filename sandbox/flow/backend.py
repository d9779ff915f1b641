"""What the flow needs from a backend: a clock, and deploy / verify / monitor operations; a
rollout also withdraws a version and splits a region's traffic between versions.

Operations are SimPy process generators, so the same flow code runs on the simulated fleet
(`SimFleet`, virtual time) and on the live fleet (`LiveFleet`, a `RealtimeEnvironment`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any, Protocol

import simpy

from sandbox.core.faults import Fault
from sandbox.core.health import HealthView
from sandbox.core.models import Model
from sandbox.core.routing import Router

Process = Generator[simpy.Event, Any, Any]


class Backend(Protocol):
    """The operations `Deployment` runs; times are seconds of the backend's clock."""

    clock: str  # what its seconds are: "simulated" or "emulated"
    regions: list[str]  # the regions it serves

    def now(self) -> float: ...

    def run(self, process: Process) -> Any: ...

    def advance(self, seconds: float) -> None: ...

    def inject(self, region: str, faults: Iterable[Fault]) -> None: ...

    def deploy(self, region: str, model: Model) -> Process: ...

    def smoke(self, region: str, model: Model) -> Process: ...

    def rollback(self, region: str) -> Process: ...

    def withdraw(self, region: str, model: Model) -> Process: ...

    def set_split(self, region: str, weights: dict[str, float]) -> Process: ...

    def set_routing(self, router: Router) -> Process: ...

    def monitor(self, view: HealthView) -> Process: ...
