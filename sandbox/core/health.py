"""Health: the active probe state machine, passive outlier detection, and the view of both.

Pure state, driven by whoever owns the clock: SimPy processes in the simulation, a prober thread
and the gateway's request threads in the live fleet.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from sandbox.core.checks import Range, is_number
from sandbox.errors import InvalidDeployment

RECENT = 50  # requests kept per region for the observed error rate
DEFAULT_TIMEOUT_S = 2.0  # a probe's timeout when none is given (and the interval allows it)


@dataclass(frozen=True, init=False)
class HealthPolicy:
    """Active probe settings; defaults are Route 53's: every 30 s, 3 in a row to flip. A probe
    must end before the next starts: `timeout_s` is shorter than `interval_s`; when it is not
    given it is DEFAULT_TIMEOUT_S, or half the interval where that is shorter."""

    interval_s: float
    timeout_s: float
    failure_threshold: int
    healthy_threshold: int

    BOUNDS: ClassVar[dict[str, Range]] = {
        "interval_s": Range(0, 3600, low_open=True),
        "timeout_s": Range(0, 60, low_open=True),
        "failure_threshold": Range(1, 10, whole=True),
        "healthy_threshold": Range(1, 10, whole=True),
    }

    def __init__(
        self,
        interval_s: float = 30.0,
        timeout_s: float | None = None,
        failure_threshold: int = 3,
        healthy_threshold: int = 3,
    ) -> None:
        if timeout_s is None:  # a default that fits any interval the policy allows
            timeout_s = min(DEFAULT_TIMEOUT_S, interval_s / 2) if is_number(interval_s) else 0
        for name, value in (
            ("interval_s", interval_s),
            ("timeout_s", timeout_s),
            ("failure_threshold", failure_threshold),
            ("healthy_threshold", healthy_threshold),
        ):
            object.__setattr__(self, name, value)
        _check(self, "health ")
        if self.timeout_s >= self.interval_s:
            reason = (
                f"{self.timeout_s:g} s is not shorter than the probe interval "
                f"({self.interval_s:g} s): "
                "a probe must end before the next one starts; lower it"
            )
            raise InvalidDeployment.about("timeout_s", reason, "health ")


@dataclass(frozen=True)
class OutlierPolicy:
    """Passive outlier detection, as Envoy's: eject after consecutive 5xx answers, for
    `base_ejection_s` times the number of ejections, at most `max_ejection_s` (or the base, if it
    is longer); a passing active
    health check lifts an ejection (Envoy's `successful_active_health_check_uneject_host`, on by
    default) unless `uneject_on_healthy_probe` is false."""

    consecutive_5xx: int = 5
    base_ejection_s: float = 30.0
    max_ejection_s: float = 300.0
    uneject_on_healthy_probe: bool = True

    BOUNDS: ClassVar[dict[str, Range]] = {
        "consecutive_5xx": Range(1, 1000, whole=True),
        "base_ejection_s": Range(0, 3600, low_open=True),
        "max_ejection_s": Range(0, 86_400, low_open=True),
    }

    def __post_init__(self) -> None:
        _check(self, "outlier ")
        if not isinstance(self.uneject_on_healthy_probe, bool):
            reason = f"expected true or false, got {self.uneject_on_healthy_probe!r}"
            raise InvalidDeployment.about("uneject_on_healthy_probe", reason, "outlier ")


def _check(policy: HealthPolicy | OutlierPolicy, owner: str) -> None:
    """Each bounded setting within its bounds; seconds kept as floats, whatever was given."""
    for name, bounds in policy.BOUNDS.items():
        value = getattr(policy, name)
        problem = bounds.problem(value)
        if problem:
            raise InvalidDeployment.about(name, problem, owner)
        if not bounds.whole:
            object.__setattr__(policy, name, float(value))


class HealthState:
    """One region's health as its probes see it; healthy at start (it was just verified)."""

    def __init__(self, policy: HealthPolicy) -> None:
        self.policy = policy
        self.healthy = True
        self._streak = 0

    def observe(self, ok: bool) -> bool:
        """Feed one probe result; return True when it flips the region's health."""
        if ok == self.healthy:
            self._streak = 0
            return False
        self._streak += 1
        needed = self.policy.failure_threshold if self.healthy else self.policy.healthy_threshold
        if self._streak < needed:
            return False
        self.healthy, self._streak = ok, 0
        return True


class OutlierDetector:
    """One region's passive state: ejected for base x ejections (capped) after a 5xx streak."""

    def __init__(self, policy: OutlierPolicy) -> None:
        self.policy = policy
        self.ejections = 0
        self.ejected_until: float | None = None
        self._streak = 0

    def ejected(self, now: float) -> bool:
        return self.ejected_until is not None and now < self.ejected_until

    def passed(self) -> None:
        """An answer to real traffic without a 5xx: the streak ends."""
        self._streak = 0

    def failed(self, now: float) -> bool:
        """A failed answer to real traffic; return True when it ejects the region."""
        self._streak += 1
        if self._streak < self.policy.consecutive_5xx or self.ejected(now):
            return False
        self.ejections += 1
        policy = self.policy  # the cap is never below the base (Envoy's max_ejection_time)
        cap = max(policy.max_ejection_s, policy.base_ejection_s)
        duration = min(policy.base_ejection_s * self.ejections, cap)
        self.ejected_until, self._streak = now + duration, 0
        return True


@dataclass(frozen=True)
class Transition:
    """A change of a region's health: `source` is `probe` or `outlier`."""

    t: float
    region: str
    source: str
    state: str  # healthy | unhealthy | ejected | returned


class HealthView:
    """Every region's probe state, ejection and recent error rate; safe across threads.

    Transitions are kept in order and passed to `on_transition`.
    """

    def __init__(
        self,
        regions: Sequence[str],
        clock: Callable[[], float],
        policy: HealthPolicy | None = None,
        outlier: OutlierPolicy | None = None,
        on_transition: Callable[[Transition], None] | None = None,
    ) -> None:
        self.policy = policy or HealthPolicy()
        self.outlier_policy = outlier or OutlierPolicy()
        self._clock = clock
        self._lock = threading.RLock()  # listeners may read the view while it notes a change
        self._probes = {r: HealthState(self.policy) for r in regions}
        self._outliers = {r: OutlierDetector(self.outlier_policy) for r in regions}
        self._recent: dict[str, deque[bool]] = {r: deque(maxlen=RECENT) for r in regions}
        self._pending_return: dict[str, float] = {}
        # (valid until: None until a transition, the healthy regions)
        self._healthy: tuple[float | None, tuple[str, ...]] | None = None
        self._listeners = [on_transition] if on_transition else []
        self.transitions: list[Transition] = []
        self.probe_log: list[tuple[float, str, bool]] = []  # (time recorded, region, passed)

    def subscribe(self, listener: Callable[[Transition], None]) -> None:
        """Call `listener` with every later transition too."""
        self._listeners.append(listener)

    @property
    def regions(self) -> list[str]:
        return list(self._probes)

    def _note(self, t: float, region: str, source: str, state: str) -> None:
        self._healthy = None  # the healthy regions change only here
        transition = Transition(round(t, 3), region, source, state)
        self.transitions.append(transition)
        for listener in self._listeners:
            listener(transition)

    def _returns(self, now: float) -> None:
        if not self._pending_return:
            return
        for region, until in sorted(self._pending_return.items(), key=lambda kv: kv[1]):
            if now >= until:
                del self._pending_return[region]
                self._recent[region].clear()  # judge it afresh, or it never wins traffic back
                self._note(until, region, "outlier", "returned")

    def probe(self, region: str, ok: bool) -> None:
        """Record one active probe result (a passing one also lifts an ejection, if the outlier
        policy says so)."""
        with self._lock:
            now = self._clock()
            self.probe_log.append((now, region, ok))
            self._returns(now)
            detector = self._outliers[region]
            if ok and self.outlier_policy.uneject_on_healthy_probe and detector.ejected(now):
                detector.ejected_until = now
                del self._pending_return[region]
                self._recent[region].clear()  # judge it afresh, or it never wins traffic back
                self._note(now, region, "probe", "returned")
            state = self._probes[region]
            if state.observe(ok):
                if state.healthy:
                    self._recent[region].clear()  # judge it afresh, or it never wins traffic back
                self._note(now, region, "probe", "healthy" if state.healthy else "unhealthy")

    def outcome(self, region: str, ok: bool) -> None:
        """Record one answer to real traffic (ok: not a 5xx, timeout or refused connection)."""
        with self._lock:
            if self._pending_return:
                self._returns(self._clock())
            self._recent[region].append(ok)
            detector = self._outliers[region]
            if ok:  # the common case: no time needed
                detector.passed()
                return
            now = self._clock()
            if detector.failed(now):
                self._pending_return[region] = detector.ejected_until or now
                self._note(now, region, "outlier", "ejected")

    def healthy(self, region: str) -> bool:
        """Probes say healthy and not ejected."""
        with self._lock:
            now = self._clock()
            self._returns(now)
            return self._probes[region].healthy and not self._outliers[region].ejected(now)

    def healthy_regions(self) -> list[str]:
        """The regions that are healthy now, in the view's order."""
        return list(self.healthy_now())

    def healthy_now(self) -> tuple[str, ...]:
        """The regions that are healthy now, in the view's order, as a tuple (asked once per
        request: kept until a transition, or the next end of an ejection)."""
        cached = self._healthy  # one read: a transition replaces it whole
        if cached is not None and (cached[0] is None or self._clock() < cached[0]):
            return cached[1]
        with self._lock:
            now = self._clock()
            self._returns(now)
            healthy = tuple(
                r
                for r, state in self._probes.items()
                if state.healthy and not self._outliers[r].ejected(now)
            )
            self._healthy = (min(self._pending_return.values(), default=None), healthy)
            return healthy

    def error_rate(self, region: str) -> float:
        """The share of failed answers among the region's recent requests (0 with none)."""
        with self._lock:
            recent = self._recent[region]
            return recent.count(False) / len(recent) if recent else 0.0

    def snapshot(self) -> dict[str, dict[str, float | bool | str]]:
        """Per region: healthy, probe state, ejection and observed error rate, as JSON."""
        now = self._clock()
        view = {}
        for region in self._probes:
            detector = self._outliers[region]
            view[region] = {
                "healthy": self.healthy(region),
                "probe": "healthy" if self._probes[region].healthy else "unhealthy",
                "ejected_for_s": round(detector.ejected_until - now, 3)
                if detector.ejected(now) and detector.ejected_until is not None
                else 0.0,
                "ejections": detector.ejections,
                "error_rate": round(self.error_rate(region), 4),
            }
        return view
