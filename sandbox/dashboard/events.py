"""The dashboard's events: the latest things that happened to the fleet, in the words a class
reads (health transitions, faults whatever route injected them, routing changes, users, rollout
steps), each stamped with the fleet's emulated time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.core.health import Transition
from sandbox.flow.tracer import Step

EVENTS = 100


class Events:
    """The latest things that happened, newest last, each with the emulated time it happened."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._seen: deque[dict[str, Any]] = deque(maxlen=EVENTS)
        self._lock = threading.Lock()

    def add(self, kind: str, text: str) -> None:
        with self._lock:
            self._seen.append({"t": round(self._clock(), 1), "kind": kind, "text": text})

    def latest(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._seen)

    def faults(self, region: str, action: str, faults: list[dict[str, Any]]) -> None:
        """A change of `region`'s faults, as `LiveFleet.on_faults` reports it."""
        if action == "add":
            for fault in faults:
                self.add("fault", f"{_fault(fault)} injected in {region}{_lasting(fault)}")
        elif faults:
            kinds = ", ".join(_fault(fault) + _lasting(fault) for fault in faults)
            self.add("fault", f"faults of {region} replaced by {kinds}")
        else:
            self.add("fault", f"faults cleared in {region}")

    def health(self, t: Transition) -> None:
        self.add("health", f"{t.region} {t.state} ({t.source})")

    def step(self, step: Step, label: str) -> None:
        """A rollout's step, as its trace reports it."""
        text = f"{label}: {step.result}" if step.result != "-" else f"{label}: {step.next_step}"
        self.add("rollout", text)

    def routing(self, name: str, order: tuple[str, ...], weights: Mapping[str, float]) -> None:
        if order:
            self.add("routing", f"routing policy: {name} (order {', '.join(order)})")
        elif weights:
            shares = ", ".join(f"{region} {weight:g}" for region, weight in weights.items())
            self.add("routing", f"routing policy: {name} (weights {shares})")
        else:
            self.add("routing", f"routing policy: {name}")


def _fault(fault: Mapping[str, Any]) -> str:
    version = fault.get("version")
    return f"{fault['kind']} of version {version}" if version else str(fault["kind"])


def _lasting(fault: Mapping[str, Any]) -> str:
    duration = fault.get("duration_s")
    return f" for {duration:g} s" if duration else ""
