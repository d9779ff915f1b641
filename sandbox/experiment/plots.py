"""Figures of an experiment, drawn with matplotlib into PNG files: the traffic each region served,
the latency users near each region got, the errors they saw, and for a rollout the versions that
answered. Every mark is in a legend: each fault shaded in its region's colour and labelled once,
each health transition and outlier ejection drawn where it happened; a figure with nothing to
show says so on the figure."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sandbox.experiment.charts import (
    BINS,
    colours,
    figure,
    legend,
    mark,
    say_nothing,
    span_of,
)
from sandbox.experiment.columns import Quantiles, columns
from sandbox.experiment.journal import phase_window
from sandbox.experiment.rollout_plot import rollout_figure
from sandbox.experiment.run import Experiment

MOVE_MARKERS = ("v", "s", "D", "^", "P", "X")  # one shape per group of users
WIDE = 30  # a latency chart whose highest value is WIDE times its lowest is drawn on a log scale
MAX_MOVES = 10  # a group moved more often is drawn as ticks, one legend entry
FIGURE_DIGITS = 1  # a figure's percentiles count latencies to 0.1 ms: finer than it can show

if TYPE_CHECKING:  # matplotlib itself is imported only when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def figures(experiment: Experiment) -> dict[str, Figure]:
    """The run's figures by file name: traffic.png, latency.png, errors.png, and rollout.png
    when it rolled a version out."""
    drawn = {
        "traffic.png": _traffic(experiment),
        "latency.png": _latency(experiment),
        "errors.png": _errors(experiment),
    }
    if experiment.rollout is not None:
        drawn["rollout.png"] = rollout_figure([experiment])
    return drawn


def draw(experiment: Experiment, out: Path) -> list[Path]:
    """Write the run's figures into `out`; return their paths."""
    paths = []
    for name, fig in figures(experiment).items():
        fig.savefig(out / name, dpi=100)
        paths.append(out / name)
    return paths


def _bins(experiment: Experiment) -> tuple[float, list[float]]:
    width = span_of(experiment) / BINS
    return width, [width * (i + 0.5) for i in range(BINS)]


def _palette(experiment: Experiment) -> dict[str, str]:
    return colours([*experiment.scenario.regions, *experiment.log.clients])


def _traffic(experiment: Experiment) -> Figure:
    log, palette = experiment.log, _palette(experiment)
    width, centers = _bins(experiment)
    served = np.zeros((len(log.regions), BINS), dtype=np.int64)
    totals, failed = np.zeros(BINS, dtype=np.int64), np.zeros(BINS, dtype=np.int64)
    for c in columns(log):
        bins = c.bins(width, BINS)
        totals += np.bincount(bins, minlength=BINS)
        failed += np.bincount(bins[~c.ok], minlength=BINS)
        for code in range(len(log.regions)):
            served[code] += np.bincount(bins[c.ok & (c.region == code)], minlength=BINS)
    fig, ax = figure(11, 4.2)
    routes = experiment.deployment.routes
    skipped = {s.region for s in experiment.deployment.trace.steps if s.action == "Skip region"}
    for index, region in enumerate(log.regions):
        share = [
            s / t if t else float("nan")
            for s, t in zip(served[index].tolist(), totals.tolist(), strict=True)
        ]
        label = f"served by {region}"
        if region not in routes:
            why = "skipped by the deployment" if region in skipped else "not in the routing"
            label += f" ({why}: never sent users)"
        ax.plot(centers, share, color=palette[region], linewidth=2, label=label)
    if failed.any():
        share = [
            f / t if t else float("nan")
            for f, t in zip(failed.tolist(), totals.tolist(), strict=True)
        ]
        ax.plot(centers, share, color="black", linestyle=":", label="not answered (failed)")
    seen: set[str] = set()
    mark(ax, experiment, palette, seen)
    _moves(ax, experiment, palette, seen)
    ax.set_ylabel(f"share of the requests in each {width:.3g} s")
    ax.set_ylim(0, 1.12)  # room above 1 for the routing marks
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(f"{experiment.scenario.name}: which region served the users")
    if not len(log):
        say_nothing(ax, "No request was sent: the scenario has no users")
    legend(ax)
    return fig


def _moves(ax: Axes, experiment: Experiment, palette: dict[str, str], seen: set[str]) -> None:
    """Where routing moved the users near each region: a marker at the top, its shape the group's
    and its colour the region they were sent to (a tick each, when a group moved many times)."""
    moves: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in experiment.events:
        if event["event"] == "routing_change":
            moves[event["client"]].append(event)
    for n, (client, events) in enumerate(moves.items()):
        shape = MOVE_MARKERS[n % len(MOVE_MARKERS)]
        if len(events) > MAX_MOVES:
            ax.plot(
                [e["t"] for e in events],
                [1.06] * len(events),
                marker="|",
                markersize=10,
                linestyle="none",
                color=palette.get(client, "0.3"),
                label=f"users near {client} re-routed ({len(events)} times, a tick each)",
            )
            continue
        for event in events:
            label = f"users near {client} sent to {event['to']}"
            ax.plot(
                [event["t"]],
                [1.06],
                marker=shape,
                markersize=9,
                markeredgecolor="black",
                linestyle="none",
                color=palette.get(event["to"], "0.3"),
                label=label if label not in seen else "_nolegend_",
            )
            seen.add(label)


def _latency(experiment: Experiment) -> Figure:
    log, palette = experiment.log, _palette(experiment)
    width, centers = _bins(experiment)
    by_client: dict[int, list[Quantiles]] = defaultdict(
        lambda: [Quantiles(FIGURE_DIGITS) for _ in range(BINS)]
    )
    for c in columns(log):
        bins = c.bins(width, BINS)
        for client in np.unique(c.client[c.ok]).tolist():
            mine = c.ok & (c.client == client)
            for b in np.unique(bins[mine]).tolist():
                by_client[client][b].extend(c.latency_ms[mine & (bins == b)])
    fig, ax = figure(11, 4.2)
    for index, client in enumerate(log.clients):
        buckets = by_client[index]
        for p, style in ((50, "-"), (95, "--")):
            values = [b.percentile(p) for b in buckets]
            ax.plot(
                centers,
                [v if v is not None else float("nan") for v in values],
                color=palette[client],
                linestyle=style,
                linewidth=2 if p == 50 else 1.2,
                label=f"users near {client}: p{p}",
            )
    shown = [v for line in ax.get_lines() for v in line.get_ydata() if v == v and v > 0]
    _verdict(ax, experiment)
    mark(ax, experiment, palette, set())
    if shown and max(shown) > WIDE * min(shown):  # a spike would flatten everything else
        ax.set_yscale("log")
        ax.set_ylabel("latency of answered requests\n(ms, log scale)")
    else:
        ax.set_ylabel("latency of answered requests (ms)")
        ax.set_ylim(bottom=0)
    ax.set_title(
        f"{experiment.scenario.name}\nlatency by where users are "
        f"(p50 and p95 of each group, each {width:.3g} s)"
    )
    if not experiment.journal["summary"]["succeeded"]:
        say_nothing(ax, "No request was answered: there is no latency to show")
    legend(ax)
    return fig


def _verdict(ax: Axes, experiment: Experiment) -> None:
    """The steady state's p99 tolerance, and the p99 of each phase it was checked against."""
    tolerance = experiment.scenario.steady_state.max_p99_ms
    if tolerance is None:
        return
    ax.axhline(
        tolerance,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=f"steady state: p99 at most {tolerance:g} ms",
    )
    window = phase_window(experiment.scenario, experiment.events)
    edges = [0.0, *(window or ()), span_of(experiment)]
    phases = ("before", "during", "after") if window else ("before",)
    label = "p99 of all users in each phase (what the verdict reads)"
    for phase, start, end in zip(phases, edges, edges[1:], strict=False):
        value = experiment.journal["summary"]["phases"][phase]["latency_ms"]["p99"]
        if value is not None and end > start:
            ax.hlines(value, start, end, color="black", linewidth=3, alpha=0.6, label=label)
            label = "_nolegend_"


def _errors(experiment: Experiment) -> Figure:
    log, palette = experiment.log, _palette(experiment)
    width, centers = _bins(experiment)
    failed = np.zeros((len(log.clients), BINS), dtype=np.int64)
    wrong = np.zeros((len(log.clients), BINS), dtype=np.int64)
    for c in columns(log):
        bins = c.bins(width, BINS)
        for series, picked in ((failed, ~c.ok & ~c.wrong), (wrong, c.wrong)):
            for client in np.unique(c.client[picked]).tolist():
                series[client] += np.bincount(bins[picked & (c.client == client)], minlength=BINS)
    fig, ax = figure(11, 4.2)
    bottom = [0.0] * BINS
    for series, suffix, hatch in ((failed, "no answer", ""), (wrong, "wrong answer", "//")):
        for index, client in enumerate(log.clients):
            if not series[index].any():
                continue
            rates = [c / width for c in series[index].tolist()]
            ax.bar(
                centers,
                rates,
                width=width * 0.9,
                bottom=bottom,
                color=palette[client],
                hatch=hatch,
                edgecolor="white" if not hatch else "black",
                label=f"users near {client}: {suffix}",
            )
            bottom = [b + r for b, r in zip(bottom, rates, strict=True)]
    mark(ax, experiment, palette, set())
    ax.set_ylabel("failed requests per second")
    ax.set_title(f"{experiment.scenario.name}: the errors users saw")
    if not any(bottom):
        ax.set_ylim(0, 1)
        say_nothing(ax, f"No request failed: all {len(log)} requests were answered")
    else:
        ax.set_ylim(bottom=0)
    legend(ax)
    return fig
