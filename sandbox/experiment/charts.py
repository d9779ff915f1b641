"""What every figure of the sandbox shares: a figure outside pyplot, one colour per region, the
span a run covers, words on an empty chart, a legend beside the axes, and the marks of a run
(each fault shaded in its region's colour and labelled once, a fault on one model version as a
legend entry, each health transition a line, each outlier ejection a hatched span)."""

from __future__ import annotations

import io
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from sandbox.core.regions import RegionCatalog
from sandbox.experiment.run import Experiment

if TYPE_CHECKING:  # matplotlib itself is imported only when a figure is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BINS = 60  # time bins over a run
LEGEND_WIDTH = 44  # characters of a legend entry's line
X_LABEL = "seconds since the users started"
# A probe's health event -> its line style and what the legend says of it.
HEALTH = {
    "health_unhealthy": ((0, (7, 2, 1, 2)), "marked unhealthy by probes"),
    "health_healthy": ((0, (1, 2)), "healthy again (probes)"),
}
EJECTED = "ejected by outlier detection"  # a span, from the ejection to the region's return
NOTHING: dict[str, Any] = {
    "fontsize": 13,
    "ha": "center",
    "va": "center",
    "color": "0.25",
    "bbox": {"facecolor": "white", "edgecolor": "0.7", "boxstyle": "round"},  # over any mark
}
LEGEND_FONT = 9


def figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A figure of its own, outside pyplot (drawing files leaves a notebook's backend alone),
    laid out so that legends beside the axes stay inside it; a notebook shows it as a PNG
    image, whether pyplot was imported there or not."""
    fig = _shown()(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=rows * cols == 1)


@cache
def _shown() -> type[Figure]:
    """A matplotlib `Figure` that IPython shows by itself, as PNG (`_repr_png_`)."""
    from matplotlib.figure import Figure

    class Shown(Figure):
        def _repr_png_(self) -> bytes:
            image = io.BytesIO()
            self.savefig(image, format="png")
            return image.getvalue()

    return Shown


def colours(names: Iterable[str]) -> dict[str, str]:
    """One colour per region name: the same for a region in every figure, of any run (its place
    in the default catalogue), another when two regions of one figure would share it."""
    order = [r.name for r in RegionCatalog.default()]
    taken: dict[str, str] = {}
    for name in dict.fromkeys(names):
        first = order.index(name) if name in order else len(order) + len(taken)
        free = [f"C{(first + k) % 10}" for k in range(10)]
        taken[name] = next((c for c in free if c not in taken.values()), free[0])
    return taken


def span_of(experiment: Experiment) -> float:
    """Seconds the figures cover: the scenario's duration, or longer while a rollout kept the
    users going."""
    return max(experiment.scenario.duration_s, experiment.log.latest() or 0.0)


def say_nothing(ax: Axes, text: str) -> None:
    """Write on an empty chart what it would have shown, so it does not look broken."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, wrap=True, **NOTHING)


def mark(ax: Axes, experiment: Experiment, palette: dict[str, str], seen: set[str]) -> None:
    """Each fault shaded in its region's colour and labelled once (a fault on one model version
    as a legend entry only: it hits that version's answers whenever they come); each health
    transition and ejection a line in its region's colour. `seen`: labels already given."""

    def once(label: str) -> str:
        if label in seen:
            return "_nolegend_"
        seen.add(label)
        return label

    span = span_of(experiment)
    rollout = experiment.journal.get("rollout")
    if rollout and rollout.get("end_s") is not None:
        said = f"rollout {rollout['from_version']} -> {rollout['to_version']}: {rollout['outcome']}"
        ax.axvspan(rollout["start_s"], rollout["end_s"], color="0.9", zorder=0, label=once(said))
    versioned: dict[str, list[str]] = defaultdict(list)
    for f in experiment.scenario.faults:
        what = _fault_text(f.fault)
        if f.fault.version is not None:
            versioned[f"{what} on {f.fault.version}"].append(f.region)
            continue
        end = f.end_s if f.end_s is not None else span
        label = f"{what} in {f.region} ({f.start_s:g}-{end:g} s)"
        ax.axvspan(f.start_s, end, color=palette[f.region], alpha=0.13, label=once(label))
    for what, regions in versioned.items():  # an entry with a hollow square: no window
        label = once(f"{what} in {', '.join(regions)} (whenever it answers)")
        ax.plot([], [], "s", markerfacecolor="none", markeredgecolor="0.3", label=label)
    for event in experiment.events:
        style = HEALTH.get(event["event"])
        if style is None:
            continue
        region = event["region"]
        ax.axvline(
            event["t"],
            color=palette.get(region, "0.3"),
            linestyle=style[0],
            linewidth=1.8,
            label=once(f"{region} {style[1]}"),
        )
    from matplotlib.colors import to_rgba

    for region in experiment.scenario.regions:
        colour = palette.get(region, "0.3")
        for start, end in ejections(experiment, region):  # a light fill: a short one shows too
            ax.axvspan(
                start,
                end,
                facecolor=to_rgba(colour, 0.12),
                edgecolor=to_rgba(colour, 0.6),
                hatch="x",
                linewidth=0,
                label=once(f"{region} {EJECTED}"),
            )
    ax.set_xlabel(X_LABEL)
    ax.set_xlim(0, span)


def ejections(experiment: Experiment, region: str) -> list[tuple[float, float]]:
    """When outlier detection kept `region` out: (ejected, back) on the journal's clock."""
    periods, since = [], None
    for event in experiment.events:
        if event.get("region") != region:
            continue
        if event["event"] == "health_ejected" and since is None:
            since = event["t"]
        elif event["event"] == "health_returned" and since is not None:
            periods.append((since, event["t"]))
            since = None
    if since is not None:
        periods.append((since, span_of(experiment)))
    return periods


def _fault_text(fault: Any) -> str:
    """`outage`, `error_rate 30%`, `latency +200 ms`."""
    if fault.error_rate is not None:
        return f"{fault.kind} {fault.error_rate:.0%}"
    if fault.latency_ms is not None:
        return f"{fault.kind} +{fault.latency_ms:g} ms"
    if fault.timeout_ms is not None:
        return f"{fault.kind} {fault.timeout_ms:g} ms"
    return str(fault.kind)


def legend(ax: Axes) -> None:
    """The axes' legend beside it, on the right."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        wrapped = [textwrap.fill(text, LEGEND_WIDTH, break_on_hyphens=False) for text in labels]
        ax.legend(
            handles, wrapped, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=LEGEND_FONT
        )
