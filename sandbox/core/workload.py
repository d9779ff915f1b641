"""The users of a run: groups of clients near a region, each sending Poisson arrivals, each request
one instance shaped for the model it asks. The simulated users, the live users and the dashboard's
users all draw from a `Workload`, on whichever SimPy clock their backend keeps."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import simpy

from sandbox.core.checks import Range
from sandbox.core.models import Model
from sandbox.core.timing import Process
from sandbox.errors import InvalidDeployment

Arrive = Callable[[int, str], None]  # (index of the client group's region, its name)


@dataclass(frozen=True)
class Clients:
    """Users near `region`, sending Poisson arrivals at `rate_per_s` (seconds of the backend's
    clock)."""

    region: str
    rate_per_s: float

    RATE: ClassVar[Range] = Range(0, 100_000, low_open=True)

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or not self.region.strip():
            reason = f"expected the name of the region the users are near, got {self.region!r}"
            raise InvalidDeployment.about("region", reason, "clients ")
        problem = self.RATE.problem(self.rate_per_s)
        if problem:
            raise InvalidDeployment.about("rate_per_s", problem, "clients ")


@dataclass(frozen=True)
class Workload:
    """Client groups and the model they ask; `versions` are other versions of it that may answer
    (a rollout's new one), so that an answer can be judged by the version that gave it."""

    clients: tuple[Clients, ...]
    model: Model
    versions: tuple[Model, ...] = ()

    @property
    def regions(self) -> list[str]:
        """The client regions, each once, in the order the groups name them."""
        return list(dict.fromkeys(c.region for c in self.clients))

    @property
    def path(self) -> str:
        """Where a user's prediction goes."""
        return f"/v1/models/{self.model.name}:predict"

    @property
    def body(self) -> str:
        """A user's request: one instance of the model's own shape (its first smoke instance)."""
        return json.dumps({"instances": [list(self.model.smoke_instances[0])]})

    def expected(self, version: str | None) -> tuple[float, ...]:
        """The right answer to `body` from `version` (None: the model's own version)."""
        for model in (self.model, *self.versions):
            if version in (None, model.version):
                return model.smoke_predictions[:1]
        return ()

    def arrivals(
        self, env: simpy.Environment, rng: random.Random, until: Callable[[], float], arrive: Arrive
    ) -> list[Process]:
        """A process per client group for `env`: Poisson arrivals, each a call of `arrive`,
        until `until()` has passed. One `rng` draws every gap, in the order the arrivals come."""
        regions = self.regions
        return [
            _arrivals(env, rng, group, regions.index(group.region), until, arrive)
            for group in self.clients
        ]


def _arrivals(
    env: simpy.Environment,
    rng: random.Random,
    group: Clients,
    index: int,
    until: Callable[[], float],
    arrive: Arrive,
) -> Process:
    while True:
        yield env.timeout(rng.expovariate(group.rate_per_s))
        if env.now >= until():
            return
        arrive(index, group.region)


def forever() -> float:
    """An `until` for users who go on until they are stopped."""
    return math.inf


def clients_of(regions: Sequence[str], rate_per_s: float) -> tuple[Clients, ...]:
    """`rate_per_s` in total, split evenly over users near each of `regions`."""
    return tuple(Clients(region, rate_per_s / len(regions)) for region in regions)
