"""Generated quizzes: a seed (or a student id) picks regions, models, steps, variables, failures,
settings and option order; every key comes from a run of the sandbox, and the same seed gives the
same quiz. The lesson's 10-question test is one of them, ordered by difficulty."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence

from sandbox.core import progress
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidQuiz
from sandbox.experiment.scenario import Scenario, load_scenario
from sandbox.quiz import (
    experiment_questions,
    flow_questions,
    lesson_questions,
    routing_questions,
    syntax_questions,
)
from sandbox.quiz.model import DIFFICULTIES, Question, Quiz
from sandbox.quiz.options import Variant
from sandbox.quiz.review import lesson_of

Maker = Callable[[str, Variant, random.Random], Question | None]
RunMaker = Callable[[str, Scenario, random.Random], Question | None]
FLOW: dict[str, Maker] = {
    "state": flow_questions.state_after_step,
    "step": flow_questions.step_of_action,
    "left_out": flow_questions.left_out,
    "failure": flow_questions.failure_path,
    "syntax": syntax_questions.which_command,
    "effect": syntax_questions.what_happens,
    "mistake": syntax_questions.likely_error,
    "routing": routing_questions.serving_region,
    "failover": routing_questions.failover_region,
    "why_verify": lesson_questions.why_verify,
    "why_routing": lesson_questions.why_routing,
    "policy": lesson_questions.policy,
}
RUNS: dict[str, RunMaker] = {
    "detection": experiment_questions.detection_time,
    "dns_ttl": experiment_questions.dns_ttl,
    "canary": experiment_questions.canary,
}
KINDS = (*FLOW, *RUNS)
SYNTAX = ("syntax", "effect", "mistake")  # at most two in ten questions
DEFAULT_SCENARIO = "regional_outage"
MAX_COUNT = 100
DRAWS = 60  # draws beyond six a question, for kinds that a seed's regions often cannot ask
TEST_COUNT = 10
TEST_LEAST = 3  # questions of each difficulty in the lesson's test
TEST_ROUNDS = 10  # times each kind is asked, at most, to find the lesson's test


def student_seed(student: str) -> int:
    """A seed of a student id: the same id (whatever its case and surrounding spaces) always
    gives the same quiz."""
    if not isinstance(student, str):
        raise InvalidQuiz(
            f"the student id must be text, got {student!r}; give it as {str(student)!r}"
        )
    if not student.strip():
        raise InvalidQuiz("the student id is empty; give a name or number")
    name = student.strip().casefold().encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(name).digest()[:4], "big")


def _check(seed: int, count: int, kinds: Sequence[str]) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidQuiz(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidQuiz(f"count must be a whole number from 1 to {MAX_COUNT}, got {count!r}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InvalidQuiz(f"question kinds are {', '.join(KINDS)}; got {', '.join(kinds)}")


class _Asker:
    """Makes questions of any kind for one seed and scenario, none asked twice."""

    def __init__(
        self, seed: int, scenario: str | Scenario | None, variant: Variant | None = None
    ) -> None:
        self.seed = seed
        self.scenario = _scenario(scenario)
        if variant is None and scenario is not None:
            variant = Variant(self.scenario.regions, self.scenario.model)
        self.variant = variant
        self.catalog = RegionCatalog.default()
        self.asked: set[tuple[str, str, str]] = set()
        self.attempt = 0

    def ask(self, kind: str) -> Question | None:
        rng = random.Random(f"{self.seed}:{self.attempt}")
        qid = f"{kind}-{self.seed}-{self.attempt}"
        self.attempt += 1
        if kind in RUNS:
            question = RUNS[kind](qid, self.scenario, rng)
        else:
            variant = self.variant or Variant.draw(rng, self.catalog)
            question = FLOW[kind](qid, variant, rng)
        if question is None or (question.text, question.code, question.evidence) in self.asked:
            return None
        self.asked.add((question.text, question.code, question.evidence))
        return question


def _order(kinds: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """Kinds to ask in turn: each once before any twice, and at most two syntax questions in
    ten unless only syntax kinds are asked."""
    shuffled = list(kinds)
    rng.shuffle(shuffled)
    others = [k for k in shuffled if k not in SYNTAX]
    syntax = [k for k in shuffled if k in SYNTAX]
    room = len(syntax) if not others else max(1, count // 5)
    firsts = others + syntax[:room]
    rng.shuffle(firsts)
    return firsts + syntax[room:] if not others else firsts


def generate(
    seed: int = 0,
    count: int = 10,
    scenario: str | Scenario | None = None,
    kinds: Sequence[str] = KINDS,
) -> Quiz:
    """`count` questions of the given kinds; keys computed by running the sandbox.

    Every kind is asked once before any is asked twice, and a quiz of ten holds at most two
    command-syntax questions. With a scenario, flow questions deploy its model to its regions
    and experiment questions run it; without, a seed draws the regions and `regional_outage`
    is run.
    """
    _check(seed, count, kinds)
    asker = _Asker(seed, scenario)
    order = _order(kinds, count, random.Random(seed))
    questions: list[Question] = []
    for turn in range(count * 6 + DRAWS):
        if len(questions) == count:
            break
        kind = order[turn % len(order)]
        progress.report(done=len(questions), total=count, step=kind)
        with progress.muted():
            question = asker.ask(kind)
        if question is not None:
            questions.append(question)
    if len(questions) < count:
        raise InvalidQuiz(
            f"seed {seed}: drew {len(questions)} of {count} questions of kinds "
            f"{', '.join(kinds)}; ask for fewer or add kinds"
        )
    where = f", scenario {asker.scenario.source}" if scenario is not None else ""
    return Quiz(f"generated-seed{seed}", f"Generated quiz (seed {seed}{where})", tuple(questions))


def lesson_test(
    seed: int = 0, scenario: str | Scenario | None = None, variant: Variant | None = None
) -> Quiz:
    """The lesson's test: ten questions of ten kinds across easy, medium and hard (at least
    three of each), easy first, at most two syntax questions, every lesson with question kinds
    asked at least once (`lesson_of`); flow questions about `variant`'s
    regions and model if given (else the scenario's, else drawn ones).

    Each round asks every flow kind once more (their difficulty depends on what is drawn) and
    each experiment kind until it gives one, then looks for a test among the questions drawn so
    far, kinds taken in a seeded order.
    """
    _check(seed, TEST_COUNT, KINDS)
    asker = _Asker(seed, scenario, variant)
    kinds = list(KINDS)
    random.Random(f"test:{seed}").shuffle(kinds)
    drawn: dict[str, dict[str, Question]] = {k: {} for k in kinds}  # kind -> level -> question
    for _ in range(TEST_ROUNDS):
        for kind in kinds:
            if drawn[kind] and kind in RUNS:
                continue  # their difficulty is the kind's; their runs take a while
            progress.report(done=sum(map(bool, drawn.values())), total=TEST_COUNT, step=kind)
            with progress.muted():
                question = asker.ask(kind)
            if question is not None:
                drawn[kind].setdefault(question.difficulty, question)
        picked = _pick_test([list(drawn[k].values()) for k in kinds])
        if picked is not None:
            break
    else:
        raise InvalidQuiz(
            f"seed {seed}: the scenario {asker.scenario.source!r} cannot give the lesson's test "
            f"({TEST_COUNT} kinds, {TEST_LEAST} of each difficulty); use the generated set, or "
            "a scenario with more regions"
        )
    questions = tuple(q for level in DIFFICULTIES for q in picked if q.difficulty == level)
    where = f", scenario {asker.scenario.source}" if scenario is not None else ""
    return Quiz(
        f"test-seed{seed}", f"The lesson's test (seed {seed}{where})", questions, verdict=True
    )


def _pick_test(candidates: list[list[Question]]) -> list[Question] | None:
    """One question from each of TEST_COUNT kinds (candidates in order, each a list of one
    kind's questions), at least TEST_LEAST of each difficulty, at most two syntax ones, and one
    at least from every lesson whose kinds were drawn."""
    lessons = {lesson_of(q.kind) for kind in candidates for q in kind}

    def search(i: int, picked: list[Question]) -> list[Question] | None:
        levels = [sum(q.difficulty == level for q in picked) for level in DIFFICULTIES]
        short = sum(max(0, TEST_LEAST - n) for n in levels)
        missing = len(lessons - {lesson_of(q.kind) for q in picked})
        left = TEST_COUNT - len(picked)
        if not left:
            return picked if not short and not missing else None
        if max(short, missing) > left or len(candidates) - i < left:
            return None
        syntax = sum(q.kind in SYNTAX for q in picked)
        for question in candidates[i]:
            if question.kind in SYNTAX and syntax >= 2:
                break
            found = search(i + 1, [*picked, question])
            if found is not None:
                return found
        return search(i + 1, picked)

    return search(0, [])


def _scenario(scenario: str | Scenario | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(DEFAULT_SCENARIO if scenario is None else scenario)
