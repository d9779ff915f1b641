"""A lesson's stepper in Jupyter: Previous / Next move through the run's steps, showing the
Process Table with the current row highlighted and the variables after that step, the changed
ones marked. Its display data also carries the run's tables as static HTML and text, which a
page exported without the widgets' state (nbconvert's HTML) shows instead."""

from __future__ import annotations

from html import escape
from typing import Any

try:
    import ipywidgets as widgets
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"{error.msg}; the stepper needs the lessons extra: "
        "pip install 'multiregion-sandbox[lessons]'",
        name=error.name,
    ) from error

from sandbox.flow.tracer import Trace, display
from sandbox.lesson.page import COLUMNS, HEADERS

CURRENT = "background:#fff3b0"
CHANGED = "background:#c8f0c8;font-weight:bold"


class Stepper(widgets.VBox):
    """`at`: the step shown (0: the start); `previous` and `next` buttons; `table` and
    `variables`: the HTML shown."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.steps, self.snapshots, self.watched = trace.steps, trace.snapshots, trace.watched
        self.at = 0
        self.previous = widgets.Button(description="Previous")
        self.next = widgets.Button(description="Next")
        self.label = widgets.Label()
        self.table, self.variables = widgets.HTML(), widgets.HTML()
        self.previous.on_click(lambda _: self.show(self.at - 1))
        self.next.on_click(lambda _: self.show(self.at + 1))
        controls = widgets.HBox([self.previous, self.next, self.label])
        super().__init__([controls, self.table, self.variables])
        self.show(0)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        static = {"text/html": self.trace.render("html"), "text/plain": self.trace.render("text")}
        return {**super()._repr_mimebundle_(**kwargs), **static}

    def show(self, n: int) -> None:
        """Show the run after step `n` (clamped to the start and the End row)."""
        self.at = max(0, min(len(self.steps), n))
        rows = "".join(
            f'<tr data-step="{s.step}"'
            + (f' class="current" style="{CURRENT}"' if s.step == self.at else "")
            + ">"
            + "".join(f"<td>{escape(str(getattr(s, c)))}</td>" for c in COLUMNS)
            + "</tr>"
            for s in self.steps
        )
        head = "".join(f"<th>{h}</th>" for h in HEADERS)
        self.table.value = f"<table><tr>{head}</tr>{rows}</table>"
        now, before = self.snapshots[self.at], self.snapshots[max(0, self.at - 1)]
        cells = []
        for v in self.watched:
            changed = self.at > 0 and now[v] != before[v]
            style = f' class="changed" style="{CHANGED}"' if changed else ""
            cells.append(f"<tr><th>{v}</th><td{style}>{escape(display(now[v]))}</td></tr>")
        self.variables.value = f"<table>{''.join(cells)}</table>"
        self.label.value = f"After step {self.at} of {len(self.steps)}" if self.at else "Start"
        self.previous.disabled = self.at == 0
        self.next.disabled = self.at == len(self.steps)
