"""The execution tracer: every step of a deployment and the watched variables after it.

The flow reports each step to its `Trace`; the trace keeps a deep copy of the watched variables
after every step. The lesson's Process Table and Status Tracker are derived from that record.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from sandbox.core.health import Transition
from sandbox.flow.tables import Table

WATCHED = (
    "regions",
    "deployment_status",
    "verification_status",
    "routing_configured",
    "monitoring_active",
)
PER_REGION_ACTIONS = frozenset(
    {"Select region", "Deploy model", "Retry deployment", "Verify deployment", "Skip region"}
)
ROUTING_ACTION = "Setup traffic routing"
END_ACTION = "End"
FORMATS = ("text", "markdown", "html", "json")
TRACKERS = ("checkpoints", "full")


@dataclass(frozen=True)
class Step:
    """One row of the process table."""

    step: int
    action: str
    region: str
    result: str
    next_step: str
    t: float


def display(value: object) -> str:
    """A variable as the lesson's tables show it: `true`/`false`, Python literals otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class Trace:
    """The record of one deployment: steps, snapshots after each step, and the outcome."""

    def __init__(
        self,
        model: str,
        variables: Mapping[str, Any],
        version: str = "",
        clock: str = "simulated",
        watched: tuple[str, ...] = WATCHED,
        title: str = "",
    ) -> None:
        self.model = model
        self.version = version
        self.clock = clock
        self.watched = watched
        self._title = title
        self.steps: list[Step] = []
        self.snapshots: list[dict[str, Any]] = [self._copy(variables)]
        self.outcome: str | None = None
        self.transitions: list[Transition] = []
        self.marks: set[int] = set()  # steps after which the tracker has a column, if any
        self._listeners: list[Callable[[Step, str], None]] = []

    def _copy(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {name: copy.deepcopy(variables[name]) for name in self.watched}

    def mark(self) -> None:
        """Give the tracker a checkpoint column after the latest step (e.g. a wave's end)."""
        self.marks.add(len(self.steps))

    def record(
        self,
        action: str,
        region: str,
        result: str,
        t: float,
        variables: Mapping[str, Any],
        label: str,
        next_step: str = "",
    ) -> Step:
        """Append a step; `label` is how the previous step's Next Step column names this one."""
        if self.steps:
            self.steps[-1] = replace(self.steps[-1], next_step=label)
        step = Step(len(self.steps) + 1, action, region, result, next_step, round(t, 3))
        self.steps.append(step)
        self.snapshots.append(self._copy(variables))
        for listener in self._listeners:
            listener(step, label)
        return step

    def subscribe(self, listener: Callable[[Step, str], None]) -> None:
        """Call `listener` with every later step and its label (`Deploy model to eu-west-1`)."""
        self._listeners.append(listener)

    def end(
        self, outcome: str, label: str, summary: str, t: float, variables: Mapping[str, Any]
    ) -> None:
        """Record the End row and the outcome (`complete`, `stopped`, ...)."""
        self.record(END_ACTION, "-", "-", t, variables, label, next_step=summary)
        self.outcome = outcome

    def transition(self, transition: Transition) -> None:
        """Record a health transition seen by the monitor (after the flow's steps)."""
        self.transitions.append(transition)

    def health_table(self) -> Table:
        """Every health transition: when, which region, seen by probes or outlier detection."""
        rows = tuple((f"{t.t:.3f}", t.region, t.source, t.state) for t in self.transitions)
        return Table("Health Transitions", ("t (s)", "Region", "Source", "State"), rows)

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    @property
    def regions(self) -> list[str]:
        return list(self.snapshots[0]["regions"])

    def checkpoints(self) -> list[tuple[str, int]]:
        """The material's tracker columns: Start, each region's last step, routing, Final (or
        the marked steps, when a rollout marked its waves' ends)."""
        if self.marks:
            return self._labelled(self.marks)
        last_of_region: dict[str, int] = {}
        for s in self.steps:
            if s.action not in PER_REGION_ACTIONS:
                break
            last_of_region[s.region] = s.step
        routing = {s.step for s in self.steps if s.action == ROUTING_ACTION}
        return self._labelled(set(last_of_region.values()) | routing)

    def _labelled(self, marks: set[int]) -> list[tuple[str, int]]:
        final = len(self.steps)
        columns = [("Start", 0)] + [(f"After Step {n}", n) for n in sorted(marks) if n < final]
        return columns + ([("Final", final)] if final else [])

    def _columns(self, tracker: str) -> list[tuple[str, int]]:
        if tracker == "checkpoints":
            return self.checkpoints()
        if tracker == "full":
            return self._labelled(set(range(1, len(self.steps) + 1)))
        raise ValueError(f"tracker must be one of {', '.join(TRACKERS)}, got {tracker!r}")

    def process_table(self, times: bool = False) -> Table:
        """The lesson's Process Table: Step, Action, Region, Result, Next Step (and `t (s)`)."""
        headers = ("Step", "Action", "Region", "Result", "Next Step") + (
            ("t (s)",) if times else ()
        )
        rows = tuple(
            (str(s.step), s.action, s.region, s.result, s.next_step)
            + ((f"{s.t:.3f}",) if times else ())
            for s in self.steps
        )
        return Table("Process Table", headers, rows)

    def status_tracker(self, tracker: str = "checkpoints") -> Table:
        """The lesson's Status Tracker: one row per watched variable, one column per checkpoint."""
        columns = self._columns(tracker)
        rows = tuple(
            (name, *(display(self.snapshots[n][name]) for _, n in columns)) for name in self.watched
        )
        return Table("Status Tracker", ("Variable", *(label for label, _ in columns)), rows)

    def to_dict(self, tracker: str = "checkpoints") -> dict[str, Any]:
        """The JSON document of `mrsandbox deploy --format json`."""
        table = self.status_tracker(tracker)
        return {
            "model": self.model,
            "regions": self.regions,
            "outcome": self.outcome,
            "steps": [asdict(s) for s in self.steps],
            "snapshots": [
                {"after_step": n, "variables": copy.deepcopy(v)}
                for n, v in enumerate(self.snapshots)
            ],
            "tracker": {
                "columns": list(table.headers[1:]),
                "rows": [{"variable": r[0], "values": list(r[1:])} for r in table.rows],
            },
            "health_transitions": [asdict(t) for t in self.transitions],
        }

    def title(self) -> str:
        """What was deployed where: the model, its version and the regions."""
        if self._title:
            return self._title
        version = f" (version {self.version})" if self.version else ""
        return f"Deployment of {self.model}{version} to {', '.join(self.regions)}"

    def summary(self) -> str:
        """One line: the outcome and the End row's text."""
        if not self.ended:
            return "Outcome: running"
        end = self.steps[-1]
        return f"Outcome: {self.outcome} ({end.next_step}) after {end.t:g} s of {self.clock} time"

    def render(self, fmt: str = "text", tracker: str = "checkpoints") -> str:
        """Both tables and the outcome as text, Markdown, HTML or JSON."""
        tables = (self.process_table(), self.status_tracker(tracker)) + (
            (self.health_table(),) if self.transitions else ()
        )
        title, summary = self.title(), self.summary()
        if fmt == "json":
            return json.dumps(self.to_dict(tracker), indent=2)
        if fmt == "text":
            return "\n\n".join([title, *(t.to_text() for t in tables), summary])
        if fmt == "markdown":
            return "\n\n".join(
                [f"**{title}**", *(t.to_markdown() for t in tables), f"**{summary}**"]
            )
        if fmt == "html":
            paragraphs = [f"<p>{html.escape(text)}</p>" for text in (title, summary)]
            return "\n".join([paragraphs[0], *(t.to_html() for t in tables), paragraphs[1]])
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")

    def _repr_html_(self) -> str:
        return self.render("html")

    def __str__(self) -> str:
        return self.render("text")

    def __repr__(self) -> str:
        return f"<Trace {self.title()}: {len(self.steps)} steps, {self.outcome or 'running'}>"
