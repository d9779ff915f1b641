"""The figure of a fault's detection: the probes of its region (passed, failed) above the requests
sent there each second (answered, failed), with the fault, the bounds the probe timing model
gives detection, the moment the probes marked the region unhealthy and the last request sent
there, on the run's clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sandbox.experiment.charts import EJECTED, colours, ejections, figure, legend
from sandbox.experiment.columns import columns
from sandbox.experiment.detection import timing
from sandbox.experiment.run import Experiment

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BEFORE = 2.5  # probe intervals shown before the fault starts
AFTER = 1.5  # probe intervals shown after the later of detection and its upper bound


def _window(experiment: Experiment, fault: int) -> tuple[float, float]:
    t = timing(experiment, fault)
    ends = max(
        t.detection_s or 0.0, t.detection_bounds[1] if t.detection_bounds else 0.0, t.interval_s
    )
    return max(0.0, t.start_s - BEFORE * t.interval_s), t.start_s + ends + AFTER * t.interval_s


def _marks(ax: Axes, experiment: Experiment, fault: int, colour: str, label: bool) -> None:
    """The fault, detection's bounds, the verdict and the last request sent there."""
    t = timing(experiment, fault)

    def said(text: str) -> str:
        return text if label else "_nolegend_"

    ends = ax.get_xlim()[1] if t.end_s is None else t.end_s
    ax.axvspan(t.start_s, ends, color=colour, alpha=0.12, label=said(f"{t.kind} in {t.region}"))
    if t.detection_bounds:
        low, high = (t.start_s + b for b in t.detection_bounds)
        rule = "the rule's bounds on detection"
        ax.axvspan(low, high, facecolor="none", edgecolor="0.4", hatch="//", label=said(rule))
    out = said(f"{t.region} {EJECTED}")
    for ejected, back in ejections(experiment, t.region):
        ax.axvspan(ejected, back, facecolor="none", edgecolor=colour, hatch="x", label=out)
        out = "_nolegend_"  # one legend entry for every ejection
    if t.detection_s is not None:
        verdict = said("marked unhealthy by the probes")
        ax.axvline(t.start_s + t.detection_s, color="black", linestyle="--", label=verdict)
    if t.failover_s is not None:
        last = said(f"the last request sent to {t.region}")
        ax.axvline(t.start_s + t.failover_s, color="tab:purple", linestyle=":", label=last)


def detection_figure(experiment: Experiment, fault: int = 0) -> Figure:
    """The `fault`-th fault of `experiment` (by the scenario's order), from a little before it
    started until a little after its region was marked unhealthy."""
    t = timing(experiment, fault)
    low, high = _window(experiment, fault)
    colour = colours(experiment.scenario.regions)[t.region]
    fig, axes = figure(11, 5.2, rows=2)
    probes, sent = axes[:, 0]
    shown = [(at, ok) for at, ok in experiment.probes(t.region) if low <= at <= high]
    for ok, marker, name, tint in (
        (True, "o", "passed", "tab:green"),
        (False, "X", "failed", "tab:red"),
    ):
        at = [when for when, passed in shown if passed is ok]
        probes.plot(
            at,
            [1] * len(at),
            marker,
            color=tint,
            markersize=9,
            linestyle="none",
            label=f"probe {name}",
        )
    probes.set_yticks([])
    probes.set_title(
        f"Probes of {t.region}: one every {t.interval_s:g} s; "
        f"{t.failure_threshold} failed in a row mark it unhealthy"
    )
    region = experiment.log.regions.index(t.region)
    edges = np.arange(np.floor(low), np.ceil(high) + 1)
    answered, failed = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    for c in columns(experiment.log):
        there = c.first == region
        answered += np.histogram(c.t[there & c.ok], edges)[0]
        failed += np.histogram(c.t[there & ~c.ok], edges)[0]
    sent.bar(edges[:-1], answered, width=1, align="edge", color=colour, label="requests answered")
    sent.bar(
        edges[:-1],
        failed,
        width=1,
        align="edge",
        bottom=answered,
        color="tab:red",
        alpha=0.6,
        label="requests that failed",
    )
    sent.set_ylabel(f"requests sent to\n{t.region} a second")
    sent.set_xlabel("seconds since the users started")
    for n, ax in enumerate((probes, sent)):
        ax.set_xlim(low, high)
        _marks(ax, experiment, fault, colour, label=n == 0)
        ax.set_xlim(low, high)
        legend(ax)
    return fig
