"""One user request across regions: plan the regions to try, try them in order until one answers,
and feed each attempt's outcome to passive health and the attempt log. Written once, without any
I/O, for the simulated users (SimPy timeouts) and the live gateway (real HTTP) to drive alike::

    request = Attempts(client, router, view, split, log)
    for region, version in request:  # the next region to try and the version to ask of it
        ...  # the driver's travel and call
        request.record(answered, answered_version, sent_at, latency_ms)
    request.answered, request.region, request.count

A simulated run makes millions of these: an attempt is a plain tuple, its outcome the arguments
of `record`, and the loop a plain iterator.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sandbox.core.health import HealthView
from sandbox.core.records import AttemptLog
from sandbox.core.routing import Router, VersionSplit


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
            self.plan = tuple(region for region in self.plan if region in among)
        self._pinned = pinned
        self.count = 0  # regions tried so far
        self.answered = False
        self._view, self._split, self._log = view, split, log

    def __iter__(self) -> Iterator[tuple[str, str | None]]:
        """Each attempt to make, the next one after each failure `record`ed: the region, and the
        model version the split asks of it (None: the region's current version)."""
        for region in self.plan:
            self.count += 1
            yield region, self._pinned or self._split.pick(region)
            if self.answered:
                return

    def record(
        self, answered: bool, version: str | None, sent_at: float, latency_ms: float
    ) -> None:
        """Feed the outcome of the attempt just made: `answered` in time without a 5xx (what
        passive health and a retry judge by), the version that answered, when it was sent (the
        backend's clock) and how long it took (ms). It goes to passive health and the attempt
        log, and says whether to go on."""
        region = self.plan[self.count - 1]
        if self._view is not None:
            self._view.outcome(region, answered)
        if self._log is not None:
            self._log.add(sent_at, region, version, answered, latency_ms)
        self.answered = answered

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
