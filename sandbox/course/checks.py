"""An exercise's check: the student's prediction against what their own run measured.

Each check takes the prediction as the student typed it (`None` or `...` until they do) and the
measured value the cell computed from the run above it, and returns a `Verdict`: right, not
right, or not answered yet (with what to type). It never raises for what a student typed."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.core.checks import is_number

DIRECTIONS = ("up", "down", "same")
MARKS = {True: "Right", False: "Not quite", None: "Not answered"}


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: `right` (None until the student answers) and the sentence that says
    why, with the measured value and the rule that judged it."""

    right: bool | None
    reason: str

    def __str__(self) -> str:
        return f"{MARKS[self.right]}: {self.reason}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {True: "#1a7f37", False: "#b35900", None: "#57606a"}[self.right]
        return (
            f'<p class="verdict" style="border-left:4px solid {colour};padding-left:8px">'
            f"<strong>{MARKS[self.right]}</strong>: {html.escape(self.reason)}</p>"
        )


def _unanswered(answer: object) -> bool:
    return answer is None or answer is Ellipsis


def _show(value: float, unit: str) -> str:
    shown = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{shown} {unit}".strip()


def check_number(
    answer: object, measured: float, *, within: float, what: str, unit: str = ""
) -> Verdict:
    """Right when `answer` is within `within` of `measured` (both in `unit`)."""
    if _unanswered(answer):
        return Verdict(None, f"type your prediction of {what} as a number, then run this again")
    if not is_number(answer):
        return Verdict(None, f"your prediction of {what} should be a number, got {answer!r}")
    gap = abs(float(answer) - measured)  # type: ignore[arg-type]
    said = (
        f"you predicted {_show(float(answer), unit)}; the run measured "  # type: ignore[arg-type]
        f"{_show(measured, unit)} for {what} (a prediction within {_show(within, unit)} counts)"
    )
    return Verdict(gap <= within, said)


def check_choice(answer: object, measured: str, *, options: Sequence[str], what: str) -> Verdict:
    """Right when `answer` is the option the run gave (case and surrounding spaces aside)."""
    choices = ", ".join(repr(option) for option in options)
    if _unanswered(answer):
        return Verdict(None, f"type your prediction of {what}, one of {choices}")
    chosen = str(answer).strip().casefold()
    known = {option.casefold(): option for option in options}
    if not isinstance(answer, str) or chosen not in known:
        return Verdict(None, f"{what} should be one of {choices}, got {answer!r}")
    return Verdict(
        known[chosen] == measured, f"you predicted {known[chosen]!r}; the run gave {measured!r}"
    )


def check_change(
    answer: object,
    before: float,
    after: float,
    *,
    what: str,
    unit: str = "",
    same_within: float = 0.0,
    changed: tuple[object, object] | None = None,
) -> Verdict:
    """Right when `answer` ("up", "down" or "same") is how `what` moved from the run `before` to
    the run `after`; a move of at most `same_within` is "same". `changed`, the parameter's value
    in the two runs, says whether the student changed it yet."""
    if changed is not None and changed[0] == changed[1]:
        return Verdict(None, f"change the parameter from {changed[0]!r} first, then run again")
    directions = ", ".join(repr(d) for d in DIRECTIONS)
    if _unanswered(answer):
        return Verdict(None, f"type how {what} will move, one of {directions}")
    if not isinstance(answer, str) or answer.strip().casefold() not in DIRECTIONS:
        return Verdict(None, f"how {what} moves should be one of {directions}, got {answer!r}")
    move = after - before
    moved = "same" if abs(move) <= same_within else "up" if move > 0 else "down"
    said = (
        f"you predicted {answer.strip().casefold()!r}; {what} went from {_show(before, unit)} "
        f"to {_show(after, unit)}: {moved!r} (a move of at most {_show(same_within, unit)} "
        "counts as 'same')"
    )
    return Verdict(answer.strip().casefold() == moved, said)
