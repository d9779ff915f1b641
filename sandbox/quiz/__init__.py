"""Quizzes whose answer keys come from running the sandbox: the lesson's question sets, seeded
variants, the lesson's test, the terminal and notebook quizzes, and exports for learning
platforms and whole classes."""

from __future__ import annotations

from typing import Any

from sandbox.quiz.export import export
from sandbox.quiz.generate import generate, lesson_test, student_seed
from sandbox.quiz.material import load_set, material_sets, parse_set
from sandbox.quiz.model import Option, Question, Quiz
from sandbox.quiz.review import Marks, review_of
from sandbox.quiz.roster import export_roster, read_roster
from sandbox.quiz.take import take

__all__ = [
    "Marks",
    "Option",
    "Question",
    "Quiz",
    "QuizWidget",
    "export",
    "export_roster",
    "generate",
    "lesson_test",
    "load_set",
    "material_sets",
    "parse_set",
    "read_roster",
    "review_of",
    "show_jupyterquiz",
    "student_seed",
    "take",
]


def __getattr__(name: str) -> Any:
    """The notebook quizzes, imported when asked for: they need the lessons extra (ipywidgets)."""
    if name in ("QuizWidget", "show_jupyterquiz"):
        from sandbox.quiz import widget

        return getattr(widget, name)
    raise AttributeError(f"module 'sandbox.quiz' has no attribute {name!r}")
