"""The figure of a sweep: a metric against the first varied key, every seed's run as a dot, the
median of each point as a line (one per value of the other keys, moved a little apart so that no
line hides another), and beside them the rule the sweep tests: the bounds the probe timing model
gives detection and failover, and the DNS TTL's own term when the TTL is what varies."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.experiment.charts import figure, legend, say_nothing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BOUNDS_OF = {  # a metric, the row's bounds the timing model gives it, and what they are
    "detection_s": (
        "expected_detection_low_s",
        "expected_detection_high_s",
        "rule: the probes' detection bounds",
    ),
    "failover_s": (None, "expected_failover_high_s", "rule: 0 to detection's bound + TTL"),
}
MEANING = {  # what each metric measures, for the axis
    "detection_s": "s until probes marked the region unhealthy",
    "failover_s": "s until the last request sent there",
    "recovery_s": "s from the fault's end until healthy again",
    "failed": "requests that failed",
    "availability": "share of requests answered",
    "p99_ms": "p99 latency, ms",
    "deviated": "steady state deviated",
}
NON_NEGATIVE = ("detection_s", "failover_s", "recovery_s", "failed", "availability", "p99_ms")
TTL = "routing.dns_ttl_s"


def draw_sweep(rows: list[dict[str, Any]], keys: list[str], metric: str, out: Path) -> Path:
    """Write sweep_METRIC.png into `out`; return its path."""
    path = out / f"sweep_{metric}.png"
    sweep_figure(rows, keys, metric).savefig(path, dpi=100)
    return path


def sweep_figure(rows: list[dict[str, Any]], keys: list[str], metric: str) -> Figure:
    """`metric` of every run against `keys[0]`, a series per value of the other keys."""
    x_key, others = keys[0], keys[1:]
    xs = list(dict.fromkeys(row[x_key] for row in rows))
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
    if numeric:
        xs.sort()
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in others)].append(row)
    seeds = len({row.get("seed") for row in rows})
    low_key, high_key, rule_name = BOUNDS_OF.get(metric, (None, None, ""))
    fig, ax = figure(11, 4.8)
    for g, (group, members) in enumerate(groups.items()):
        colour = f"C{g % 10}"
        name = ", ".join(f"{k}={v}" for k, v in zip(others, group, strict=True))
        at = positions(xs, numeric, len(groups), g)
        runs = {x: [r for r in members if r[x_key] == x] for x in xs}
        if high_key is not None:
            rule = [(at[i], runs[x][0]) for i, x in enumerate(xs) if runs[x]]
            rule = [(p, r) for p, r in rule if r[high_key] is not None]
            if rule:
                ax.vlines(
                    [p for p, _ in rule],
                    [r[low_key] if low_key else 0.0 for _, r in rule],
                    [r[high_key] for _, r in rule],
                    color=colour,
                    alpha=0.22,
                    linewidth=14,
                    label=f"{rule_name}{f' ({name})' if name else ''}",
                )
        dots = [
            (at[i], r[metric]) for i, x in enumerate(xs) for r in runs[x] if r[metric] is not None
        ]
        if dots:
            ax.scatter(
                [p for p, _ in dots],
                [float(v) for _, v in dots],
                s=16,
                color=colour,
                alpha=0.75,
                zorder=3,
                label=f"each run{f' ({name})' if name else ''}",
            )
        medians = [
            statistics.median(float(r[metric]) for r in runs[x] if r[metric] is not None)
            if any(r[metric] is not None for r in runs[x])
            else float("nan")
            for x in xs
        ]
        ax.plot(
            at,
            medians,
            color=colour,
            marker="o",
            markersize=8,
            linestyle=["-", "--", "-.", ":"][g % 4] if numeric else "none",  # no order to join
            zorder=4,
            label=f"median of {seeds} seed{'s' if seeds > 1 else ''}"
            + (f" ({name})" if name else ""),
        )
    if x_key == TTL and metric == "failover_s" and numeric:
        ax.plot(
            xs, xs, color="0.35", linestyle=(0, (4, 2)), label="the TTL term alone (= dns_ttl_s)"
        )
    if not numeric:
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_xlabel(x_key)
    ax.set_ylabel(f"{MEANING.get(metric, metric)} ({metric})")
    if metric in NON_NEGATIVE:
        ax.set_ylim(bottom=0)
    per = f"{seeds} seed{'s' if seeds > 1 else ''} a point"
    ax.set_title(f"{metric} against {x_key}: {len(rows)} runs, {per}")
    values = [row[metric] for row in rows if row[metric] is not None]
    if not values:
        say_nothing(ax, f"No run measured {metric} (nothing was detected or failed over)")
    elif not any(values):
        ax.set_ylim(0, 1)
        say_nothing(ax, f"{metric} is 0 in every run")
    legend(ax)
    return fig


def positions(xs: Sequence[Any], numeric: bool, groups: int, group: int) -> list[float]:
    """Where `xs` go on the axis (numbers as they are, anything else in order), moved a little
    for the `group`-th of `groups` series, so that no series hides another."""
    at = [float(x) for x in xs] if numeric else [float(i) for i in range(len(xs))]
    gaps = [b - a for a, b in itertools.pairwise(at) if b > a]
    step = min(gaps, default=1.0)
    shift = (group - (groups - 1) / 2) * step * 0.06
    return [p + shift for p in at]
