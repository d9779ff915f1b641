"""The whole lesson for one run: every mode of the material computed from a `mrsandbox deploy`
command line's simulated run (and, for Key Moments, from counterfactual runs)."""

from __future__ import annotations

import json
import random
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import click

from sandbox.args.deploy import parse_deploy_args
from sandbox.args.request import DeployRequest
from sandbox.core.faults import Failure
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidDeployment, InvalidQuiz
from sandbox.flow.deployment import Deployment
from sandbox.lesson import graph, narrative, page
from sandbox.lesson.sample import DEFAULTS, calls_sample, execution_sample
from sandbox.lesson.visual import visual_quiz
from sandbox.quiz import flow_questions
from sandbox.quiz.generate import Maker, lesson_test
from sandbox.quiz.material import load_set
from sandbox.quiz.model import Question, Quiz
from sandbox.quiz.options import Variant
from sandbox.quiz.runs import deploy_words

FORMATS = ("html", "markdown", "json")
FILES = {"html": "lesson.html", "markdown": "lesson.md", "json": "lesson.json"}
MODES = (
    "process_flow",
    "execution_sample",
    "process_table",
    "status_tracker",
    "key_moments",
    "visual_quiz",
    "concept_snapshot",
    "transcript",
    "practice",
    "test",
)
VISUAL = (flow_questions.state_after_step, flow_questions.step_of_action, flow_questions.left_out)
DRAWS = 20  # seeded tries for each visual question


@dataclass
class Lesson:
    """The lesson of one run: `command` (a `mrsandbox deploy` line) and `deployment`, its run."""

    command: str
    request: DeployRequest
    deployment: Deployment
    own_calls: bool = False  # a learner's own calls: the sample repeats them

    @classmethod
    def from_command(cls, command: str) -> Lesson:
        """The lesson of `[mrsandbox] deploy ...`.

        With --live the run is made on a live fleet (started and stopped here); counterfactual
        runs and quizzes are simulated. Raises InvalidDeployment with the deploy parser's
        message for a line it refuses, and for a rollout, which a lesson is not built from.
        """
        words = deploy_words(command)
        line = shlex.join(["mrsandbox", "deploy", *words])
        try:
            request = parse_deploy_args(words)
        except click.UsageError as e:
            raise InvalidDeployment(e.format_message()) from None
        if request.rollout:
            raise InvalidDeployment(
                "a rollout (--strategy, --previous): a lesson is built from the lesson's flow; "
                "drop the rollout options"
            )
        return cls(line, request, request.run())

    @classmethod
    def from_deployment(cls, d: Deployment) -> Lesson:
        """The lesson of a deployment a learner ran in Python: their own calls, in their own
        order, refused ones included (its Execution Sample repeats them)."""
        flags = flow_flags(d.failures, d.on_failure, d.max_retries, d.seed)
        line = Variant(tuple(d.regions), d.model.name).command(*flags)
        try:
            request = parse_deploy_args(deploy_words(line))
        except click.UsageError as e:
            raise InvalidDeployment(f"a lesson of this deployment: {e.format_message()}") from None
        return cls(line, request, d, own_calls=True)

    @property
    def trace_doc(self) -> dict[str, Any]:
        return self.deployment.trace.to_dict()  # the Status Tracker's columns as the material's

    def _run(self, failures: Sequence[Failure], policy: str) -> Deployment:
        """A counterfactual: this run's settings with other failures and policy, simulated."""
        changed = replace(
            self.request, failures=list(failures), on_failure=policy, leave_out=(), live=False
        )
        return changed.run()

    @cached_property
    def quizzes(self) -> dict[str, Quiz]:
        """The visual quiz, the practice and the test of this run."""
        return {
            "visual_quiz": self.visual_quiz(),
            "practice": self.practice(),
            "test": self._test(),
        }

    @cached_property
    def modes(self) -> dict[str, Any]:
        """Every mode, by its name in MODES, as the JSON gives it."""
        d, doc = self.deployment, self.trace_doc
        return {
            "process_flow": graph.process_flow(d.trace.steps, d.outcome),
            "execution_sample": calls_sample(d)
            if self.own_calls
            else execution_sample(self.request, d.outcome in ("stopped", "rolled_back")),
            "process_table": doc["steps"],
            "status_tracker": {**doc["tracker"], "snapshots": doc["snapshots"]},
            "key_moments": narrative.key_moments(d, self._run),
            "visual_quiz": self.quizzes["visual_quiz"].to_jupyterquiz(),
            "concept_snapshot": narrative.concept_snapshot(d),
            "transcript": narrative.transcript(d),
            "practice": self.quizzes["practice"].to_jupyterquiz(),
            "test": self.quizzes["test"].to_jupyterquiz(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The lesson's JSON: every mode, and `command`."""
        return {**self.modes, "command": self.command}

    def render(self, fmt: str = "html") -> str:
        """The lesson as `html` (one self-contained page), `markdown` or `json`."""
        if fmt == "json":
            return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if fmt == "markdown":
            return page.to_markdown_page(self.to_dict(), self.quizzes)
        if fmt == "html":
            steps, outcome = self.deployment.trace.steps, self.deployment.outcome
            nodes = [graph.node_of(s, outcome)[0] for s in steps]
            return page.to_html(self.to_dict(), self.quizzes, nodes)
        raise InvalidDeployment(f"lesson format {fmt!r}: choose one of {', '.join(FORMATS)}")

    def _repr_html_(self) -> str:
        return self.render("html")

    def stepper(self) -> Any:
        """An ipywidgets stepper through the run (needs the lessons extra)."""
        from sandbox.lesson.widget import Stepper

        return Stepper(self.deployment.trace)

    def _variant(self, flags: Sequence[str] = ()) -> Variant:
        """The run's regions and model as quiz questions deploy them (the MODEL word as typed);
        regions of the default catalogue only, as quiz runs know no other."""
        regions, catalog = tuple(self.request.regions), RegionCatalog.default()
        if not all(r in catalog for r in regions):
            return Variant.draw(random.Random(self.request.seed), catalog)
        model = self.request.sources[0] or self.request.model.name
        return Variant(regions, model, tuple(flags))

    def _test(self) -> Quiz:
        """The lesson's test for these regions and model; one drawn for itself where they
        cannot give one (a single region)."""
        try:
            return lesson_test(self.request.seed, variant=self._variant())
        except InvalidQuiz:
            return lesson_test(self.request.seed)

    def visual_quiz(self) -> Quiz:
        """Three questions about this run's tables, each table shown: the material's three
        asked of this run where it reaches monitoring; else a variable after a step, the step
        of an action, and a call left out (another of those where a short run cannot give one,
        fewer where a run of a few steps cannot give three)."""
        r = self.request
        flags = flow_flags(r.failures, r.on_failure, r.max_retries, r.seed)
        variant = self._variant(flags)
        if variant.regions != tuple(r.regions):  # regions quiz runs do not know: drawn ones
            variant = replace(variant, flags=())
        elif not r.leave_out and not self.own_calls:
            material = visual_quiz(variant.command(*flags), self.deployment, r.seed)
            if material is not None:
                return material
        makers: tuple[Maker, ...] = VISUAL
        if r.leave_out and variant.flags:  # about this run: its calls left out too
            left = tuple(word for call in r.leave_out for word in ("--leave-out", call))
            variant = replace(variant, flags=variant.flags + left)
            makers = VISUAL[:2]
        questions: list[Question] = []
        for turn, make in enumerate(makers * len(VISUAL)):
            if len(questions) == len(VISUAL):
                break
            question = self._draw(
                make,
                f"visual-{len(questions) + 1}",
                variant,
                f"visual:{turn}",
                {q.text for q in questions},
            )
            if question is not None:
                questions.append(question)
        return Quiz("visual", "Visual Quiz", tuple(questions))

    def _draw(
        self,
        make: Maker,
        qid: str,
        variant: Variant,
        label: str,
        taken: Collection[str] = (),
    ) -> Question | None:
        """The first of DRAWS seeded draws of `make` that gives a question whose text is not
        `taken`."""
        for draw in range(DRAWS):
            question = make(qid, variant, random.Random(f"{self.request.seed}:{label}:{draw}"))
            if question is not None and question.text not in taken:
                return question
        return None

    def practice(self) -> Quiz:
        """The command-line questions for these regions and this model, then the material's
        concept questions."""
        from sandbox.quiz.syntax_questions import likely_error, what_happens, which_command

        variant = self._variant()
        drawn = (
            self._draw(make, f"practice-{n}", variant, f"practice:{n}")
            for n, make in enumerate((which_command, what_happens, likely_error), 1)
        )
        questions = [q for q in drawn if q is not None]
        concepts = [q for q in load_set("practice").questions if q.kind == "material"]
        return Quiz("practice", "Practice", (*questions, *concepts))


def flow_flags(
    failures: Sequence[Failure], on_failure: str, max_retries: int, seed: int
) -> list[str]:
    """The deploy line's flags that shape the flow (failures, policy, retries, seed): those a
    lesson's questions about a run keep."""
    given = {"on_failure": on_failure, "max_retries": max_retries, "seed": seed}
    flags = [word for f in failures for word in ("--fail", f.spec)]
    for name, value in given.items():
        if value != DEFAULTS[name]:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags
