"""Request records as compact columns, no object per request; a run's requests stream to a spool
file a chunk at a time, so memory stays the same however many requests a run sends."""

from __future__ import annotations

import math
import os
import tempfile
import threading
import weakref
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, fields

from sandbox.errors import StorageError

NONE = -1  # no region served the request
DIGITS = 3  # the decimals a latency (ms) or a time (s) is reported with


def rank(p: float, n: int) -> int:
    """The nearest rank of percentile `p` (0-100) among `n` values, from 1."""
    return max(1, math.ceil(p / 100 * n))


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile `p` (0-100) of already sorted values; None when empty."""
    if not sorted_values:
        return None
    return round(sorted_values[rank(p, len(sorted_values)) - 1], DIGITS)


class Names:
    """Names (model versions, regions) as small numbers, for a column of them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str | None, int] = {None: NONE}

    def code(self, name: str | None) -> int:
        """The number of `name`, given one if it is new; NONE for None."""
        code = self._codes.get(name)
        if code is None:  # a new name: None has its code from the start
            assert name is not None
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    def find(self, name: str) -> int:
        """The number of `name`, NONE if it never came."""
        return self._codes.get(name, NONE)

    def name(self, code: int) -> str | None:
        return None if code == NONE else self.names[code]


@dataclass
class Chunk:
    """Consecutive requests as columns: when each was sent, from which client, the region it
    tried first and the last one, its attempts, latency, outcome and the version that answered
    last (codes as `RequestLog` gives them)."""

    t: array
    client: array
    first: array
    region: array
    attempts: array
    latency_ms: array
    ok: array
    wrong: array  # answered, but with wrong predictions
    version: array  # NONE if none answered

    def __len__(self) -> int:
        return len(self.t)

    def columns(self) -> list[array]:
        return [getattr(self, f.name) for f in fields(self)]

    def since(self, origin: float) -> Chunk:
        """The same requests, their times counted from `origin`."""
        if not origin:
            return self
        shifted = Chunk(*self.columns())
        shifted.t = array("d", (t - origin for t in self.t))
        return shifted


CODES = ("d", "H", "h", "h", "B", "d", "B", "B", "h")  # Chunk's columns' array types, in order
WIDTH = len(CODES)  # a request's fields
MAX_ATTEMPTS = 255  # what the attempts column keeps (a byte); more are kept as this


class Spool:
    """Chunks written one after another to an unnamed temporary file, read back in order: the
    file has no name from the start (nothing is left behind, even by a killed run) and is closed
    with its owner."""

    def __init__(self) -> None:
        try:
            fd, path = tempfile.mkstemp(prefix="mrsandbox-requests-")
        except OSError as e:
            raise _unkept(e.strerror) from None
        os.unlink(path)
        self._fd, self._end = fd, 0
        self._chunks: list[tuple[int, int]] = []  # (offset, rows) of each chunk
        self.close = weakref.finalize(self, os.close, fd)

    def write(self, chunk: Chunk) -> None:
        data = b"".join(column.tobytes() for column in chunk.columns())
        try:
            written = os.pwrite(self._fd, data, self._end)
        except OSError as e:
            raise _unkept(e.strerror) from None
        if written < len(data):
            raise _unkept("the disk is full")
        self._chunks.append((self._end, len(chunk)))
        self._end += len(data)

    def __iter__(self) -> Iterator[Chunk]:
        size = sum(array(code).itemsize for code in CODES)
        for offset, rows in self._chunks:
            data, at = os.pread(self._fd, rows * size, offset), 0
            columns = []
            for code in CODES:
                column = array(code)
                width = rows * column.itemsize
                column.frombytes(data[at : at + width])
                columns.append(column)
                at += width
            yield Chunk(*columns)


def _unkept(reason: str | None) -> StorageError:
    folder = tempfile.gettempdir()
    return StorageError(
        f"cannot keep the run's requests in the temporary folder {folder} ({reason}): free "
        "space there, or name a folder with room in the TMPDIR environment variable"
    )


class RequestLog:
    """Every request: when it was sent, from where, who served it, attempts, latency, outcome.
    Requests are kept in memory up to `chunk` of them, then written to a spool file; read them
    back with `chunks()`, one pass at a time. `origin`: the time the log's times count from."""

    CHUNK = 65_536

    def __init__(
        self, clients: Sequence[str], regions: Sequence[str], chunk: int | None = None
    ) -> None:
        self.clients = list(clients)
        self.regions = list(regions)
        self.versions = Names()
        self.origin = 0.0
        self._rows: list[float] = []  # the requests not yet in a chunk, field after field
        self._size = (chunk or self.CHUNK) * WIDTH  # fields in a chunk
        self._latest = -math.inf  # of the spooled requests
        self._spool: Spool | None = None
        self._spooled = 0

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
        the model version that answered. Kept in one flat list (one extend on the users' path)
        until a chunk's worth is made into columns."""
        rows = self._rows
        rows += (
            t,
            client,
            first,
            region,
            attempts if attempts < MAX_ATTEMPTS else MAX_ATTEMPTS,
            latency_ms,
            ok,
            wrong,
            self.versions.code(version),
        )
        if len(rows) >= self._size:
            if self._spool is None:
                self._spool = Spool()
            chunk = self._columns()
            self._spool.write(chunk)
            self._latest = max(self._latest, max(chunk.t))
            self._spooled += len(rows) // WIDTH
            self._rows = []

    def _columns(self) -> Chunk:
        """The requests not yet in a chunk (there are some), as one."""
        rows = self._rows
        return Chunk(*(array(code, rows[i::WIDTH]) for i, code in enumerate(CODES)))

    def __len__(self) -> int:
        return self._spooled + len(self._rows) // WIDTH

    def chunks(self) -> Iterator[Chunk]:
        """Every request in the order they were added, a chunk at a time, times from `origin`."""
        if self._spool is not None:
            for chunk in self._spool:
                yield chunk.since(self.origin)
        if self._rows:
            yield self._columns().since(self.origin)

    def column(self, name: str) -> Iterator[float]:
        """One column's values (a field of `Chunk`), every request in order."""
        for chunk in self.chunks():
            yield from getattr(chunk, name)

    def latest(self) -> float | None:
        """The time of the last request sent (from `origin`); None without requests."""
        if not len(self):
            return None
        newest = max(self._rows[0::WIDTH], default=-math.inf)
        return max(self._latest, newest) - self.origin

    def close(self) -> None:
        """Remove the spool file (requests read after this are only those not yet spooled)."""
        if self._spool is not None:
            self._spool.close()


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
