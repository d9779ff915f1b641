"""One meaning of "served by a version" wherever a student reads it: the users' requests that
version served last, answered or failed (a failed attempt retried elsewhere counts for the
retry's version). `users_saw`, `Experiment.served_by`, the journal, the rollout figure and the
canary question's key and solution all count the same requests."""

from __future__ import annotations

import itertools
import re

import pytest

from sandbox.experiment import (
    load_scenario,
    parse_scenario,
    rollout_figure,
    run_experiment,
    users_saw,
    with_value,
)
from sandbox.quiz import generate
from sandbox.quiz.experiment_questions import CANARY

# A canary whose old version fails too (a fault on every version of eu-west-1, and no retries):
# both versions serve requests that fail.
MIXED = {
    "name": "both versions fail",
    "seed": 3,
    "duration_s": 120,
    "deployment": {"model": "model_v1", "regions": ["us-east-1", "eu-west-1"]},
    "rollout": {"model": "model_v1_1", "strategy": "canary", "canary_percent": 50, "bake_s": 20},
    "routing": {"policy": "latency", "retries": 0},
    "clients": [{"region": r, "rate_per_s": 10} for r in ("us-east-1", "eu-west-1")],
    "faults": [
        {"region": "eu-west-1", "kind": "error_rate", "error_rate": 0.5, "start_s": 0},
    ],
}


@pytest.fixture(scope="module")
def runs() -> list:
    scenarios = [load_scenario(f"bad_version_{s}") for s in ("canary", "sequential")]
    return [run_experiment(s) for s in [*scenarios, parse_scenario(MIXED, "test")]]


def served_last(table) -> dict[str, int]:
    """The `all` row of a users_saw table: version -> requests it served last."""
    everyone = dict(zip(table.headers, table.rows[-1], strict=True))
    pattern = re.compile(r"served last by (\S+) \(failed too\)")
    return {m.group(1): int(n) for h, n in everyone.items() if (m := pattern.fullmatch(h))}


def bars(fig) -> dict[str, int]:
    """The users' row of a one-run rollout figure: each legend entry's requests."""
    (users,) = [ax for ax in fig.axes if ax.get_ylabel().startswith("users")]
    return {
        bar.get_label(): round(sum(b.get_height() * b.get_width() for b in bar))
        for bar in users.containers
    }


def test_the_table_the_journal_and_the_figure_count_the_same_requests(runs):
    for run in runs:
        summary, new = run.journal["summary"], run.rollout.model.version
        table = users_saw(run.log)
        served = served_last(table)
        assert served == {v: run.served_by(v) for v in summary["by_version"]}
        assert served == {v: n["requests"] for v, n in summary["by_version"].items()}
        assert int(table.rows[-1][-1]) == summary["failed"]
        drawn = bars(rollout_figure([run]))
        for version, counted in summary["by_version"].items():
            answered = drawn.get(f"served by {version}: answered", 0)
            assert answered + drawn.get(f"served by {version}: failed", 0) == served[version]
            assert drawn.get(f"served by {version}: failed", 0) == counted["failed"]
        unserved = summary["failed"] - sum(n["failed"] for n in summary["by_version"].values())
        assert drawn.get("failed: no region served it", 0) == unserved
        assert sum(drawn.values()) == len(run.log) == summary["sent"]
        (title,) = [ax.get_title() for ax in rollout_figure([run]).axes if ax.get_title()]
        assert f"{run.served_by(new)} served last by {new}" in title
    mixed = runs[-1]
    by_version = mixed.journal["summary"]["by_version"]
    assert all(n["failed"] > 0 for n in by_version.values())  # both versions failed some
    assert len(by_version) == 2


@pytest.mark.parametrize(
    ("percent", "bake_s"), list(itertools.product(CANARY["canary_percent"], CANARY["bake_s"]))
)
def test_a_canary_question_s_solution_holds_for_every_setting_it_draws(percent, bake_s):
    document = load_scenario("bad_version_canary").document
    document = with_value(
        with_value(document, "rollout.canary_percent", percent), "rollout.bake_s", bake_s
    )
    run = run_experiment(parse_scenario(document, "test"))
    seen = sum(b["requests"] for b in run.rollout.bakes)
    failed = sum(b["failed"] for b in run.rollout.bakes)
    # every attempt at 1.1.0 came in a bake; each failed one was retried and 1.0.0 served it last
    assert 0 < failed < seen and run.served_by("1.1.0") == seen - failed
    assert run.journal["summary"]["by_version"]["1.1.0"]["failed"] == 0


def test_the_lesson_s_canary_questions_count_what_served_by_counts():
    sequential = run_experiment(load_scenario("bad_version_sequential"))
    exposed = sequential.served_by("1.1.0")
    failed = sequential.journal["summary"]["by_version"]["1.1.0"]["failed"]
    for q in generate(6, count=3, kinds=["canary"]).questions:  # the lesson's quiz
        percent = int(re.search(r"canary_percent=(\d+)", q.source).group(1))
        bake_s = int(re.search(r"bake_s=(\d+)", q.source).group(1))
        document = load_scenario("bad_version_canary").document
        document = with_value(document, "rollout.canary_percent", percent)
        run = run_experiment(parse_scenario(with_value(document, "rollout.bake_s", bake_s), "q"))
        caught = run.served_by("1.1.0")
        two_figures = round(caught, 2 - len(str(caught)))  # as the options show a number
        assert f"canary: about {two_figures:,};" in q.answer_text
        assert f"so {caught} requests count for 1.1.0" in q.solution[0]
        assert f"{failed:,} of the {exposed:,} requests 1.1.0 served last failed" in q.solution[1]
        assert "serve last" in q.text and "answered or failed" in q.text
