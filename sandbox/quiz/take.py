"""Take a quiz in a terminal: one answer a line, so that it also runs from a pipe or a file."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import TextIO

from sandbox.quiz.model import Question, Quiz
from sandbox.quiz.review import Marks


@dataclass(frozen=True)
class Score:
    """How many of the `answered` questions were right, out of `total`, and per difficulty."""

    right: int
    answered: int
    total: int
    marks: Marks | None = field(default=None, compare=False)

    @property
    def complete(self) -> bool:
        return self.answered == self.total

    def __str__(self) -> str:
        score = f"Score: {self.right}/{self.total}"
        return score if self.complete else f"{score} (answered {self.answered})"


def take(quiz: Quiz, answers: TextIO, out: TextIO) -> Score:
    """Ask every question of `quiz` on `out`, read one answer a line from `answers`, mark it.

    Stops early, with the score so far, at the end of `answers` or on Ctrl-C.
    """
    total = len(quiz)
    results: list[tuple[Question, bool]] = []
    print(quiz.title, file=out)
    try:
        for number, question in enumerate(quiz.questions, 1):
            print(file=out)
            _show(question, number, total, out)
            answer = _ask(question, answers, out)
            if answer is None:
                break
            results.append((question, _mark(question, answer, out)))
    except KeyboardInterrupt:
        print(file=out)
    marks = Marks.of(results)
    score = Score(sum(ok for _, ok in results), len(results), total, marks)
    if not score.complete:
        print(f"\nInput ended after {score.answered} of {total} questions.", file=out)
        print(score, file=out)
        return score
    print(f"\n{score} ({marks.levels()})", file=out)
    if quiz.verdict:
        print("\n".join(marks.verdict()), file=out)
    return score


def _show(question: Question, number: int, total: int, out: TextIO) -> None:
    print(f"Question {number} of {total} ({question.difficulty})", file=out)
    print(question.text, file=out)
    for shown in (question.code, question.evidence):
        if shown:
            print(textwrap.indent(shown, "    "), file=out)
    for letter, option in zip(question.letters, question.options, strict=True):
        print(f"  {letter}. {option.text}", file=out)
    if question.value is not None:
        print(f"Answer with a number{_in_unit(question)}.", file=out)


def _ask(question: Question, answers: TextIO, out: TextIO) -> str | None:
    """The first valid answer read from `answers`; None when the input ends first."""
    while True:
        out.write("Your answer: ")
        out.flush()
        line = answers.readline()
        if not answers.isatty():  # nobody typed it: echo it, so that a log reads well
            out.write(line.rstrip("\r\n") + "\n")
        elif not line:  # Ctrl-D or Ctrl-C left the cursor after the prompt
            out.write("\n")
        if not line:
            return None
        answer = _plain(question, line)
        problem = _problem(question, answer)
        if problem is None:
            return answer
        print(problem, file=out)


def _plain(question: Question, line: str) -> str:
    """The answer in a line as typed: `b.` or `b)` for B, `90 s` for 90 where the unit is s."""
    answer = line.strip()
    if question.value is None:
        return answer.rstrip(".)").strip()
    if question.unit and answer.endswith(question.unit):
        return answer.removesuffix(question.unit).strip()
    return answer


def _problem(question: Question, answer: str) -> str | None:
    """What to type instead of `answer`, or None if it is a valid answer."""
    if question.value is None:
        if answer.upper() in tuple(question.letters):
            return None
        return f"Answer with one of {', '.join(question.letters)}."
    try:
        if math.isfinite(float(answer)):
            return None
    except ValueError:
        pass
    return f"Answer with a number{_in_unit(question)}, like 12 or 0.5."


def _mark(question: Question, answer: str, out: TextIO) -> bool:
    """Print whether `answer` is right, then why; return whether it is right."""
    right = question.check(answer)
    if right:
        print("Correct.", file=out)
    elif question.value is not None:
        print(f"Not quite: the answer is {question.key}.", file=out)
    else:
        print(f"Not quite: the answer is {question.key}. {question.answer_text}", file=out)
    if question.value is None:
        chosen = question.options[question.letters.index(answer.upper())]
        if chosen.feedback:
            print(f"{answer.upper()}: {chosen.feedback}", file=out)
    if question.hint:
        print(f"Hint: {question.hint}", file=out)
    if question.solution:
        print("Solution:", file=out)
        for step, text in enumerate(question.solution, 1):
            print(f"  {step}. {text}", file=out)
    return right


def _in_unit(question: Question) -> str:
    return f" (in {question.unit})" if question.unit else ""
