"""The one numeric check: a setting's allowed range, kept beside the setting it bounds (a policy, a
fault, a plan) and used by everything that reads one (the object itself when built, the command
line, scenario files, the dashboard), so each bound is written once; and the one rule of a JSON
object's keys (each once), for artifacts and request bodies alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def is_number(value: object) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Range:
    """Numbers from `low` to `high` (either end excluded if `low_open` / `high_open`), whole
    numbers only if `whole`."""

    low: float = -math.inf
    high: float = math.inf
    whole: bool = False
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        """`a whole number from 1 to 10`, `a number above 0 and at most 3600`."""
        kind = "a whole number" if self.whole else "a number"
        low, high = _show(self.low), _show(self.high)
        if self.low == -math.inf and self.high == math.inf:
            return kind
        if self.high == math.inf:
            return f"{kind} above {low}" if self.low_open else f"{kind} from {low}"
        if self.low == -math.inf:
            return f"{kind} below {high}" if self.high_open else f"{kind} up to {high}"
        if not self.low_open and not self.high_open:
            return f"{kind} from {low} to {high}"
        lower = f"above {low}" if self.low_open else f"from {low}"
        upper = f"below {high}" if self.high_open else f"at most {high}"
        return f"{kind} {lower} and {upper}"

    def problem(self, value: object) -> str | None:
        """None when `value` is in the range, else what was expected and what came."""
        if is_number(value) and not (self.whole and not isinstance(value, int)):
            number = float(value)  # type: ignore[arg-type]
            above = number > self.low if self.low_open else number >= self.low
            below = number < self.high if self.high_open else number <= self.high
            if above and below:
                return None
        return f"expected {self.describe()}, got {value!r}"


SEEDS = Range(0, 2**63 - 1, whole=True)  # what every seed may be
TIME_SCALES = Range(0.001, 10)  # wall seconds per emulated second of a live fleet


def _show(bound: float) -> str:
    if isinstance(bound, int) or bound.is_integer():
        return str(int(bound))
    return f"{bound:g}"


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict; ValueError naming a key given twice."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r} in an object")
        seen.add(key)
    return dict(pairs)
