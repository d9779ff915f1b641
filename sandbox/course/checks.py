"""An exercise's check: the student's prediction against what their own run measured.

Each check takes the prediction as the student typed it (`None` or `...` until they do) and the
measured value the cell computed from the run above it, and returns a `Verdict`: right, not
right, or not answered yet (with what to type). It never raises for what a student typed."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
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


def _unmeasured(what: str) -> Verdict:
    return Verdict(
        None,
        f"the run above measured nothing for {what} (it did not finish, or had nothing to "
        "measure): run it again with a setting it accepts",
    )


def _unchanged(changed: tuple[object, object] | None) -> Verdict | None:
    if changed is not None and changed[0] == changed[1]:
        return Verdict(None, f"change the parameter from {changed[0]!r} first, then run again")
    return None


def _show(value: float, unit: str) -> str:
    shown = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{shown} {unit}".strip()


def _number_problem(answer: object, what: str) -> Verdict | None:
    if _unanswered(answer):
        return Verdict(None, f"type your prediction of {what} as a number, then run this again")
    if not is_number(answer):
        return Verdict(None, f"your prediction of {what} should be a number, got {answer!r}")
    return None


def check_number(
    answer: object, measured: float | None, *, within: float, what: str, unit: str = ""
) -> Verdict:
    """Right when `answer` is within `within` of `measured` (both in `unit`); None measured:
    the run measured nothing to judge by."""
    if problem := _number_problem(answer, what):
        return problem
    if measured is None:
        return _unmeasured(what)
    gap = abs(float(answer) - measured)  # type: ignore[arg-type]
    said = (
        f"you predicted {_show(float(answer), unit)}; the run measured "  # type: ignore[arg-type]
        f"{_show(measured, unit)} for {what} (a prediction within {_show(within, unit)} counts)"
    )
    return Verdict(gap <= within, said)


def check_between(
    answer: object,
    low: float,
    high: float,
    *,
    what: str,
    unit: str = "",
    measured: float | None = None,
) -> Verdict:
    """Right when `answer` lies from `low` to `high`: the bounds a rule gives for the run (which
    contain what it `measured`, shown beside them)."""
    if problem := _number_problem(answer, what):
        return problem
    value = float(answer)  # type: ignore[arg-type]
    seen = "" if measured is None else f"; the run measured {_show(measured, unit)}"
    said = (
        f"you predicted {_show(value, unit)}; the rule gives {what} from {_show(low, unit)} to "
        f"{_show(high, unit)} for this run{seen}"
    )
    return Verdict(low <= value <= high, said)


def check_set(
    answer: object, measured: Iterable[str], *, options: Sequence[str], what: str
) -> Verdict:
    """Right when `answer` (a list, or text with commas) names the same options as `measured`,
    in any order, case and surrounding spaces aside."""
    choices = ", ".join(repr(option) for option in options)
    if _unanswered(answer):
        return Verdict(None, f"type {what}: any of {choices}, in a list or separated by commas")
    items = answer.split(",") if isinstance(answer, str) else answer
    if not isinstance(items, list | tuple | set | frozenset) or not all(
        isinstance(item, str) for item in items
    ):
        return Verdict(None, f"{what} should be a list of {choices}, got {answer!r}")
    known = {option.casefold(): option for option in options}
    typed = {item.strip().casefold() for item in items if item.strip()}
    unknown = sorted(typed - set(known))
    if unknown:
        return Verdict(None, f"{what} should be among {choices}; not {', '.join(unknown)}")
    chosen, truth = sorted(known[t] for t in typed), sorted(set(measured))
    said = f"you named {', '.join(chosen) or 'none'}; the run gave {', '.join(truth) or 'none'}"
    return Verdict(chosen == truth, said)


def check_choice(
    answer: object,
    measured: str | None,
    *,
    options: Sequence[str],
    what: str,
    changed: tuple[object, object] | None = None,
) -> Verdict:
    """Right when `answer` is the option the run gave (case and surrounding spaces aside);
    `changed` and None measured as for `check_change`."""
    if problem := _unchanged(changed):
        return problem
    choices = ", ".join(repr(option) for option in options)
    if _unanswered(answer):
        return Verdict(None, f"type your prediction of {what}, one of {choices}")
    chosen = str(answer).strip().casefold()
    known = {option.casefold(): option for option in options}
    if not isinstance(answer, str) or chosen not in known:
        return Verdict(None, f"{what} should be one of {choices}, got {answer!r}")
    if measured is None:
        return _unmeasured(what)
    return Verdict(
        known[chosen] == measured, f"you predicted {known[chosen]!r}; the run gave {measured!r}"
    )


def check_change(
    answer: object,
    before: float | None,
    after: float | None,
    *,
    what: str,
    unit: str = "",
    same_within: float = 0.0,
    changed: tuple[object, object] | None = None,
) -> Verdict:
    """Right when `answer` ("up", "down" or "same") is how `what` moved from the run `before` to
    the run `after`; a move of at most `same_within` is "same". `changed`, the parameter's value
    in the two runs, says whether the student changed it yet; None measured in either run: the
    run measured nothing to judge by."""
    if problem := _unchanged(changed):
        return problem
    directions = ", ".join(repr(d) for d in DIRECTIONS)
    if _unanswered(answer):
        return Verdict(None, f"type how {what} will move, one of {directions}")
    if not isinstance(answer, str) or answer.strip().casefold() not in DIRECTIONS:
        return Verdict(None, f"how {what} moves should be one of {directions}, got {answer!r}")
    if before is None or after is None:
        return _unmeasured(what)
    move = after - before
    moved = "same" if abs(move) <= same_within else "up" if move > 0 else "down"
    said = (
        f"you predicted {answer.strip().casefold()!r}; {what} went from {_show(before, unit)} "
        f"to {_show(after, unit)}: {moved!r} (a move of at most {_show(same_within, unit)} "
        "counts as 'same')"
    )
    return Verdict(answer.strip().casefold() == moved, said)
