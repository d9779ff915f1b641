"""The figures of every bundled scenario, of rollouts side by side and of sweeps, checked for
what a reader needs: every mark in a legend, each fault and health event named once, labels
inside the frame, legends clear of the data, an empty chart saying so, numbers that agree with
the journal, the rule beside a sweep's measurements; and looked at in a real browser."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from selenium.webdriver.common.by import By

from sandbox.errors import InvalidScenario
from sandbox.experiment import (
    bundled_scenarios,
    load_scenario,
    parse_scenario,
    rollout_figure,
    run_experiment,
    sweep,
    sweep_figure,
)
from sandbox.experiment.plots import figures
from sandbox.experiment.sweeps import seeded

SCENARIOS = bundled_scenarios()


@pytest.fixture(scope="module")
def runs() -> dict:
    return {name: run_experiment(load_scenario(name)) for name in SCENARIOS}


def drawn(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def legend_texts(fig) -> list[str]:
    found = []
    for ax in fig.axes:
        if ax.get_legend() is not None:
            found += [t.get_text().replace("\n", " ") for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        found += [t.get_text().replace("\n", " ") for t in legend.get_texts()]
    return found


def check_layout(fig) -> None:
    """Every text inside the figure; no legend over any axes' data area."""
    renderer = drawn(fig)
    frame = fig.bbox
    unseen = set()  # labels of ticks outside the axes' view: never drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    unseen |= {id(tick.label1), id(tick.label2)}
    for text in fig.findobj(Text):
        if id(text) in unseen or not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        assert box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1, text.get_text()
        assert box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1, text.get_text()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    for legend, ax in itertools.product(legends, fig.axes):
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_figure_names_its_marks_and_keeps_them_in_the_frame(runs, name):
    experiment = runs[name]
    drawn_figures = figures(experiment)
    assert ("rollout.png" in drawn_figures) == (experiment.rollout is not None)
    scenario = experiment.scenario
    for file, fig in drawn_figures.items():
        check_layout(fig)
        if file == "rollout.png":
            continue
        texts = legend_texts(fig)
        assert len(texts) == len(set(texts)), f"{file}: an entry twice"
        windowed = [f for f in scenario.faults if f.fault.version is None]
        for fault in windowed:
            assert sum(f"{fault.fault.kind}" in t and f"in {fault.region} (" in t for t in texts)
        versioned = [f for f in scenario.faults if f.fault.version is not None]
        if versioned:
            entry = [t for t in texts if "(whenever it answers)" in t]
            assert len(entry) == 1 and all(f.region in entry[0] for f in versioned)
        for event in experiment.events:
            said = {
                "health_unhealthy": "marked unhealthy by probes",
                "health_healthy": "healthy again (probes)",
                "health_ejected": "ejected by outlier detection",
            }.get(event["event"])
            if said:
                assert f"{event['region']} {said}" in texts, (file, event)
    traffic = legend_texts(drawn_figures["traffic.png"])
    for region in scenario.regions:
        said = [t for t in traffic if t.startswith(f"served by {region}")]
        assert len(said) == 1
        if region not in experiment.deployment.routes:  # a region skipped says why
            assert "never sent users" in said[0]
    latency = legend_texts(drawn_figures["latency.png"])
    for client in experiment.log.clients:
        assert {f"users near {client}: p50", f"users near {client}: p95"} <= set(latency)


def test_a_chart_with_nothing_to_show_says_so(runs):
    experiment = runs["single_region_baseline"]
    assert experiment.journal["summary"]["failed"] == 0
    fig = figures(experiment)["errors.png"]
    said = [t.get_text() for t in fig.axes[0].texts]
    assert said == [f"No request failed: all {len(experiment.log)} requests were answered"]
    assert fig.axes[0].get_ylim()[0] == 0


def test_errors_show_who_failed(runs):
    experiment = runs["flaky_region_no_retries"]
    assert experiment.journal["summary"]["failed"] > 0
    fig = figures(experiment)["errors.png"]
    bars = [bar for container in fig.axes[0].containers for bar in container]
    width = bars[0].get_width() / 0.9
    total = sum(p.get_height() * width for p in bars)
    assert total == pytest.approx(experiment.journal["summary"]["failed"], rel=1e-6)
    assert any(t.startswith("users near ") for t in legend_texts(fig))


def test_canary_and_sequential_rollouts_of_a_bad_version_side_by_side(runs):
    canary, sequential = runs["bad_version_canary"], runs["bad_version_sequential"]
    fig = rollout_figure([canary, sequential])
    check_layout(fig)
    columns = {ax.get_title() for ax in fig.axes if ax.get_title()}
    for experiment in (canary, sequential):
        summary = experiment.journal["summary"]
        new = experiment.rollout.model.version
        said = (
            f"users: {summary['sent']} requests, {summary['failed']} failed in all;\n"
            f"{experiment.served_by(new)} served last by {new} "
            f"({summary['by_version'][new]['failed']} of them failed)"
        )
        assert any(said in title for title in columns), said
    texts = legend_texts(fig)
    for entry in (
        "bake (120 s)",
        "a wave starts",
        "canary: a share to 1.1.0",
        "rolled back to 1.0.0",
        "promoted: all traffic to 1.1.0",
        "served by 1.0.0: answered",
        "served by 1.1.0: answered",
        "served by 1.1.0: failed",
        "before the rollout: not recorded",
    ):
        assert entry in texts
    users_rows = [ax for ax in fig.axes if ax.get_ylabel().startswith("users")]
    assert len({ax.get_ylim() for ax in fig.axes[:1] + users_rows}) == 1
    assert canary.journal["summary"]["failed"] < sequential.journal["summary"]["failed"]
    with pytest.raises(ValueError, match="rolled a version out"):
        rollout_figure([runs["regional_outage"]])


def ttl_rows() -> list[dict]:
    scenario = load_scenario("outage_dns_ttl_60")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return sweep(
            scenario.document,
            scenario.source,
            [("routing.dns_ttl_s", [0, 30, 120])],
            pool,
            seeds=3,
        )


def test_a_ttl_sweep_draws_every_seed_beside_the_rule_and_the_ttl_term():
    rows = ttl_rows()
    assert len(rows) == 9 and len({r["seed"] for r in rows}) == 3
    for row in rows:  # the rule drawn beside the runs contains each of them
        assert 0 <= row["failover_s"] <= row["expected_failover_high_s"]
    fig = sweep_figure(rows, ["routing.dns_ttl_s"], "failover_s")
    check_layout(fig)
    texts = legend_texts(fig)
    assert "the TTL term alone (= dns_ttl_s)" in texts
    assert "rule: 0 to detection's bound + TTL" in texts
    assert "median of 3 seeds" in texts
    dots = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 9]
    assert len(dots) == 1  # every run a dot


def test_series_are_moved_apart_and_words_are_categories():
    rows = [
        {"routing.policy": p, "retries": r, "seed": s, "failed": 0}
        for p in ("latency", "failover")
        for r in (0, 1)
        for s in (1, 2)
    ]
    fig = sweep_figure(rows, ["routing.policy", "retries"], "failed")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["latency", "failover"]
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert len(lines) == 2 and lines[0].get_xdata()[0] != lines[1].get_xdata()[0]
    assert [t.get_text() for t in ax.texts] == ["failed is 0 in every run"]
    assert ax.get_ylim() == (0, 1)


@pytest.mark.parametrize("seeds", [0, 101, True, 2.5])
def test_bad_seed_counts_are_refused(seeds):
    with pytest.raises(InvalidScenario, match="seeds: expected a whole number from 1 to 100"):
        seeded([({}, {"seed": 0})], seeds)


def test_seeds_past_the_largest_are_refused(invoke):
    with pytest.raises(InvalidScenario, match="give the scenario a smaller seed"):
        seeded([({}, {"seed": 2**63 - 2})], 3)
    result = invoke("sweep", "regional_outage", "--vary", "health.interval_s=5", "--seeds", "0")
    assert result.exit_code == 2 and "--seeds" in result.output


def test_the_figures_look_right_in_a_browser_at_1280x720(runs, browser, tmp_path):
    """Every bundled scenario's figures in a page at a projector's size: each loads and fits."""
    images = []
    for name in SCENARIOS:
        for file, fig in figures(runs[name]).items():
            path = Path(tmp_path) / f"{name}-{file}"
            fig.savefig(path, dpi=100)
            images.append(path.name)
    page = Path(tmp_path) / "figures.html"
    page.write_text(
        "<!DOCTYPE html><html><body>"
        + "".join(f'<img src="{name}" alt="{name}">' for name in images)
        + "</body></html>"
    )
    browser.set_window_size(1280, 720)
    browser.get(page.as_uri())
    for img in browser.find_elements(By.TAG_NAME, "img"):
        width = browser.execute_script("return arguments[0].naturalWidth", img)
        assert 0 < width <= 1280, img.get_attribute("alt")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_an_experiment_with_a_rollout_writes_its_rollout_figure(invoke, tmp_path):
    result = invoke("experiment", "bad_version_canary", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for name in ("traffic.png", "latency.png", "errors.png", "rollout.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    plain = tmp_path / "plain"
    assert invoke("experiment", "regional_outage", "--out", str(plain)).exit_code == 0
    assert not (plain / "rollout.png").exists()


def test_a_region_no_user_reached_says_so():
    document = dict(load_scenario("bad_version_canary").document)
    document["clients"] = [{"region": "us-east-1", "rate_per_s": 5}]
    document["duration_s"] = 60
    experiment = run_experiment(parse_scenario(document, "one user group"))
    fig = rollout_figure([experiment])
    said = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("No user request reached" in text for text in said)
    assert all("us-east-1" not in text for text in said)
