"""Figures of an experiment, drawn with matplotlib into PNG files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.core.records import percentile
from sandbox.experiment.run import Experiment

if TYPE_CHECKING:  # matplotlib itself is imported only when a figure is drawn
    from matplotlib.axes import Axes

BINS = 60  # time bins over the run


def _binned(experiment: Experiment) -> tuple[float, list[float]]:
    width = experiment.scenario.duration_s / BINS
    return width, [width * (i + 0.5) for i in range(BINS)]


def _bin(t: float, width: float) -> int:
    return min(int(t / width), BINS - 1)


def _decorate(ax: Axes, experiment: Experiment) -> None:
    """Shade each fault's window; mark health transitions."""
    for fault in experiment.scenario.faults:
        end = fault.end_s if fault.end_s is not None else experiment.scenario.duration_s
        ax.axvspan(
            fault.start_s,
            end,
            color="tab:red",
            alpha=0.12,
            label=f"{fault.fault.kind} in {fault.region}",
        )
    for event in experiment.events:
        if event["event"] in ("health_unhealthy", "health_healthy"):
            color = "tab:red" if event["event"] == "health_unhealthy" else "tab:green"
            ax.axvline(event["t"], color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("time since monitoring started (s)")
    ax.set_xlim(0, experiment.scenario.duration_s)


def draw(experiment: Experiment, out: Path) -> list[Path]:
    """Write traffic.png, latency.png and errors.png into `out`; return their paths."""
    log = experiment.log
    width, centers = _binned(experiment)
    served: dict[int, list[int]] = defaultdict(lambda: [0] * BINS)
    totals, failed = [0] * BINS, [0] * BINS
    latencies: list[list[float]] = [[] for _ in range(BINS)]
    for i in range(len(log)):
        b = _bin(log.t[i], width)
        totals[b] += 1
        if log.ok[i]:
            served[log.region[i]][b] += 1
            latencies[b].append(log.latency_ms[i])
        else:
            failed[b] += 1
    paths = []
    title = experiment.scenario.name

    fig, ax = _figure(9, 4)
    for index, region in enumerate(log.regions):
        share = [s / t if t else 0 for s, t in zip(served[index], totals, strict=True)]
        ax.plot(centers, share, label=region)
    _decorate(ax, experiment)
    ax.set_ylabel("share of requests served")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{title}: traffic share per region")
    ax.legend(loc="best", fontsize="small")
    paths.append(_save(fig, out / "traffic.png"))

    fig, ax = _figure(9, 4)
    for p in (50, 95, 99):
        values = [percentile(sorted(bucket), p) for bucket in latencies]
        ax.plot(centers, [v if v is not None else float("nan") for v in values], label=f"p{p}")
    _decorate(ax, experiment)
    ax.set_ylabel("latency of served requests (ms)")
    ax.set_title(f"{title}: latency percentiles")
    ax.legend(loc="best", fontsize="small")
    paths.append(_save(fig, out / "latency.png"))

    fig, ax = _figure(9, 4)
    ax.bar(centers, [f / width for f in failed], width=width * 0.9, color="tab:red")
    _decorate(ax, experiment)
    ax.set_ylabel("failed requests per second")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{title}: errors users saw")
    paths.append(_save(fig, out / "errors.png"))
    return paths


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure of its own, outside pyplot: drawing files leaves a notebook's backend alone."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


BOUNDS_OF = {  # a metric and the row's bounds the timing model gives it
    "detection_s": ("expected_detection_low_s", "expected_detection_high_s"),
    "failover_s": (None, "expected_failover_high_s"),
}


def draw_sweep(rows: list[dict], keys: list[str], metric: str, out: Path) -> Path:
    """`metric` against the first varied key, a line per value of the others; for detection and
    failover, the bounds the probe timing model gives each point as a bar behind it (the same
    bounds the journal and the report print)."""
    x_key, others = keys[0], keys[1:]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in others)].append(row)
    fig, ax = _figure(8, 4.5)
    low_key, high_key = BOUNDS_OF.get(metric, (None, None))
    shaded = False
    for group, members in groups.items():
        members.sort(key=lambda r: r[x_key])
        label = ", ".join(f"{k}={v}" for k, v in zip(others, group, strict=True)) or metric
        xs = [r[x_key] for r in members]
        ys = [r[metric] if r[metric] is not None else float("nan") for r in members]
        line = ax.plot(xs, ys, marker="o", label=label)[0]
        if high_key is not None and all(r[high_key] is not None for r in members):
            highs = [r[high_key] for r in members]
            lows = [r[low_key] if low_key else 0.0 for r in members]
            ax.vlines(xs, lows, highs, color=line.get_color(), alpha=0.25, linewidth=8)
            shaded = True
    ax.set_xlabel(x_key)
    ax.set_ylabel(metric)
    title = f"{metric} against {x_key}"
    if shaded:
        title += " (bars: the bounds the probe timing model gives)"
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return _save(fig, out / f"sweep_{metric}.png")
