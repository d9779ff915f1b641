"""One user request across regions: plan the regions to try, try them in order until one answers,
and feed each attempt's outcome to passive health and the attempt log. Written once, without any
I/O, for the simulated users (SimPy timeouts) and the live gateway (real HTTP) to drive alike::

    request = Attempts(client, router, view, split, log)
    for attempt in request:  # the next region to try, until one answered
        outcome = ...  # the driver's travel and call: Outcome(answered, version, sent_at, ms)
        request.record(attempt, outcome)
    request.answered, request.region, request.count

A simulated run makes millions of these: attempts are named tuples, and the loop is a plain
iterator.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import NamedTuple

from sandbox.core.health import HealthView
from sandbox.core.records import AttemptLog
from sandbox.core.routing import Router, VersionSplit


class Try(NamedTuple):
    """One attempt to make: the region, and the model version the split asks of it (None: the
    region's current version)."""

    region: str
    version: str | None


class Outcome(NamedTuple):
    """What one attempt got: `answered` in time without a 5xx (what passive health and a retry
    judge by), the version that answered, when it was sent (the backend's clock) and how long it
    took (ms)."""

    answered: bool
    version: str | None
    sent_at: float
    latency_ms: float


class Attempts:
    """The attempts of one request from a user near `client`: the healthy regions by the router's
    policy (all of them when none is healthy: it fails open), the next one after each failure.
    A request `pinned` to a model version tries only the regions `among` that serve it, and asks
    each for that version rather than the split's."""

    __slots__ = ("_log", "_pinned", "_split", "_view", "answered", "count", "fail_open", "plan")

    def __init__(
        self,
        client: str,
        router: Router,
        view: HealthView | None,
        split: VersionSplit,
        log: AttemptLog | None = None,
        pinned: str | None = None,
        among: Collection[str] | None = None,
    ) -> None:
        healthy: Collection[str] = view.healthy_now() if view is not None else router.regions
        if among is not None:
            healthy = [region for region in healthy if region in among]
        self.plan, self.fail_open = router.plan(
            client, healthy, view.error_rate if view is not None else _no_errors
        )
        if among is not None:  # failing open: to every region among them
            self.plan = [region for region in self.plan if region in among]
        self._pinned = pinned
        self.count = 0  # regions tried so far
        self.answered = False
        self._view, self._split, self._log = view, split, log

    def __iter__(self) -> Iterator[Try]:
        for region in self.plan:
            self.count += 1
            yield Try(region, self._pinned or self._split.pick(region))
            if self.answered:
                return

    def record(self, attempt: Try, outcome: Outcome) -> None:
        """Feed one attempt's outcome: passive health, the attempt log, and whether to go on."""
        if self._view is not None:
            self._view.outcome(attempt.region, outcome.answered)
        if self._log is not None:
            self._log.add(
                outcome.sent_at,
                attempt.region,
                outcome.version,
                outcome.answered,
                outcome.latency_ms,
            )
        self.answered = outcome.answered

    @property
    def region(self) -> str:
        """The last region tried (the one that answered, if any did)."""
        return self.plan[self.count - 1]

    @property
    def first(self) -> str:
        """The region tried first."""
        return self.plan[0]


def _no_errors(region: str) -> float:
    return 0.0
