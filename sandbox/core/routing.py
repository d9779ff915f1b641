"""Routing policies: which regions a client's request tries, in order.

A policy is pure: it takes the client's region, the healthy regions and what has been observed,
and returns the regions to try, best first. The gateway (live) and the router process (sim) both
drive the same `Router`.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sandbox.core.faults import is_number
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidDeployment

POLICIES = ("latency", "healthiest", "failover", "weighted", "round_robin")
REQUEST_TIMEOUT_S = 2.0  # seconds one attempt at a region may take before the next is tried
MAX_DNS_TTL_S = 86_400.0


@dataclass(frozen=True)
class RoutingPolicy:
    """A policy name and its settings: `order` for failover, `weights` (0-255) for weighted;
    `dns_ttl_s`: how long clients keep the region they were given (0: they ask every time)."""

    name: str = "latency"
    retries: int = 1
    order: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    dns_ttl_s: float = 0.0

    def check(self, regions: Sequence[str]) -> None:
        """Refuse settings that do not fit the fleet's regions."""
        if self.name not in POLICIES:
            raise InvalidDeployment(
                f"routing policy must be one of {', '.join(POLICIES)}, got {self.name!r}"
            )
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise InvalidDeployment(f"routing retries must be a whole number, got {self.retries!r}")
        if not 0 <= self.retries <= 10:
            raise InvalidDeployment(f"routing retries must be 0 to 10, got {self.retries}")
        for name in (*self.order, *self.weights):
            if name not in regions:
                raise InvalidDeployment(
                    f"routing: {name!r} is not one of the regions ({', '.join(regions)})"
                )
        if len(set(self.order)) != len(self.order):
            raise InvalidDeployment("routing order lists a region more than once")
        for name, weight in self.weights.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise InvalidDeployment(f"routing weight of {name} must be a number 0-255")
            if not 0 <= weight <= 255:
                raise InvalidDeployment(f"routing weight of {name} must be 0-255, got {weight}")
        if self.name == "weighted" and not any(w > 0 for w in self.weights.values()):
            raise InvalidDeployment("weighted routing needs weights, at least one above 0")
        ttl = self.dns_ttl_s
        if not is_number(ttl) or not 0 <= ttl <= MAX_DNS_TTL_S:
            raise InvalidDeployment(
                f"routing dns_ttl_s must be a number of seconds 0-{MAX_DNS_TTL_S:g}, got {ttl!r}"
            )


class Router:
    """Orders a fleet's regions for each request by its policy; safe across threads.

    With a `dns_ttl_s`, the clients near one region (one resolver) keep the region they were
    given until their cached answer expires on `clock`, healthy or not, as DNS clients do. The
    first answer is already part-way through its TTL (a seeded draw: resolvers are not in step
    with the fleet), later ones last the whole TTL.
    """

    def __init__(
        self,
        policy: RoutingPolicy,
        regions: Sequence[str],
        catalog: RegionCatalog,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if policy.name not in POLICIES:
            raise InvalidDeployment(f"routing policy must be one of {', '.join(POLICIES)}")
        if policy.dns_ttl_s and clock is None:
            raise InvalidDeployment("a router with a DNS TTL needs a clock")
        self.policy = policy
        self.regions = list(regions)
        self.catalog = catalog
        self.clock = clock
        self._rng = random.Random(seed)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[str, float]] = {}  # client -> (region, expires at)

    def plan(
        self,
        client: str,
        healthy: Collection[str],
        error_rate: Callable[[str], float] = lambda region: 0.0,
    ) -> tuple[list[str], bool]:
        """The regions to try for `client`, best first, and whether it failed open.

        With no healthy region it answers as if all were healthy (fails open, as Route 53 does).
        A cached DNS answer goes first until it expires; the policy's other regions follow it.
        """
        ordered, fail_open = self._plan(client, healthy, error_rate)
        if not self.policy.dns_ttl_s or self.clock is None:
            return ordered, fail_open
        now, ttl = self.clock(), self.policy.dns_ttl_s
        with self._lock:
            region, expires = self._cached.get(client, ("", -1.0))
            if now >= expires:
                left = ttl if client in self._cached else ttl * self._rng.random()
                region = ordered[0]
                self._cached[client] = (region, now + left)
        if region == ordered[0]:
            return ordered, fail_open
        rest = [r for r in ordered if r != region]
        return [region, *rest][: 1 + self.policy.retries], fail_open

    def _plan(
        self, client: str, healthy: Collection[str], error_rate: Callable[[str], float]
    ) -> tuple[list[str], bool]:
        pool = [r for r in self.regions if r in healthy]
        fail_open = not pool
        pool = pool or list(self.regions)
        by_latency = sorted(pool, key=lambda r: self.catalog.rtt_ms(client, r))
        name = self.policy.name
        if name == "latency":
            ordered = by_latency
        elif name == "healthiest":
            ordered = sorted(by_latency, key=error_rate)
        elif name == "failover":
            listed = [r for r in self.policy.order if r in pool]
            ordered = listed + [r for r in by_latency if r not in listed]
        elif name == "weighted":
            ordered = self._weighted(pool, by_latency)
        else:
            with self._lock:
                start = next(self._turn) % len(pool)
            ordered = pool[start:] + pool[:start]
        return ordered[: 1 + self.policy.retries], fail_open

    def _weighted(self, pool: list[str], by_latency: list[str]) -> list[str]:
        weights = [float(self.policy.weights.get(r, 0)) for r in pool]
        if not any(weights):
            return by_latency
        with self._lock:
            first = self._rng.choices(pool, weights=weights)[0]
        return [first] + [r for r in by_latency if r != first]


class VersionSplit:
    """Per region, the share of predictions each model version serves (a canary's traffic
    split); a region without an entry serves its current version. Seeded; safe across threads.
    """

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(f"split:{seed}")
        self._lock = threading.Lock()
        self._weights: dict[str, dict[str, float]] = {}

    def set(self, region: str, weights: Mapping[str, float]) -> None:
        """Serve `region`'s predictions by these version weights (an empty mapping: current)."""
        with self._lock:
            if weights:
                self._weights[region] = dict(weights)
            else:
                self._weights.pop(region, None)

    def weights(self, region: str) -> dict[str, float]:
        """The region's version weights (empty: its current version serves everything)."""
        with self._lock:
            return dict(self._weights.get(region, {}))

    def pick(self, region: str) -> str | None:
        """The version that serves one prediction in `region`; None for its current version."""
        if not self._weights:  # the common case, without taking the lock
            return None
        with self._lock:
            weights = self._weights.get(region)
            if not weights:
                return None
            versions = list(weights)
            if len(versions) == 1:
                return versions[0]
            return self._rng.choices(versions, weights=list(weights.values()))[0]
