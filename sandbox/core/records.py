"""Request records as compact columns: no object per request, so a million requests stay small."""

from __future__ import annotations

import csv
import math
import threading
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

NONE = -1  # no region served the request


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile `p` (0-100) of already sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 3)


class Names:
    """Names (model versions, regions) as small numbers, for a column of them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, name: str | None) -> int:
        """The number of `name`, given one if it is new; NONE for None."""
        if name is None:
            return NONE
        if name not in self._codes:
            self._codes[name] = len(self.names)
            self.names.append(name)
        return self._codes[name]

    def find(self, name: str) -> int:
        """The number of `name`, NONE if it never came."""
        return self._codes.get(name, NONE)

    def name(self, code: int) -> str | None:
        return None if code == NONE else self.names[code]


class RequestLog:
    """Every request: when it was sent, from where, who served it, attempts, latency, outcome."""

    def __init__(self, clients: Sequence[str], regions: Sequence[str]) -> None:
        self.clients = list(clients)
        self.regions = list(regions)
        self.t = array("d")
        self.client = array("H")
        self.region = array("h")
        self.first = array("h")
        self.attempts = array("B")
        self.latency_ms = array("d")
        self.ok = array("B")
        self.wrong = array("B")  # answered, but with wrong predictions
        self.versions = Names()
        self.version = array("h")  # the model version that answered last, NONE if none

    def add(
        self,
        t: float,
        client: int,
        first: int,
        region: int,
        attempts: int,
        latency_ms: float,
        ok: bool,
        wrong: bool = False,
        version: str | None = None,
    ) -> None:
        """One request: `first` is the region it tried first, `region` the last one; `ok` when
        it got a right answer, `wrong` when a region answered with wrong predictions; `version`
        the model version that answered."""
        self.t.append(t)
        self.client.append(client)
        self.first.append(first)
        self.region.append(region)
        self.attempts.append(min(attempts, 255))
        self.latency_ms.append(latency_ms)
        self.ok.append(ok)
        self.wrong.append(wrong)
        self.version.append(self.versions.code(version))

    def __len__(self) -> int:
        return len(self.t)

    def rows(self) -> Iterator[tuple[float, str, str, int, float, str, str]]:
        """(t, client region, served region or '-', attempts, latency ms, outcome, version)."""
        for i in range(len(self)):
            served = self.regions[self.region[i]] if self.region[i] != NONE else "-"
            yield (
                round(self.t[i], 6),
                self.clients[self.client[i]],
                served,
                self.attempts[i],
                round(self.latency_ms[i], 3),
                "ok" if self.ok[i] else "wrong" if self.wrong[i] else "failed",
                self.versions.name(self.version[i]) or "-",
            )

    def to_csv(self, path: Path) -> None:
        """Write every request, one row each, streaming."""
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(
                [
                    "t_s",
                    "client_region",
                    "served_by",
                    "attempts",
                    "latency_ms",
                    "outcome",
                    "version",
                ]
            )
            writer.writerows(self.rows())


@dataclass(frozen=True)
class Served:
    """What one model version served in some regions over a window: the bake's evidence."""

    requests: int
    failed: int
    p99_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.requests if self.requests else None


class AttemptLog:
    """Every attempt at a region (a request may make several): when, where, which model version
    answered, whether it answered in time without a 5xx, and how long it took. Safe across
    threads: the gateway's request threads add to it while a rollout reads it. It keeps the
    latest `keep` attempts (a long-running gateway must not grow without end): past that, the
    older half goes."""

    KEEP = 1_000_000

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self.versions = Names()
        self.regions = Names()
        self.t = array("d")
        self.region = array("h")
        self.version = array("h")
        self.ok = array("B")
        self.latency_ms = array("d")

    def add(self, t: float, region: str, version: str | None, ok: bool, latency_ms: float) -> None:
        with self._lock:
            self.t.append(t)
            self.region.append(self.regions.code(region))
            self.version.append(self.versions.code(version))
            self.ok.append(ok)
            self.latency_ms.append(latency_ms)
            if len(self.t) > self.keep:
                half = len(self.t) // 2
                for column in (self.t, self.region, self.version, self.ok, self.latency_ms):
                    del column[:half]

    def __len__(self) -> int:
        return len(self.t)

    def served(self, since: float, until: float, regions: Collection[str], version: str) -> Served:
        """What `version` served in `regions` from `since` to `until`."""
        with self._lock:
            wanted = {self.regions.find(r) for r in regions} - {NONE}
            v = self.versions.find(version)
            if v == NONE:
                return Served(0, 0, None)
            picked = [
                i
                for i in range(len(self.t))
                if since <= self.t[i] < until and self.region[i] in wanted and self.version[i] == v
            ]
            ok = sorted(self.latency_ms[i] for i in picked if self.ok[i])
        return Served(len(picked), sum(1 for i in picked if not self.ok[i]), percentile(ok, 99))
