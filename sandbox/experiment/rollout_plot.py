"""The rollout figure: what the users got during a rollout (their requests by the model version
that served each last, answered or failed, as `users_saw` counts them), then, region by region,
the share of its attempts each version served, answered or failed, with each wave, bake, traffic
shift and rollback marked where it happened. Several runs side by side (a canary and a
sequential rollout of the same bad version, say) share their axes, so the difference shows at a
glance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sandbox.core.records import NONE
from sandbox.experiment.charts import (
    BINS,
    EJECTED,
    HEALTH,
    X_LABEL,
    ejections,
    figure,
    say_nothing,
    span_of,
)
from sandbox.experiment.columns import columns
from sandbox.experiment.run import Experiment

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OLD, NEW, FAILED_NEW, FAILED_OLD = "tab:blue", "tab:green", "tab:red", "tab:brown"
UNSERVED, ROLLED_BACK = "black", "tab:purple"
NOBODY = "failed: no region served it"
# A rollout step (a shift: of a share, or of all) -> how it is drawn, what the legend says.
MARKS: dict[str, tuple[dict[str, Any], str]] = {
    "Start wave": ({"color": "black", "linestyle": ":", "linewidth": 1.4}, "a wave starts"),
    "share": ({"color": "darkgreen", "linestyle": ":", "linewidth": 2}, "canary: a share to {new}"),
    "all": (
        {"color": "darkgreen", "linestyle": "--", "linewidth": 2},
        "promoted: all traffic to {new}",
    ),
    "Roll back deployment": (
        {"color": ROLLED_BACK, "linestyle": "-", "linewidth": 2.5},
        "rolled back to {old}",
    ),
}


def rollout_figure(experiments: Sequence[Experiment], titles: Sequence[str] = ()) -> Figure:
    """One column per run that rolled a version out: the users' requests, then a row per region;
    `titles` names the columns (by default each scenario's name and the rollout's outcome)."""
    runs = [e for e in experiments if e.rollout is not None]
    if not runs or len(runs) != len(experiments):
        raise ValueError("rollout_figure takes experiments that rolled a version out")
    regions = list(dict.fromkeys(r for e in runs for r in e.scenario.regions))
    rows = 1 + len(regions)
    fig, axes = figure(6.2 * len(runs) + 3.2, 1.55 * rows + 1.6, rows, len(runs))
    span = max(span_of(e) for e in runs)
    for column, experiment in enumerate(runs):
        title = titles[column] if column < len(titles) else _title(experiment)
        _column([axes[row][column] for row in range(rows)], experiment, regions, span, title)
    top = max(ax.get_ylim()[1] for ax in axes[0])
    for ax in axes[0]:  # the users' rows on one scale
        ax.set_ylim(0, top)
    for row in range(rows):
        for ax in axes[row][1:]:
            ax.set_ylabel("")
    entries: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    fig.legend(entries.values(), entries.keys(), loc="outside right upper", fontsize="small")
    return fig


def _title(experiment: Experiment) -> str:
    rollout = experiment.rollout
    assert rollout is not None
    return f"{experiment.scenario.name}\n{rollout.plan.strategy}: {rollout.outcome}"


def _column(
    axes: list[Axes], experiment: Experiment, regions: list[str], span: float, title: str
) -> None:
    rollout = experiment.rollout
    assert rollout is not None
    old, new = rollout.previous.version, rollout.model.version
    width = span / BINS
    centers = [width * (i + 0.5) for i in range(BINS)]
    log = experiment.log
    served: list[str | None] = [old, new, None]  # None: no region served the request
    # a version that never served finds NONE, which stays None's: the requests no region served
    codes = {log.versions.find(v): v for v in (old, new)} | {NONE: None}
    counts = {(v, ok): np.zeros(BINS, dtype=np.int64) for v in served for ok in (1, 0)}
    for c in columns(log):
        bins = c.bins(width, BINS)
        for code, version in codes.items():
            mine = c.version == code
            counts[version, 1] += np.bincount(bins[mine & c.ok], minlength=BINS)
            counts[version, 0] += np.bincount(bins[mine & ~c.ok], minlength=BINS)
    users = {key: [n / width for n in counted.tolist()] for key, counted in counts.items()}
    _stack(axes[0], centers, width, [*_served(users, old, new), (users[None, 0], UNSERVED, NOBODY)])
    served_new, failed_new = (int(counts[new, ok].sum()) for ok in (1, 0))
    failed = sum(int(counts[v, 0].sum()) for v in served)
    axes[0].set_title(
        f"{title}\nusers: {len(log)} requests, {failed} failed in all;\n"
        f"{served_new + failed_new} served last by {new} ({failed_new} of them failed)",
        fontsize="medium",
    )
    axes[0].set_ylabel("users' requests/s,\nby the version\nthat served\neach last")
    for ax, region in zip(axes[1:], regions, strict=True):
        if region not in experiment.scenario.regions:
            say_nothing(ax, f"{region} is not in this run")
            continue
        _region_row(ax, experiment, region, width, centers, (old, new))
    rows: list[str | None] = [None, *regions]  # None: the users' row
    for ax, row in zip(axes, rows, strict=True):
        ax.set_xlim(0, span)
        _marks(ax, experiment, row)
    axes[-1].set_xlabel(X_LABEL)


def _region_row(
    ax: Axes,
    experiment: Experiment,
    region: str,
    width: float,
    centers: list[float],
    versions: tuple[str, str],
) -> None:
    """The share of `region`'s attempts each version served, answered or failed, per bin."""
    rollout = experiment.rollout
    assert rollout is not None
    old, new = versions
    attempts, t0 = rollout.attempts, experiment.t0
    code = attempts.regions.find(region)
    counts = {(v, ok): [0] * BINS for v in versions for ok in (1, 0)}
    for i in range(len(attempts)):
        if attempts.region[i] != code:
            continue
        t = attempts.t[i] - t0
        if t < 0:
            continue
        b = min(int(t / width), BINS - 1)
        version = new if attempts.versions.name(attempts.version[i]) == new else old
        counts[version, int(bool(attempts.ok[i]))][b] += 1
    totals = [sum(c[b] for c in counts.values()) for b in range(BINS)]
    shares: dict[tuple[str | None, int], list[float]] = {
        key: [c / t if t else 0.0 for c, t in zip(counted, totals, strict=True)]
        for key, counted in counts.items()
    }
    _stack(ax, centers, width, _served(shares, old, new))
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"{region}:\nshare of its\nattempts (a failed\none may be retried)")
    if not any(totals):
        say_nothing(ax, f"No user request reached {region} while the rollout ran")


def _served(
    values: dict[tuple[str | None, int], list[float]], old: str, new: str
) -> list[tuple[list[float], str, str]]:
    """The series of what each version served, answered (1) or failed (0), old then new: one
    colour and one legend entry each, the same on the users' row and on every region's."""
    return [
        (values[old, 1], OLD, f"served by {old}: answered"),
        (values[old, 0], FAILED_OLD, f"served by {old}: failed"),
        (values[new, 1], NEW, f"served by {new}: answered"),
        (values[new, 0], FAILED_NEW, f"served by {new}: failed"),
    ]


def _stack(ax: Axes, centers: list[float], width: float, series: list[Any]) -> None:
    """Stacked bars, one colour per series; a series that is zero throughout is left out."""
    bottom = [0.0] * len(centers)
    for values, colour, label in series:
        if not any(values):
            continue
        ax.bar(centers, values, width=width, bottom=bottom, color=colour, label=label, linewidth=0)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]


def _marks(ax: Axes, experiment: Experiment, region: str | None) -> None:
    """The rollout's steps where they happened: waves starting, bakes (shaded), traffic shifts
    and rollbacks; on a region's row only its own (all of them on the users' row)."""
    from matplotlib import patheffects

    rollout = experiment.rollout
    assert rollout is not None
    t0, new, old = experiment.t0, rollout.model.version, rollout.previous.version
    for bake in rollout.bakes:
        if region is None or region in bake["regions"]:
            ax.axvspan(
                bake["since_s"] - t0,
                bake["since_s"] - t0 + bake["bake_s"],
                facecolor="none",
                edgecolor="0.25",
                hatch="///",
                linewidth=0,
                label=f"bake ({bake['bake_s']:g} s)",
            )
    for event in experiment.events if region is not None else ():
        health = HEALTH.get(event["event"])
        if health is not None and event["region"] == region:
            dashes, said = health
            ax.axvline(event["t"], color="0.15", linestyle=dashes, linewidth=1.3, label=said)
    for start, end in ejections(experiment, region) if region is not None else ():
        ax.axvspan(start, end, color="0.8", zorder=0, label=f"{EJECTED}: no attempt there")
    if region is not None:
        first = rollout.trace.steps[0].t - t0
        ax.axvspan(0, first, color="0.93", zorder=0, label="before the rollout: not recorded")
        for f in experiment.scenario.faults:
            if f.region == region and f.fault.version is None:
                end = f.end_s if f.end_s is not None else span_of(experiment)
                ax.axvspan(
                    f.start_s,
                    end,
                    facecolor="none",
                    edgecolor="black",
                    hatch="\\\\",
                    linewidth=0,
                    label=f"a fault there ({f.fault.kind})",
                )
    outline = [patheffects.withStroke(linewidth=4, foreground="white")]  # seen over any bar
    for step in rollout.trace.steps:
        kind = step.action
        if kind == "Shift traffic":
            kind = "all" if step.result.startswith("100%") else "share"
        if kind not in MARKS or (region is not None and region not in step.region.split(", ")):
            continue
        style, label = MARKS[kind]
        ax.axvline(step.t - t0, label=label.format(new=new, old=old), path_effects=outline, **style)
