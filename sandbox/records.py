"""Request records as compact columns: no object per request, so a million requests stay small."""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

NONE = -1  # no region served the request


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
    ) -> None:
        """One request: `first` is the region it tried first, `region` the last one; `ok` when
        it got a right answer, `wrong` when a region answered with wrong predictions."""
        self.t.append(t)
        self.client.append(client)
        self.first.append(first)
        self.region.append(region)
        self.attempts.append(min(attempts, 255))
        self.latency_ms.append(latency_ms)
        self.ok.append(ok)
        self.wrong.append(wrong)

    def __len__(self) -> int:
        return len(self.t)

    def rows(self) -> Iterator[tuple[float, str, str, int, float, str]]:
        """(t, client region, served region or '-', attempts, latency ms, outcome)."""
        for i in range(len(self)):
            served = self.regions[self.region[i]] if self.region[i] != NONE else "-"
            yield (
                round(self.t[i], 6),
                self.clients[self.client[i]],
                served,
                self.attempts[i],
                round(self.latency_ms[i], 3),
                "ok" if self.ok[i] else "wrong" if self.wrong[i] else "failed",
            )

    def to_csv(self, path: Path) -> None:
        """Write every request, one row each, streaming."""
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["t_s", "client_region", "served_by", "attempts", "latency_ms", "outcome"]
            )
            writer.writerows(self.rows())
