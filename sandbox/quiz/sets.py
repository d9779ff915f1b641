"""Every quiz by its set's name: a material set (its order, or shuffled by a seed), `generated`
(a seeded variant of N questions) or `test` (the lesson's test); for a student, the variant
their id seeds, named after them. What `mrsandbox quiz` and a live class both hand out."""

from __future__ import annotations

from dataclasses import replace

from sandbox.errors import InvalidQuiz
from sandbox.experiment.scenario import Scenario
from sandbox.quiz.generate import generate, lesson_test, student_seed
from sandbox.quiz.material import load_set
from sandbox.quiz.model import Quiz
from sandbox.quiz.roster import for_student

GENERATED = "generated"
TEST = "test"
MADE = (GENERATED, TEST)  # sets drawn from runs for a seed, rather than read from a file
DEFAULT_COUNT = 10


def quiz_for(
    name: str,
    seed: int | None = None,
    count: int | None = None,
    scenario: str | Scenario | None = None,
    student: str | None = None,
) -> Quiz:
    """The quiz of set `name` for `seed`, or for `student` (seeded by the id, named after it).

    Raises InvalidQuiz for an unknown set, a seed and a student both, a count for a set that has
    its own, and a count or scenario for a material set.
    """
    if seed is not None and student is not None:
        raise InvalidQuiz("give --seed or --student, not both")
    if student is not None:
        seed = student_seed(student)
    if name == TEST and count is not None:
        raise InvalidQuiz(
            "--count: the lesson's test always has 10 questions; for another count take the "
            "generated set"
        )
    if name in MADE:
        if name == TEST:
            quiz = lesson_test(seed or 0, scenario)
        else:
            quiz = generate(seed or 0, count or DEFAULT_COUNT, scenario)
    else:
        for flag, value in (("count", count), ("scenario", scenario)):
            if value is not None:
                raise InvalidQuiz(f"--{flag} applies to the generated and test sets")
        quiz = load_set(name)
        if seed is not None:
            quiz = quiz.shuffled(seed)
    if student is not None:
        return for_student(quiz, name if name in MADE else quiz.name, student)
    if seed is not None and name not in MADE:
        return replace(quiz, name=f"{quiz.name}-seed{seed}", title=f"{quiz.title} (seed {seed})")
    return quiz
