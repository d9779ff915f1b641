"""What the flow, rollouts, experiments and users need from a fleet: a clock, a life cycle, the
deploy / verify / monitor operations, a rollout's version operations, and users.

Operations are SimPy process generators, so the same code runs on the simulated fleet
(`SimFleet`, virtual time) and on the live fleet (`LiveFleet`, real servers on a
`RealtimeEnvironment`). `tests/test_backend_contract.py` runs one set of tests on both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, Self

import simpy

from sandbox.core.faults import Fault
from sandbox.core.health import HealthView
from sandbox.core.models import Model
from sandbox.core.records import AttemptLog, RequestLog
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router
from sandbox.core.timing import Process
from sandbox.core.workload import Workload

__all__ = ["Backend", "Process", "Users"]


class Users(Protocol):
    """A workload's users sending predictions, each request into a `RequestLog`."""

    until: float  # when they stop sending (seconds of the backend's clock); may be moved
    log: RequestLog | None  # where each request goes (None: not recorded)

    def start(self, until: float = ...) -> None: ...

    def warnings(self) -> list[str]: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A fleet the flow runs on; times are seconds of its clock."""

    clock: str  # what its seconds are: "simulated" or "emulated"
    regions: list[str]  # the regions it serves
    catalog: RegionCatalog

    # -- the clock ------------------------------------------------------------------------------

    @property
    def env(self) -> simpy.Environment:
        """The environment background processes run on (see `spawn`)."""
        ...

    def now(self) -> float: ...

    def run(self, process: Process) -> Any:
        """Run `process` to its end and return its value; background processes go on."""
        ...

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass; background processes (probes, users, schedules) go on."""
        ...

    def spawn(self, process: Process) -> None:
        """Run `process` in the background from now on."""
        ...

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Self: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    # -- the lesson's operations ----------------------------------------------------------------

    def inject(self, region: str, faults: Iterable[Fault]) -> None: ...

    def deploy(self, region: str, model: Model) -> Process: ...

    def smoke(self, region: str, model: Model) -> Process: ...

    def rollback(self, region: str) -> Process: ...

    def set_routing(self, router: Router) -> Process: ...

    def monitor(self, view: HealthView) -> Process: ...

    # -- a rollout's operations -----------------------------------------------------------------

    def withdraw(self, region: str, model: Model) -> Process: ...

    def set_split(self, region: str, weights: dict[str, float]) -> Process: ...

    def attempt_log(self) -> AttemptLog:
        """Every attempt users make at a region from now on (what a rollout's bake reads)."""
        ...

    # -- users ----------------------------------------------------------------------------------

    def users(
        self,
        router: Router,
        view: HealthView | None,
        workload: Workload,
        log: RequestLog | None,
        seed: int,
    ) -> Users:
        """The users of `workload`, routed by `router` over `view`, each request into `log` (None:
        not recorded); they send once started (`Users.start`)."""
        ...
