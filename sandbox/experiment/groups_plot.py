"""The figure of where users are served: each user group's latency in several runs side by side
(a bar to the median, a line on up to the 95th percentile), so that what a fleet of more
regions, or another routing policy, does for each group shows at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sandbox.experiment.charts import figure, legend
from sandbox.experiment.groups import groups_of
from sandbox.experiment.run import Experiment

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SPREAD = 0.8  # of a group's slot on the x axis, shared by its runs' bars
P95_COLOUR = "0.15"


def latency_figure(runs: Mapping[str, Experiment]) -> Figure:
    """A group of bars per user group, one bar per run (`{label: experiment}`): the median
    latency of its answered requests, a line on up to their 95th percentile."""
    grouped = groups_of(runs)
    places = list(next(iter(grouped.values())))
    fig, ax = figure(11, 4.2)
    width = SPREAD / len(grouped)
    for k, (label, groups) in enumerate(grouped.items()):
        xs = [i - SPREAD / 2 + (k + 0.5) * width for i in range(len(places))]
        p50 = [groups[p].p50_ms or 0.0 for p in places]
        p95 = [groups[p].p95_ms or 0.0 for p in places]
        ax.bar(xs, p50, width=width * 0.95, color=f"C{k}", label=f"{label}: p50")
        ax.vlines(xs, p50, p95, color=P95_COLOUR, linewidth=1.5)
    ax.vlines([], [], [], color=P95_COLOUR, linewidth=1.5, label="the line on each bar: to p95")
    ax.set_xticks(range(len(places)), [f"users near\n{p}" for p in places], fontsize=9)
    ax.set_ylabel("latency of answered requests (ms)")
    ax.set_ylim(0, None)
    ax.set_title("Latency each group of users got")
    legend(ax)
    return fig
