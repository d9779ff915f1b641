"""The figure of what a user saw through a live fleet's gateway over time (`sandbox.live.ask`):
the region that answered each request (one the gateway had to retry elsewhere marked apart, one
that got no answer on a row of its own), a fault shaded, and each health transition of the
fleet: the probes' verdicts as lines, each outlier ejection as a hatched span."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sandbox.core.health import Transition
from sandbox.experiment.charts import EJECTED, HEALTH, colours, figure, legend, say_nothing
from sandbox.live.ask import Reply

if TYPE_CHECKING:
    from matplotlib.figure import Figure

NO_ANSWER = "no answer"  # the row of the requests that got none
KINDS = (  # how a request went: which replies, their marker, their legend entry
    (lambda r: r.status == 200 and len(r.tried) <= 1, "o", "answered"),
    (lambda r: r.status == 200 and len(r.tried) > 1, "D", "answered after a retry"),
    (lambda r: r.status != 200, "X", "not answered"),
)


def ejections(transitions: Sequence[Transition], end: float) -> list[tuple[str, float, float]]:
    """(region, ejected, back) of each outlier ejection; one still on ends at `end`."""
    spans: list[tuple[str, float, float]] = []
    since: dict[str, float] = {}
    for change in transitions:
        if change.state == "ejected":
            since.setdefault(change.region, change.t)
        elif change.state == "returned" and change.region in since:
            spans.append((change.region, since.pop(change.region), change.t))
    return spans + [(region, t, end) for region, t in since.items()]


def replies_figure(
    replies: Sequence[Reply],
    transitions: Sequence[Transition] = (),
    *,
    fault: tuple[str, float, float] | None = None,
) -> Figure:
    """`replies` against the time each was sent (emulated seconds on the fleet's clock), with
    the fleet's health `transitions` (`Deployment.trace.transitions`) and a `fault` as
    (label, start, end) on the same clock."""
    fig, ax = figure(11, 3.6)
    if not replies:
        say_nothing(ax, "No requests to show: ask the fleet first (sandbox.live.ask)")
        return fig
    answered = [r.served_by for r in replies if r.status == 200]
    rows = list(dict.fromkeys([*answered, *(c.region for c in transitions)]))
    rows += [NO_ANSWER] if len(answered) < len(replies) else []
    palette = colours(r for r in rows if r != NO_ANSWER) | {NO_ANSWER: "tab:red"}
    low, high = replies[0].t, max(r.t for r in replies)
    if fault is not None:
        label, start, end = fault
        ax.axvspan(start, end, color="tab:red", alpha=0.1, label=label)
        low, high = min(low, start), max(high, end)
    seen: set[str] = set()

    def once(label: str) -> str:
        new = label not in seen
        seen.add(label)
        return label if new else "_nolegend_"

    for region, start, end in ejections(transitions, high):
        colour = palette[region]
        label = once(f"{region} {EJECTED}")
        ax.axvspan(start, end, facecolor="none", edgecolor=colour, hatch="x", label=label)
    for change in transitions:
        style = HEALTH.get(f"health_{change.state}")
        if change.source == "probe" and style is not None:
            label = once(f"{change.region} {style[1]}")
            ax.axvline(change.t, color=palette[change.region], linestyle=style[0], label=label)
    for kind, marker, said in KINDS:
        shown = [r for r in replies if kind(r)]
        where = [r.served_by if r.status == 200 else NO_ANSWER for r in shown]
        ax.scatter(
            [r.t for r in shown],
            [rows.index(w) for w in where],
            c=[palette[w] for w in where],
            marker=marker,
        )
        if shown:  # the legend's mark in grey: the dots take their region's colour
            ax.scatter([], [], c="0.45", marker=marker, label=said)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    ax.set_xlim(low - 0.5, high + 0.5)
    ax.set_xlabel("seconds on the fleet's clock")
    ax.set_ylabel("the region that answered")
    ax.set_title(f"Requests of users near {replies[0].near}: the region that answered each")
    legend(ax)
    return fig
