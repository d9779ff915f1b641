"""What users saw in a run, from one pass over its requests: counts, the latency percentiles of
the answered ones (exact at the journal's rounding, `Quantiles`), each phase, each region's share,
each model version, and each fault's traffic. Memory does not grow with the number of requests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sandbox.core.records import NONE, RequestLog
from sandbox.experiment.columns import Columns, Quantiles, columns
from sandbox.experiment.scenario import ScheduledFault

PHASES = ("before", "during", "after")


@dataclass
class Phase:
    """The requests sent in one phase: how many, how many failed, the answered ones' latency."""

    sent: int = 0
    failed: int = 0
    latency: Quantiles = field(default_factory=Quantiles)

    def record(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "error_rate": round(self.failed / self.sent, 6) if self.sent else None,
            "latency_ms": latency(self.latency),
        }


@dataclass
class FaultTraffic:
    """One fault's traffic: for a region's fault, the last request first sent there while it
    lasted; for a version's, the requests that version answered last there, and the failed."""

    fault: ScheduledFault
    region: int
    version: int  # the version's code for a version's fault, else NONE
    last_sent: float | None = None
    requests: int = 0
    failed: int = 0

    def see(self, c: Columns) -> None:
        """Count the requests of chunk `c` this fault touched."""
        f = self.fault
        inside = c.t >= f.start_s
        if f.end_s is not None:
            inside &= c.t < f.end_s
        if f.fault.version is None:
            sent = c.t[inside & (c.first == self.region)]
            if sent.size:
                latest = float(sent.max())
                if self.last_sent is None or latest > self.last_sent:
                    self.last_sent = latest
        elif self.version != NONE:
            hit = inside & (c.region == self.region) & (c.version == self.version)
            self.requests += int(np.count_nonzero(hit))
            self.failed += int(np.count_nonzero(hit & ~c.ok))


def latency(values: Quantiles) -> dict[str, float | None]:
    return {f"p{p}": values.percentile(p) for p in (50, 95, 99)}


@dataclass
class Summary:
    """The totals of a run's requests, filled by `summarize`."""

    phases: dict[str, Phase]
    faults: list[FaultTraffic]
    sent: int = 0
    succeeded: int = 0
    wrong: int = 0
    served: Counter[int] = field(default_factory=Counter)  # answered requests per region
    by_version: Counter[int] = field(default_factory=Counter)
    failed_by_version: Counter[int] = field(default_factory=Counter)

    def answered(self) -> Quantiles:
        """The latencies of every answered request: those of the phases together."""
        every = Quantiles()
        for phase in self.phases.values():
            every.merge(phase.latency)
        return every

    def versions(self, log: RequestLog) -> dict[str, dict[str, float | int]]:
        """Per model version: the requests it answered last, how many failed, and its share."""
        answered = sum(n for v, n in self.by_version.items() if v >= 0)
        return {
            name: {
                "requests": self.by_version[i],
                "failed": self.failed_by_version[i],
                "share": round(self.by_version[i] / answered, 6) if answered else 0.0,
            }
            for i, name in enumerate(log.versions.names)
        }

    def shares(self, log: RequestLog) -> dict[str, float]:
        """Each region's share of the answered requests."""
        answered = sum(self.served.values())
        return {
            region: round(self.served[i] / answered, 6) if answered else 0.0
            for i, region in enumerate(log.regions)
        }


def summarize(
    log: RequestLog, faults: Sequence[ScheduledFault], window: tuple[float, float] | None
) -> Summary:
    """One pass over `log`'s requests; `window`: the phase "during" (None: all is "before")."""
    tracked = [
        FaultTraffic(f, log.regions.index(f.region), log.versions.find(f.fault.version or ""))
        for f in faults
    ]
    s = Summary({phase: Phase() for phase in PHASES}, tracked)
    for c in columns(log):
        phase = np.zeros(len(c.t), dtype=np.int8)  # 0 before, 1 during, 2 after the window
        if window is not None:
            phase += c.t >= window[0]
            phase += c.t >= window[1]
        for k, record in enumerate(s.phases.values()):
            picked = phase == k
            record.sent += int(np.count_nonzero(picked))
            record.failed += int(np.count_nonzero(picked & ~c.ok))
            record.latency.extend(c.latency_ms[picked & c.ok])
        s.served.update(c.region[c.ok | c.wrong].tolist())
        s.by_version.update(c.version.tolist())
        s.failed_by_version.update(c.version[~c.ok].tolist())
        for fault in tracked:
            fault.see(c)
        s.sent += len(c.t)
        s.succeeded += int(np.count_nonzero(c.ok))
        s.wrong += int(np.count_nonzero(c.wrong))
    return s
