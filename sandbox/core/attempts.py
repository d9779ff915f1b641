"""One user request across regions: plan the regions to try, try them in order until one answers,
and feed each attempt's outcome to passive health and the attempt log. Written once, without any
I/O, as a generator that the simulated users (SimPy timeouts) and the live gateway (real HTTP)
both drive: it yields each `Try`, is sent back its `Outcome`, and returns the `Tried`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from sandbox.core.health import HealthView
from sandbox.core.records import AttemptLog
from sandbox.core.routing import Router, VersionSplit


@dataclass(frozen=True)
class Try:
    """One attempt to make: the region, and the model version the split asks of it (None: the
    region's current version)."""

    region: str
    version: str | None


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: `answered` in time without a 5xx (what passive health and a retry
    judge by), the version that answered, when it was sent (the backend's clock) and how long it
    took (ms)."""

    answered: bool
    version: str | None
    sent_at: float
    latency_ms: float


@dataclass(frozen=True)
class Tried:
    """The request's path: the plan, whether it failed open, how many regions it tried, and
    whether the last of them answered."""

    plan: list[str]
    fail_open: bool
    attempts: int
    answered: bool

    @property
    def region(self) -> str:
        """The last region tried (the one that answered, if any did)."""
        return self.plan[self.attempts - 1]


def attempts(
    client: str,
    router: Router,
    view: HealthView | None,
    split: VersionSplit,
    log: AttemptLog | None = None,
) -> Generator[Try, Outcome, Tried]:
    """The attempts of one request from a user near `client`: the healthy regions by the router's
    policy (all of them when none is healthy: it fails open), the next one after each failure."""
    healthy = view.healthy_regions() if view is not None else router.regions
    plan, fail_open = router.plan(client, healthy, view.error_rate if view else _no_errors)
    for number, region in enumerate(plan, 1):
        attempt = Try(region, split.pick(region))
        outcome = yield attempt
        if view is not None:
            view.outcome(region, outcome.answered)
        if log is not None:
            log.add(outcome.sent_at, region, outcome.version, outcome.answered, outcome.latency_ms)
        if outcome.answered:
            return Tried(plan, fail_open, number, True)
    return Tried(plan, fail_open, len(plan), False)


def _no_errors(region: str) -> float:
    return 0.0
