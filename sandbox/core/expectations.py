"""What the probe timing model implies for a fault: how long after it starts its region is marked
unhealthy, and how long users may still be sent there. The journal, the report, the quizzes and
the sweep plots print these bounds beside the measurements; the same model runs the probes
(`sandbox.core.timing`), so each bound contains what it stands beside.

The model: a probe leaves the control region, reaches the region a round trip `rtt` later, and
the region answers it (at once, after a fault's delay, or never); it fails at the timeout `T`
after it left. The next probe leaves `interval` after a probe ends. A fault that fails every probe
that reaches the region makes failed probes one cycle `P = interval + rtt + g` apart, where `g` is
how long a failed probe waits at the region (0 for an outage, up to `T - rtt` for a timeout). The
first probe to reach the region after the fault starts arrives within one cycle, so the
`threshold`-th failure comes after `(threshold - 1) P + g` to `threshold P`. On a live fleet a
probe's wall-clock overhead stretches each cycle, up to `interval + T`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sandbox.core.faults import Fault
from sandbox.core.health import HealthPolicy, OutlierPolicy

EJECTION_TAIL = 0.001  # the share of runs an ejection's bounds leave out on each side


@dataclass(frozen=True)
class Expected:
    """Bounds in seconds after a fault starts, with the rule that gives them; or no bounds
    (`low` and `high` None) and why none are expected."""

    low: float | None
    high: float | None
    why: str

    @property
    def bounds(self) -> list[float] | None:
        """`[low, high]`, as the journal keeps them, or None."""
        if self.low is None or self.high is None:
            return None
        return [self.low, self.high]

    def holds(self, measured: float | None) -> bool:
        """Whether `measured` is what the bounds allow (no measurement where none is expected)."""
        if self.low is None or self.high is None:
            return measured is None
        return measured is not None and self.low <= measured <= self.high


def failed_probe_wait_s(
    fault: Fault, timeout_s: float, rtt_s: float, threshold: int
) -> float | str:
    """How long a failed probe waits at the region (`g` above) when probes time out after
    `timeout_s`, or why probes do not fail."""
    if fault.version is not None:
        return "a version's fault hits that version's predictions only: no probe sees it"
    if fault.kind in ("outage", "crash"):
        return 0.0
    at_most = max(0.0, timeout_s - rtt_s)
    if fault.kind == "timeout":
        return min((fault.timeout_ms or 0.0) / 1000.0, at_most)
    if fault.kind == "latency":
        latency, jitter = (fault.latency_ms or 0.0) / 1000.0, (fault.jitter_ms or 0.0) / 1000.0
        if latency + jitter <= at_most:
            return (
                f"a probe waits at most {latency + jitter:g} s more, within its {timeout_s:g} s "
                "timeout: slow answers pass"
            )
        if latency - jitter <= at_most:
            return (
                "the jitter puts some probes within the timeout and some beyond: whether "
                f"{threshold} fail in a row is a matter of chance"
            )
        return at_most
    if fault.kind == "error_rate":
        return (
            "a probe asks /healthz, not a prediction: an error rate is seen only by passive "
            "outlier detection"
        )
    return f"a {fault.kind} fault answers probes as a healthy region does"


def expected_detection(
    fault: Fault, policy: HealthPolicy, rtt_s: float, live_timeout_s: float | None = None
) -> Expected:
    """When the probes mark the fault's region unhealthy, after the fault starts. On a live
    fleet, `live_timeout_s` is how long a probe may really take there (emulated seconds)."""
    interval, k = policy.interval_s, policy.failure_threshold
    timeout = policy.timeout_s if live_timeout_s is None else live_timeout_s
    wait = failed_probe_wait_s(fault, timeout, rtt_s, k)
    if isinstance(wait, str):
        return Expected(None, None, wait)
    cycle = interval + rtt_s + wait
    low = (k - 1) * cycle + wait
    why = (
        f"{k} failed probes in a row, one cycle apart: interval {interval:g} s + round trip "
        f"{rtt_s:.3g} s + {wait:.3g} s a failed probe waits; the first within a cycle of the start"
    )
    if live_timeout_s is None:
        return Expected(_down(low), _up(k * cycle), why)
    why += f"; live, a probe's overhead may stretch a cycle up to interval + {timeout:g} s"
    return Expected(_down(low), _up(k * (interval + timeout) + timeout), why)


def expected_failover(detection: Expected, dns_ttl_s: float, others: int) -> Expected:
    """How long after the fault starts users may still be sent to its region: until the probes
    mark it down (passive ejection may come sooner), and for a cached DNS answer's TTL after;
    with no other region (`others`: the deployment's other regions) users stay: the router
    fails open."""
    if not others:
        why = "no other region to move users to: the router fails open and keeps sending them"
        return Expected(None, None, why)
    if detection.high is None:
        return Expected(None, None, f"{detection.why}; only outlier ejection moves users")
    why = f"at most detection's {detection.high:g} s + DNS TTL {dns_ttl_s:g} s; sooner if ejected"
    return Expected(0.0, _up(detection.high + dns_ttl_s), why)


def expected_ejection(outlier: OutlierPolicy, rate_per_s: float) -> Expected:
    """When passive outlier detection ejects a region that fails every request, after the fault
    starts: at the `consecutive_5xx`-th request its users send (Poisson arrivals at
    `rate_per_s`), `consecutive_5xx / rate_per_s` on average; the bounds leave out
    `EJECTION_TAIL` of runs on each side."""
    k = outlier.consecutive_5xx
    low = _kth_arrival(k, rate_per_s, EJECTION_TAIL)
    high = _kth_arrival(k, rate_per_s, 1 - EJECTION_TAIL)
    why = (
        f"ejected after consecutive_5xx = {k} errors in a row: users sending {rate_per_s:g} "
        f"requests a second at random moments send that many in {k / rate_per_s:.3g} s on average"
    )
    return Expected(_down(low), _up(high), why)


def _kth_arrival(k: int, rate: float, p: float) -> float:
    """The time by which a Poisson stream at `rate` has brought its `k`th arrival with
    probability `p` (found by bisection: at least k arrivals by t is 1 - P(Poisson(rate t) < k))."""

    def by(t: float) -> float:
        mean = rate * t
        if mean == 0:
            return 0.0
        logs = [i * math.log(mean) - mean - math.lgamma(i + 1) for i in range(k)]
        top = max(logs)
        return 1 - math.exp(top) * math.fsum(math.exp(x - top) for x in logs)

    low, high = 0.0, (k + 10 * math.sqrt(k) + 10) / rate
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if by(middle) < p else (low, middle)
    return high


def _down(x: float) -> float:
    """`x` to the ms below, ignoring float noise (a sum of whole ms stays whole)."""
    return math.floor(round(x * 1000, 6)) / 1000


def _up(x: float) -> float:
    """`x` to the ms above, ignoring float noise (30.242 + 15 is 45.242, not 45.243)."""
    return math.ceil(round(x * 1000, 6)) / 1000
