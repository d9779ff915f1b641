"""Questions and quizzes: multiple choice with one correct option, or a number and the range of
answers judged right.

Every other part of `sandbox.quiz` speaks these: the material's sets and the generators make them,
the terminal, the notebook widget and the exports read them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.errors import InvalidQuiz

DIFFICULTIES = ("easy", "medium", "hard")
LETTERS = "ABCDEFGH"
MIN_OPTIONS = 3  # the key and at least two distractors


SLACK = 1e-9  # a numeric answer this far outside its range is still right (float noise)
JUPYTERQUIZ_DIGITS = 12  # significant digits jupyterquiz keeps of a typed number


def number_text(x: float) -> str:
    """`x` exactly, without a trailing `.0`: typed back, it is the same number."""
    return repr(float(x)).removesuffix(".0")


def rubric(facts: int, rule_suffices: bool = False) -> str:
    """A question's difficulty from the work its answer needs (quizzes/README.md, "Difficulty").

    `facts`: how many facts of the run (a row, a cell, a measurement, a verdict, a counterfactual
    run's result) the answer combines; `rule_suffices`: whether a rule of the lesson combines
    them. easy: one fact; medium: two, or more that a rule combines; hard: three or more that no
    rule alone combines.
    """
    if facts <= 1:
        return "easy"
    return "medium" if facts == 2 or rule_suffices else "hard"


@dataclass(frozen=True)
class Option:
    """One answer of a multiple-choice question: `feedback` says why it is right or wrong, and a
    wrong option names the `misconception` it stands for ("other" when none is given; None for
    the key)."""

    text: str
    correct: bool = False
    feedback: str = ""
    misconception: str | None = None

    def __post_init__(self) -> None:
        if not self.correct and not self.misconception:  # a wrong option always names one
            object.__setattr__(self, "misconception", "other")


@dataclass(frozen=True)
class Question:
    """A question whose key was computed by a run that `source` reproduces.

    Multiple choice when it has `options` (exactly one correct); numeric when it has a `value`
    (the run's number) and the range `low` to `high` around it that is judged right.
    """

    id: str
    text: str
    options: tuple[Option, ...] = ()
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    hint: str = ""
    solution: tuple[str, ...] = ()
    mistakes: tuple[str, ...] = ()
    difficulty: str = "medium"
    source: str = ""
    code: str = ""  # a command line or code shown with the question
    kind: str = "material"  # what the question asks about (sandbox.quiz.generate.KINDS)
    evidence: str = ""  # a table of the run the question is about, shown with it

    def __post_init__(self) -> None:
        where = f"question {self.id!r}"
        if not self.text.strip():
            raise InvalidQuiz(f"{where}: its text is empty")
        if self.difficulty not in DIFFICULTIES:
            raise InvalidQuiz(
                f"{where}: difficulty {self.difficulty!r} is not one of {', '.join(DIFFICULTIES)}"
            )
        if (self.value is None) == (not self.options):
            raise InvalidQuiz(f"{where}: give either options or a numeric value, not both")
        if self.value is not None:
            bounds = (self.low, self.value, self.high)
            if not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds):
                raise InvalidQuiz(f"{where}: value, low and high must be finite numbers")
            if not self.low <= self.value <= self.high:  # type: ignore[operator]
                raise InvalidQuiz(f"{where}: expected low <= value <= high, got {bounds}")
            return
        if not MIN_OPTIONS <= len(self.options) <= len(LETTERS):
            raise InvalidQuiz(
                f"{where}: has {len(self.options)} options; give {MIN_OPTIONS} to {len(LETTERS)}"
            )
        texts = [o.text for o in self.options]
        twice = sorted({t for t in texts if texts.count(t) > 1})
        if twice:
            raise InvalidQuiz(f"{where}: option {twice[0]!r} appears more than once")
        if sum(o.correct for o in self.options) != 1:
            raise InvalidQuiz(f"{where}: needs exactly one correct option")
        for o in self.options:
            if o.correct and o.misconception is not None:
                raise InvalidQuiz(f"{where}: the key {o.text!r} names a misconception")

    @property
    def type(self) -> str:
        """`multiple_choice` or `numeric`, as jupyterquiz names them."""
        return "numeric" if self.value is not None else "multiple_choice"

    @property
    def shown_code(self) -> str:
        """The command line, then the evidence table: what a reader sees under the text."""
        return "\n\n".join(part for part in (self.code, self.evidence) if part)

    @property
    def bounds(self) -> tuple[float, float]:
        """The range judged right of a numeric question."""
        if self.low is None or self.high is None:
            raise InvalidQuiz(f"question {self.id!r} has options, not a numeric range")
        return self.low, self.high

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    @property
    def key(self) -> str:
        """The correct letter, or the number with the range judged right."""
        if self.value is not None:
            unit = f" {self.unit}" if self.unit else ""
            low, high = number_text(self.low or 0.0), number_text(self.high or 0.0)
            return f"{number_text(self.value)}{unit} (right from {low} to {high}{unit})"
        return next(LETTERS[i] for i, o in enumerate(self.options) if o.correct)

    @property
    def answer_text(self) -> str:
        """The key as a learner would read it: the correct option's text, or the number."""
        if self.value is not None:
            return self.key
        return next(o.text for o in self.options if o.correct)

    def check(self, answer: str) -> bool:
        """Whether `answer` (a letter, or a number for a numeric question) is right."""
        answer = answer.strip()
        if self.value is None:
            return answer.upper() == self.key
        try:
            number = float(answer)
        except ValueError:
            return False
        low, high = self.low or 0.0, self.high or 0.0
        return math.isfinite(number) and low - SLACK <= number <= high + SLACK

    def shuffled(self, rng: random.Random) -> Question:
        """The same question with its options in another order."""
        if not self.options:
            return self
        options = list(self.options)
        rng.shuffle(options)
        return replace(self, options=tuple(options))

    def to_jupyterquiz(self) -> dict[str, Any]:
        """The question in jupyterquiz's JSON shape, with our `id`, `hint` and `source` beside."""
        doc: dict[str, Any] = {"question": self.text, "type": self.type}
        if self.shown_code:
            doc["code"] = self.shown_code  # jupyterquiz shows it in a code block
        if self.value is not None:
            low, high = self.low or 0.0, self.high or 0.0
            # jupyterquiz rounds what is typed to `precision` digits and accepts low <= x < high:
            # with the slack of `check` on both ends, it accepts exactly what `check` does
            doc["precision"] = JUPYTERQUIZ_DIGITS
            doc["answers"] = [
                {
                    "type": "range",
                    "range": [low - SLACK, high + SLACK],
                    "correct": True,
                    "feedback": "Correct. " + " ".join(self.solution),
                },
                {"type": "default", "feedback": f"Not quite. Hint: {self.hint}"},
            ]
        else:
            doc["answers"] = [
                {
                    "answer": o.text,
                    "correct": o.correct,
                    "feedback": o.feedback,
                    "misconception": o.misconception,
                }
                for o in self.options
            ]
        doc.update(
            id=self.id,
            kind=self.kind,
            difficulty=self.difficulty,
            hint=self.hint,
            source=self.source,
            evidence=self.evidence,
        )
        return doc


@dataclass(frozen=True)
class Quiz:
    """A named list of questions."""

    name: str
    title: str
    questions: tuple[Question, ...] = field(default_factory=tuple)
    verdict: bool = False  # taking it ends with a verdict on the pattern (the lesson's test)

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise InvalidQuiz(f"quiz {self.name!r}: question id {twice[0]!r} is used twice")

    def shuffled(self, seed: int) -> Quiz:
        """The same questions with each one's options in a seeded order."""
        rng = random.Random(seed)
        return replace(self, questions=tuple(q.shuffled(rng) for q in self.questions))

    def to_jupyterquiz(self) -> list[dict[str, Any]]:
        return [q.to_jupyterquiz() for q in self.questions]

    def __len__(self) -> int:
        return len(self.questions)
