"""The whole lesson for one run: every mode of the material computed from the run of a
`mrsandbox deploy` command line, the lesson's flow or a rollout (and, for Key Moments, from
counterfactual runs)."""

from __future__ import annotations

import json
import random
import shlex
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import click

from sandbox.args.deploy import parse_deploy_args
from sandbox.args.request import DeployRequest
from sandbox.core import progress
from sandbox.core.faults import Failure
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidDeployment, InvalidQuiz
from sandbox.experiment.rollout import roll_out
from sandbox.experiment.run import Experiment
from sandbox.flow.deployment import Deployment
from sandbox.flow.rollout import Rollout
from sandbox.flow.tracer import Trace
from sandbox.lesson import graph, narrative, page, rollout
from sandbox.lesson.sample import DEFAULTS, calls_sample, execution_sample
from sandbox.lesson.visual import visual_quiz
from sandbox.quiz import flow_questions
from sandbox.quiz.flow_questions import state_question, step_question
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
LIVE_SAMPLE = "# The run simulated: the live run's steps and variables; its times differ.\n"
DRAWS = 20  # seeded tries for each visual question
Ask = Callable[[str, random.Random], Question | None]  # a question with this id, or None


@dataclass
class Lesson:
    """The lesson of one run: `command` (a `mrsandbox deploy` line) and `deployment`, its run
    (for a rollout, the previous version's deployment, and `experiment`, the rollout's run)."""

    command: str
    request: DeployRequest
    deployment: Deployment
    own_calls: bool = False  # a learner's own calls: the sample repeats them
    experiment: Experiment | None = None

    @classmethod
    def from_command(cls, command: str) -> Lesson:
        """The lesson of `[mrsandbox] deploy ...`.

        With --live the run is made on a live fleet (started and stopped here); counterfactual
        runs and quizzes are simulated. A rollout (--strategy, --previous) runs as `deploy`
        runs it, with users near every region. Raises InvalidDeployment with the deploy
        parser's message for a line it refuses.
        """
        words = deploy_words(command)
        line = shlex.join(["mrsandbox", "deploy", *words])
        try:
            request = parse_deploy_args(words)
        except click.UsageError as e:
            raise InvalidDeployment(e.format_message()) from None
        if not request.rollout:
            with _stage("the run"):
                return cls(line, request, request.run())
        with _stage("the run"):
            experiment = roll_out(request)
        if experiment.rollout is None:
            outcome = experiment.deployment.outcome
            raise InvalidDeployment(
                f"the previous version's deployment did not complete ({outcome}), so the rollout "
                "did not start: run it again"
            )
        return cls(line, request, experiment.deployment, experiment=experiment)

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
    def rollout(self) -> Rollout | None:
        """The rollout this lesson is about, if it is about one."""
        return self.experiment.rollout if self.experiment else None

    @property
    def trace(self) -> Trace:
        """The trace the lesson's tables show: the rollout's, or the deployment's."""
        return self.rollout.trace if self.rollout else self.deployment.trace

    @property
    def trace_doc(self) -> dict[str, Any]:
        return self.trace.to_dict()  # the Status Tracker's columns as the material's

    def _run(self, failures: Sequence[Failure], policy: str) -> Deployment:
        """A counterfactual: this run's settings with other failures and policy, simulated."""
        changed = replace(
            self.request, failures=list(failures), on_failure=policy, leave_out=(), live=False
        )
        return changed.run()

    def _roll(self, failures: Sequence[Failure]) -> Rollout:
        """A counterfactual rollout: this one's settings with other failures, simulated."""
        changed = replace(self.request, failures=list(failures), live=False)
        done = roll_out(changed).rollout
        if done is None:  # a simulated deployment of the previous version always completes
            raise InvalidDeployment(f"the counterfactual run of {changed.sources} did not start")
        return done

    @cached_property
    def quizzes(self) -> dict[str, Quiz]:
        """The visual quiz, the practice and the test of this run."""
        made = {}
        for name, make in (
            ("visual_quiz", self.visual_quiz),
            ("practice", self.practice),
            ("test", self._test),
        ):
            with _stage(name.replace("_", " ")):
                made[name] = make()
        return made

    @cached_property
    def modes(self) -> dict[str, Any]:
        """Every mode, by its name in MODES, as the JSON gives it."""
        doc = self.trace_doc
        with _stage("key moments"):
            told = self._rollout_modes() if self.experiment else self._flow_modes()
        live = LIVE_SAMPLE if self.request.live else ""
        return {
            "process_flow": told["process_flow"],
            "execution_sample": live + told["execution_sample"],
            "process_table": doc["steps"],
            "status_tracker": {**doc["tracker"], "snapshots": doc["snapshots"]},
            "key_moments": told["key_moments"],
            "visual_quiz": self.quizzes["visual_quiz"].to_jupyterquiz(),
            "concept_snapshot": told["concept_snapshot"],
            "transcript": told["transcript"],
            "practice": self.quizzes["practice"].to_jupyterquiz(),
            "test": self.quizzes["test"].to_jupyterquiz(),
        }

    def _flow_modes(self) -> dict[str, Any]:
        """The modes that tell the lesson's flow."""
        d = self.deployment
        return {
            "process_flow": graph.process_flow(d.trace.steps, d.outcome),
            "execution_sample": calls_sample(d)
            if self.own_calls
            else execution_sample(self.request, d.outcome in ("stopped", "rolled_back")),
            "key_moments": narrative.key_moments(d, self._run),
            "concept_snapshot": narrative.concept_snapshot(d),
            "transcript": narrative.transcript(d),
        }

    def _rollout_modes(self) -> dict[str, Any]:
        """The modes that tell a rollout."""
        r, experiment = self.rollout, self.experiment
        assert r is not None and experiment is not None, "a rollout's lesson has its run"
        return {
            "process_flow": graph.process_flow(r.trace.steps, r.outcome, rollout=True),
            "execution_sample": rollout.rollout_sample(self.request),
            "key_moments": rollout.key_moments(r, self._roll, experiment),
            "concept_snapshot": rollout.concept_snapshot(r, experiment),
            "transcript": narrative.told(r.trace, rollout.opening(r)),
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
            trace, kind = self.trace, self.rollout is not None
            nodes = [graph.node_of(s, trace.outcome, kind)[0] for s in trace.steps]
            return page.to_html(self.to_dict(), self.quizzes, nodes)
        raise InvalidDeployment(f"lesson format {fmt!r}: choose one of {', '.join(FORMATS)}")

    def _repr_html_(self) -> str:
        return self.render("html")

    def stepper(self) -> Any:
        """An ipywidgets stepper through the run (needs the lessons extra)."""
        from sandbox.lesson.widget import Stepper

        return Stepper(self.trace)

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
        if self.rollout is not None:
            return self._rollout_visual()
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
                lambda qid, rng, make=make: make(qid, variant, rng),  # type: ignore[misc]
                f"visual-{len(questions) + 1}",
                f"visual:{turn}",
                {q.text for q in questions},
            )
            if question is not None:
                questions.append(question)
        return Quiz("visual", "Visual Quiz", tuple(questions))

    def _rollout_visual(self) -> Quiz:
        """A rollout's Visual Quiz: serving_version after a step, the step of an action, and a
        status after a step, each asked of its tables."""
        trace, command = self.trace, self.command
        asks: list[Ask] = [
            lambda qid, rng: state_question(
                qid, trace, command, rng, ("serving_version",), rollout.ROWS
            ),
            lambda qid, rng: step_question(qid, trace, command, rng, rollout.ASKS),
            lambda qid, rng: state_question(
                qid, trace, command, rng, ("deployment_status", "verification_status"), rollout.ROWS
            ),
        ]
        questions: list[Question] = []
        for turn, ask in enumerate(asks):
            taken = {q.text for q in questions}
            question = self._draw(ask, f"visual-{len(questions) + 1}", f"visual:{turn}", taken)
            if question is not None:
                questions.append(question)
        return Quiz("visual", "Visual Quiz", tuple(questions))

    def _draw(self, ask: Ask, qid: str, label: str, taken: Collection[str] = ()) -> Question | None:
        """The first of DRAWS seeded draws of `ask` that gives a question whose text is not
        `taken`."""
        for draw in range(DRAWS):
            question = ask(qid, random.Random(f"{self.request.seed}:{label}:{draw}"))
            if question is not None and question.text not in taken:
                return question
        return None

    def practice(self) -> Quiz:
        """The command-line questions for these regions and this model, then the material's
        concept questions."""
        from sandbox.quiz.syntax_questions import likely_error, what_happens, which_command

        variant = self._variant()
        drawn = (
            self._draw(
                lambda qid, rng, make=make: make(qid, variant, rng),  # type: ignore[misc]
                f"practice-{n}",
                f"practice:{n}",
            )
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


STAGES = ("the run", "key moments", "visual quiz", "practice", "test")


@contextmanager
def _stage(name: str) -> Iterator[None]:
    """Report the lesson's build at stage `name` (one of STAGES); the stage's own runs report
    to no one."""
    progress.report(done=STAGES.index(name), total=len(STAGES), step=name)
    with progress.muted():
        yield
