"""Generated quizzes: a seed (or a student id) picks regions, models, steps, variables, failures
and option order; every key comes from a run of the sandbox, and the same seed gives the same
quiz."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidQuiz
from sandbox.experiment.scenario import Scenario, load_scenario
from sandbox.quiz import experiment_questions, flow_questions, syntax_questions
from sandbox.quiz.model import Question, Quiz
from sandbox.quiz.options import Variant

Maker = Callable[[str, Variant, random.Random], Question | None]
FLOW: dict[str, Maker] = {
    "state": flow_questions.state_after_step,
    "step": flow_questions.step_of_action,
    "left_out": flow_questions.left_out,
    "failure": flow_questions.failure_path,
    "syntax": syntax_questions.which_command,
    "effect": syntax_questions.what_happens,
    "mistake": syntax_questions.likely_error,
}
KINDS = (*FLOW, "detection")
DEFAULT_SCENARIO = "regional_outage"
MAX_COUNT = 100


def student_seed(student: str) -> int:
    """A seed of a student id: the same id (whatever its case and surrounding spaces) always
    gives the same quiz."""
    if not student.strip():
        raise InvalidQuiz("the student id is empty; give a name or number")
    name = student.strip().casefold().encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(name).digest()[:4], "big")


def generate(
    seed: int = 0,
    count: int = 10,
    scenario: str | Scenario | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> Quiz:
    """`count` questions of the given kinds, taken in turn; keys computed by running the sandbox.

    With a scenario, flow questions deploy its model to its regions and detection questions
    run it; without, a seed draws the regions and `regional_outage` is run.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidQuiz(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidQuiz(f"count must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InvalidQuiz(f"question kinds are {', '.join(KINDS)}; got {', '.join(kinds)}")
    loaded = _scenario(scenario)
    catalog = RegionCatalog.default()
    order = list(kinds)
    random.Random(seed).shuffle(order)
    questions: list[Question] = []
    asked: set[tuple[str, str]] = set()  # a question asked twice is skipped
    for attempt in range(count * 4):
        if len(questions) == count:
            break
        kind = order[attempt % len(order)]
        rng = random.Random(f"{seed}:{attempt}")
        qid = f"{kind}-{seed}-{attempt}"
        if kind == "detection":
            question = experiment_questions.detection_time(qid, loaded, rng)
        else:
            variant = (
                Variant(loaded.regions, loaded.model)
                if scenario is not None
                else Variant.draw(rng, catalog)
            )
            question = FLOW[kind](qid, variant, rng)
        if question is not None and (question.text, question.code) not in asked:
            asked.add((question.text, question.code))
            questions.append(question)
    where = f", scenario {loaded.source}" if scenario is not None else ""
    return Quiz(f"generated-{seed}", f"Generated quiz (seed {seed}{where})", tuple(questions))


def _scenario(scenario: str | Scenario | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(DEFAULT_SCENARIO if scenario is None else scenario)
