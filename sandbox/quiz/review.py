"""Scores per difficulty, the lesson test's verdict, and where to review what was missed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.quiz.model import DIFFICULTIES, Question

STRONG_SHARE = 0.8  # of all questions, right
LEVEL_SHARE = 2 / 3  # of each difficulty's questions, right
REVIEW = {
    "state": "notebooks/01_flow_step_by_step.ipynb: the Process Table and the Status Tracker",
    "step": "notebooks/01_flow_step_by_step.ipynb: the Process Table and the Status Tracker",
    "left_out": "notebooks/01_flow_step_by_step.ipynb, key moment 3: routing after verification, "
    "and calls left out",
    "failure": "notebooks/01_flow_step_by_step.ipynb, key moment 2: a failure in one region, "
    "under each policy",
    "policy": "notebooks/01_flow_step_by_step.ipynb, key moment 2: a failure in one region, "
    "under each policy",
    "why_verify": "notebooks/01_flow_step_by_step.ipynb, key moment 1: verifying right after each "
    "deployment",
    "why_routing": "notebooks/01_flow_step_by_step.ipynb, key moment 3: routing after "
    "verification, and calls left out",
    "syntax": "notebooks/01_flow_step_by_step.ipynb: the deploy command's syntax",
    "effect": "notebooks/01_flow_step_by_step.ipynb: the deploy command's syntax",
    "mistake": "notebooks/01_flow_step_by_step.ipynb: the deploy command's syntax",
    "routing": "notebooks/02_latency_and_routing.ipynb: routing policies",
    "failover": "notebooks/03_health_checks_and_failover.ipynb: where do the users go?",
    "detection": "notebooks/03_health_checks_and_failover.ipynb: the rule: interval x threshold",
    "dns_ttl": "notebooks/07_dns_caching.ipynb: the DNS TTL's cost",
    "canary": "notebooks/06_rollouts.ipynb: two rollouts of the same bad version",
    "material": "the lesson's material: its Concept Snapshot and Key Moments",
}


def review_of(question: Question) -> str:
    """Where to review what `question` asks: a lesson's notebook and section."""
    return _where(question.kind)


def lesson_of(kind: str) -> str:
    """The lesson that teaches a question kind: its notebook (`notebooks/NN_name.ipynb`), or the
    material for a kind no lesson teaches."""
    return _where(kind).split(":")[0].split(",")[0]


def _where(kind: str) -> str:
    return REVIEW.get(kind, REVIEW["material"])


@dataclass(frozen=True)
class Marks:
    """How a quiz went: right and asked per difficulty, and the questions missed."""

    right: dict[str, int]
    asked: dict[str, int]
    missed: tuple[Question, ...]

    @classmethod
    def of(cls, results: Sequence[tuple[Question, bool]]) -> Marks:
        right = {level: 0 for level in DIFFICULTIES}
        asked = {level: 0 for level in DIFFICULTIES}
        for question, ok in results:
            asked[question.difficulty] += 1
            right[question.difficulty] += ok
        return cls(right, asked, tuple(q for q, ok in results if not ok))

    def levels(self) -> str:
        """`easy 3/3, medium 2/4, hard 1/3`: the difficulties asked, in order."""
        return ", ".join(
            f"{level} {self.right[level]}/{self.asked[level]}"
            for level in DIFFICULTIES
            if self.asked[level]
        )

    @property
    def strong(self) -> bool:
        """At least 80% right in all, and two thirds of each difficulty asked."""
        total = sum(self.asked.values())
        if not total or sum(self.right.values()) < STRONG_SHARE * total:
            return False
        return all(
            self.right[level] >= LEVEL_SHARE * self.asked[level] - 1e-9 for level in DIFFICULTIES
        )

    def verdict(self) -> list[str]:
        """The verdict on the pattern, then what to review for each question missed."""
        if self.strong:
            return [
                "Verdict: the pattern is strong (80% or more right, and two thirds of each "
                "difficulty)."
            ]
        lines = [
            "Verdict: not yet strong (it takes 80% right, and two thirds of each "
            "difficulty). Review:"
        ]
        places = dict.fromkeys(review_of(q) for q in self.missed)
        return lines + [f"  - {place}" for place in places]
