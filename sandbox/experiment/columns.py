"""A run's requests read back as numpy columns, a chunk at a time: the CSV of every request, and
percentiles counted at a rounding (`Quantiles`), in memory that does not grow with the requests."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sandbox.core.records import DIGITS, Chunk, RequestLog, rank

OUTCOMES = np.array(["failed", "wrong", "ok"], dtype=object)  # by 2 x ok + wrong
CSV_HEADER = ("t_s", "client_region", "served_by", "attempts", "latency_ms", "outcome", "version")


class Columns:
    """A chunk's columns as numpy arrays over the same memory (no copy)."""

    def __init__(self, chunk: Chunk) -> None:
        self.t = np.frombuffer(chunk.t, dtype=np.float64)
        self.client = np.frombuffer(chunk.client, dtype=np.uint16)
        self.first = np.frombuffer(chunk.first, dtype=np.int16)
        self.region = np.frombuffer(chunk.region, dtype=np.int16)
        self.attempts = np.frombuffer(chunk.attempts, dtype=np.uint8)
        self.latency_ms = np.frombuffer(chunk.latency_ms, dtype=np.float64)
        self.ok = np.frombuffer(chunk.ok, dtype=np.uint8).view(bool)
        self.wrong = np.frombuffer(chunk.wrong, dtype=np.uint8).view(bool)
        self.version = np.frombuffer(chunk.version, dtype=np.int16)

    def bins(self, width: float, count: int) -> np.ndarray:
        """Each request's time bin of `width` seconds, the last bin taking any later one."""
        return np.minimum((self.t / width).astype(np.int64), count - 1)


def columns(log: RequestLog) -> Iterator[Columns]:
    """`log`'s requests a chunk at a time, as numpy columns."""
    for chunk in log.chunks():
        yield Columns(chunk)


def rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """`values` rounded to `digits` decimals exactly as Python's `round` does: numpy's where the
    scaled value is more than 4 units in the last place from a half (its rounding error is at
    most half of one, so both round it the same way), Python's own for the rest."""
    scale = 10.0**digits
    scaled = values * scale
    out = np.rint(scaled) / scale
    near = np.abs(scaled - np.floor(scaled) - 0.5) <= 4 * np.spacing(scaled)
    if near.any():
        out[near] = [round(v, digits) for v in values[near].tolist()]
    return out


class Quantiles:
    """Nearest-rank percentiles of a stream of values, each counted rounded to `digits` decimals.
    Rounding keeps the order of values, so a percentile is exactly `records.percentile` of the
    rounded values; memory grows with the distinct rounded values (at most one per 10**-digits
    of their range), never with their number."""

    def __init__(self, digits: int = DIGITS) -> None:
        self.digits = digits
        self.counts: Counter[float] = Counter()
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        distinct, counts = np.unique(rounded(values, self.digits), return_counts=True)
        self.counts.update(dict(zip(distinct.tolist(), counts.tolist(), strict=True)))
        self.n += len(values)

    def merge(self, other: Quantiles) -> None:
        """Count `other`'s values too (at the same digits)."""
        self.counts.update(other.counts)
        self.n += other.n

    def percentile(self, p: float) -> float | None:
        """The nearest-rank percentile `p` (0-100); None when no value came."""
        if not self.n:
            return None
        wanted, seen = rank(p, self.n), 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= wanted:
                break
        return value


def rows(log: RequestLog) -> Iterator[tuple[float, str, str, int, float, str, str]]:
    """Every request: (t, client region, served region or '-', attempts, latency ms, outcome,
    version or '-'), times to the microsecond and latencies to the journal's digits."""
    clients = np.array(log.clients, dtype=object)
    served = np.array([*log.regions, "-"], dtype=object)  # NONE (-1) is the last: '-'
    versions = np.array([*log.versions.names, "-"], dtype=object)
    for c in columns(log):
        yield from zip(
            rounded(c.t, 6).tolist(),
            clients[c.client].tolist(),
            served[c.region].tolist(),
            c.attempts.tolist(),
            rounded(c.latency_ms, DIGITS).tolist(),
            OUTCOMES[2 * c.ok + c.wrong].tolist(),
            versions[c.version].tolist(),
            strict=True,
        )


def write_csv(log: RequestLog, path: Path) -> None:
    """Write every request, one row each, a chunk at a time."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows(log))
