"""The health-check state machine: consecutive probe results flip a region's health."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HealthPolicy:
    """Probe settings. Defaults follow AWS's fast checks: every 10 s, 3 in a row to flip."""

    interval_s: float = 10.0
    timeout_s: float = 2.0
    failure_threshold: int = 3
    healthy_threshold: int = 3


class HealthState:
    """One region's health as its monitor sees it; healthy at start (it was just verified)."""

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
