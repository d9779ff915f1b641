"""Sweeps over scenario keys, with any executor, and `mrsandbox sweep`."""

from __future__ import annotations

import csv
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from sandbox.errors import InvalidScenario
from sandbox.experiment.scenario import load_scenario
from sandbox.experiment.sweeps import parse_vary, run_point, sweep, with_value

DOC = load_scenario("regional_outage").document


def test_parse_vary_reads_toml_scalars():
    assert parse_vary("health.interval_s=5,10,2.5") == ("health.interval_s", [5, 10, 2.5])
    assert parse_vary("routing.policy=latency,healthiest") == (
        "routing.policy",
        ["latency", "healthiest"],
    )
    for bad in ("health.interval_s", "=5", "health.interval_s="):
        with pytest.raises(InvalidScenario, match="expected KEY=V1,V2"):
            parse_vary(bad)


def test_with_value_sets_nested_keys_and_list_items_on_a_copy():
    doc = with_value(DOC, "faults[0].duration_s", 60)
    assert doc["faults"][0]["duration_s"] == 60 and DOC["faults"][0]["duration_s"] == 180
    assert with_value(DOC, "service.capacity", 2)["service"] == {"capacity": 2}
    with pytest.raises(InvalidScenario, match="the scenario has no faults\\[3\\]"):
        with_value(DOC, "faults[3].duration_s", 1)
    with pytest.raises(InvalidScenario, match="is not a key"):
        with_value(DOC, "health.in-terval", 1)


@pytest.mark.parametrize("executor", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_sweep_rows_match_single_runs_with_any_executor(executor):
    vary = [("health.interval_s", [5, 20]), ("health.failure_threshold", [1, 3])]
    with executor(max_workers=2) as pool:
        rows = sweep(DOC, "regional_outage", vary, pool)
    assert [(r["health.interval_s"], r["health.failure_threshold"]) for r in rows] == [
        (5, 1),
        (5, 3),
        (20, 1),
        (20, 3),
    ]
    one = run_point(
        with_value(with_value(DOC, "health.interval_s", 20), "health.failure_threshold", 3),
        "regional_outage",
    )
    assert {k: rows[3][k] for k in one} == one
    assert rows[3]["detection_s"] > rows[0]["detection_s"]


def test_a_bad_value_names_the_setting():
    with (
        ThreadPoolExecutor() as pool,
        pytest.raises(
            InvalidScenario, match=r"with health.interval_s=-1: regional_outage: health.interval_s"
        ),
    ):
        sweep(DOC, "regional_outage", [("health.interval_s", [5, -1])], pool)


def test_sweep_command(invoke, tmp_path):
    result = invoke(
        "sweep",
        "regional_outage",
        "--vary",
        "health.interval_s=5,10",
        "--vary",
        "health.failure_threshold=1,3",
        "--out",
        str(tmp_path),
        "--workers",
        "2",
    )
    assert result.exit_code == 0, result.output
    assert "health.interval_s | health.failure_threshold | seed | detection_s" in result.output
    with (tmp_path / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 3  # every combination with three seeds, the default
    assert [r["seed"] for r in rows[:3]] == [str(DOC["seed"] + i) for i in range(3)]
    assert rows[0]["health.interval_s"] == "5"
    for name in ("sweep_detection_s.png", "sweep_failed.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    bad = invoke("sweep", "regional_outage", "--vary", "health.intervl_s=5")
    assert bad.exit_code == 2 and "did you mean 'interval_s'" in bad.output
    assert invoke("sweep", "regional_outage").exit_code == 2


def test_a_sweep_that_varies_the_seed_shows_one_seed_column(invoke, tmp_path):
    args = ("sweep", "regional_outage", "--vary", "seed=4", "--seeds", "2", "--workers", "1")
    result = invoke(*args, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "detection_s" in line)
    assert header.startswith("seed | detection_s") and header.count("seed |") == 1, header
    with (tmp_path / "sweep.csv").open() as handle:
        columns, *rows = list(csv.reader(handle))
    assert columns.count("seed") == 1
    assert [row[columns.index("seed")] for row in rows] == ["4", "5"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("faults.duration_s", "faults is a list; name an item, e.g. faults[0]"),
        ("clients.rate_per_s", "clients is a list"),
        ("health.interval_s.x", "health.interval_s is not a table"),
    ],
)
def test_bad_paths_are_clean_errors(path, message):
    with pytest.raises(InvalidScenario, match=re.escape(message)):
        with_value(DOC, path, 1)


def test_a_key_or_value_given_twice_is_refused():
    with ThreadPoolExecutor() as pool:
        with pytest.raises(InvalidScenario, match="given twice"):
            sweep(DOC, "r", [("health.interval_s", [5]), ("health.interval_s", [10])], pool)
        with pytest.raises(InvalidScenario, match="a value is listed twice"):
            sweep(DOC, "r", [("health.interval_s", [5, 5])], pool)
