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
from typing import ClassVar

from sandbox.core.checks import Range
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidDeployment

POLICIES = ("latency", "healthiest", "failover", "weighted", "round_robin")
STEADY = frozenset({"latency", "failover"})  # policies whose plan depends on the pool alone
REQUEST_TIMEOUT_S = 2.0  # seconds one attempt at a region may take before the next is tried
MAX_DNS_TTL_S = 86_400.0
Plan = tuple[tuple[str, ...], bool]  # the regions to try, best first; whether it failed open


@dataclass(frozen=True)
class RoutingPolicy:
    """A policy name and its settings: `order` for failover (required there, and only there),
    `weights` (0-255, one above 0) for weighted, likewise; `retries`: further regions a request
    tries after a failure; `dns_ttl_s`: how long clients keep the region they were given (0: they
    ask every time). A policy checks itself when built; `check` fits it to a fleet's regions."""

    name: str = "latency"
    retries: int = 1
    order: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    dns_ttl_s: float = 0.0

    BOUNDS: ClassVar[dict[str, Range]] = {
        "retries": Range(0, 10, whole=True),
        "dns_ttl_s": Range(0, MAX_DNS_TTL_S),
    }
    WEIGHT: ClassVar[Range] = Range(0, 255, whole=True)  # as Route 53's and Global Accelerator's
    SETTING_OF: ClassVar[dict[str, str]] = {"order": "failover", "weights": "weighted"}

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            reason = f"expected one of {', '.join(POLICIES)}, got {self.name!r}"
            raise InvalidDeployment.about("policy", reason, "routing ")
        for name, bounds in self.BOUNDS.items():
            problem = bounds.problem(getattr(self, name))
            if problem:
                raise InvalidDeployment.about(name, problem, "routing ")
        object.__setattr__(self, "dns_ttl_s", float(self.dns_ttl_s))
        order = self.order
        if not isinstance(order, list | tuple) or not all(isinstance(r, str) for r in order):
            reason = f"expected a list of region names, got {order!r}"
            raise InvalidDeployment.about("order", reason, "routing ")
        order = tuple(order)
        object.__setattr__(self, "order", order)
        if len(set(order)) != len(order):
            raise InvalidDeployment.about("order", "lists a region more than once", "routing ")
        if not isinstance(self.weights, Mapping):
            reason = f"expected region = weight pairs, got {self.weights!r}"
            raise InvalidDeployment.about("weights", reason, "routing ")
        for region, weight in self.weights.items():
            problem = self.WEIGHT.problem(weight)
            if problem:
                raise InvalidDeployment.about("weights", f"{region}: {problem}", "routing ")
        for setting, policy in self.SETTING_OF.items():
            given = bool(getattr(self, setting))
            if given and self.name != policy:
                reason = f"applies to policy {policy} only; remove it or choose {policy}"
                raise InvalidDeployment.about(setting, reason, "routing ")
        if self.name == "failover" and not order:
            reason = "policy failover needs an order, e.g. us-east-1,eu-west-1"
            raise InvalidDeployment.about("order", reason, "routing ")
        if self.name == "weighted" and not any(w > 0 for w in self.weights.values()):
            reason = "policy weighted needs weights, at least one above 0"
            raise InvalidDeployment.about("weights", reason, "routing ")

    def check(self, regions: Sequence[str]) -> None:
        """Refuse an order or weights that name a region the fleet does not have."""
        for setting in ("order", "weights"):
            for name in getattr(self, setting):
                if name not in regions:
                    reason = f"{name!r} is not one of the regions ({', '.join(regions)})"
                    raise InvalidDeployment.about(setting, reason, "routing ")


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
        self._closest: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        # STEADY plans by (client, healthy regions), with the policy they were made by and
        # whether it caches
        self._plans: tuple[RoutingPolicy, bool, dict[tuple[str, tuple[str, ...]], Plan]] = (
            policy,
            self.caches,
            {},
        )
        self._listeners: list[Callable[[str, str, str, float], None]] = []

    def subscribe(self, listener: Callable[[str, str, str, float], None]) -> None:
        """With a DNS TTL: call `listener(client, old, new, t)` whenever a client's expired
        answer is renewed with another region (the moment its users move)."""
        self._listeners.append(listener)

    @property
    def caches(self) -> bool:
        """Whether clients keep their answer for a DNS TTL (they then move only when it ends)."""
        return bool(self.policy.dns_ttl_s) and self.clock is not None

    def plan(
        self,
        client: str,
        healthy: Collection[str],
        error_rate: Callable[[str], float] = lambda region: 0.0,
    ) -> Plan:
        """The regions to try for `client`, best first, and whether it failed open.

        With no healthy region it answers as if all were healthy (fails open, as Route 53 does).
        A cached DNS answer goes first until it expires; the policy's other regions follow it.
        """
        policy = self.policy
        planned_by, caches, plans = self._plans
        if planned_by is not policy:  # a new policy: plan afresh
            caches, plans = self.caches, {}
            self._plans = (policy, caches, plans)
        key = (client, healthy if isinstance(healthy, tuple) else tuple(healthy))
        planned = plans.get(key)
        if planned is None:
            planned = self._plan(client, healthy, error_rate)
            if policy.name in STEADY:  # the same until the healthy regions or the policy change
                plans[key] = planned
        if not caches:
            return planned
        ordered, fail_open = planned
        assert self.clock is not None
        now, ttl = self.clock(), self.policy.dns_ttl_s
        with self._lock:
            old, expires = self._cached.get(client, ("", -1.0))
            region = old
            if now >= expires:
                left = ttl if client in self._cached else ttl * self._rng.random()
                region = ordered[0]
                self._cached[client] = (region, now + left)
        if old and region != old:
            for listener in self._listeners:
                listener(client, old, region, now)
        if region == ordered[0]:
            return ordered, fail_open
        rest = tuple(r for r in ordered if r != region)
        return (region, *rest)[: 1 + self.policy.retries], fail_open

    def _plan(
        self, client: str, healthy: Collection[str], error_rate: Callable[[str], float]
    ) -> Plan:
        pool = [r for r in self.regions if r in healthy]
        fail_open = not pool
        pool = pool or list(self.regions)
        by_latency = self._by_latency(client, pool)
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
        return tuple(ordered[: 1 + self.policy.retries]), fail_open

    def _by_latency(self, client: str, pool: list[str]) -> list[str]:
        """`pool` closest to `client` first (kept per client and pool: asked once per request)."""
        key = (client, tuple(pool))
        ordered = self._closest.get(key)
        if ordered is None:
            ordered = sorted(pool, key=lambda r: self.catalog.rtt_ms(client, r))
            self._closest[key] = ordered
        return ordered

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
