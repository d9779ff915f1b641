"""What users saw in a run, from one pass over its requests: counts, the latency percentiles of
the answered ones (exact at the journal's rounding, `Quantiles`), each phase, each region's share,
each model version, and each fault's traffic. Memory does not grow with the number of requests."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.records import NONE, Quantiles, RequestLog
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

    def see(self, t: float, first: int, region: int, version: int, ok: int) -> None:
        f = self.fault
        if not f.start_s <= t < (f.end_s if f.end_s is not None else math.inf):
            return
        if f.fault.version is None:
            if first == self.region and (self.last_sent is None or t > self.last_sent):
                self.last_sent = t
        elif version != NONE and region == self.region and version == self.version:
            self.requests += 1
            self.failed += not ok


def latency(values: Quantiles) -> dict[str, float | None]:
    return {f"p{p}": values.percentile(p) for p in (50, 95, 99)}


def phase_of(t: float, window: tuple[float, float] | None) -> str:
    if window is None or t < window[0]:
        return "before"
    return "during" if t < window[1] else "after"


@dataclass
class Summary:
    """The totals of a run's requests, filled by `summarize`."""

    phases: dict[str, Phase]
    faults: list[FaultTraffic]
    answered: Quantiles = field(default_factory=Quantiles)
    sent: int = 0
    succeeded: int = 0
    wrong: int = 0
    served: Counter[int] = field(default_factory=Counter)  # answered requests per region
    by_version: Counter[int] = field(default_factory=Counter)
    failed_by_version: Counter[int] = field(default_factory=Counter)

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
    for c in log.chunks():
        for t, first, region, latency_ms, ok, wrong, version in zip(
            c.t, c.first, c.region, c.latency_ms, c.ok, c.wrong, c.version, strict=True
        ):
            phase = s.phases[phase_of(t, window)]
            phase.sent += 1
            if ok:
                phase.latency.add(latency_ms)
                s.answered.add(latency_ms)
            else:
                phase.failed += 1
                s.failed_by_version[version] += 1
            if ok or wrong:
                s.served[region] += 1
            s.by_version[version] += 1
            for fault in tracked:
                fault.see(t, first, region, version, ok)
        s.sent += len(c)
        s.succeeded += sum(c.ok)
        s.wrong += sum(c.wrong)
    return s
