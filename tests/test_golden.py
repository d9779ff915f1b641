"""The lesson's own tables, reproduced cell for cell by a real run of `mrsandbox deploy`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def read_markdown(name: str) -> list[list[str]]:
    lines = (GOLDEN / name).read_text().splitlines()
    rows = [line.strip("|").split(" | ") for line in lines if not line.startswith("|---")]
    return [[cell.strip() for cell in row] for row in rows]


def lesson_lines() -> list[str]:
    text = (GOLDEN / "lesson_tables.txt").read_text().splitlines()
    return [line for line in text if not line.startswith("#")]


@pytest.mark.parametrize("name", ["lesson_process_table.md", "lesson_status_tracker.md"])
def test_golden_cells_are_the_lesson_verbatim(name):
    """The cell-split transcriptions run together into the lesson's printed lines."""
    joined = ["".join(row) for row in read_markdown(name)]
    lines = lesson_lines()
    start = lines.index(joined[0])
    assert lines[start : start + len(joined)] == joined


@pytest.fixture(scope="module")
def lesson_run():
    from click.testing import CliRunner

    from sandbox.cli import main

    result = CliRunner().invoke(
        main, ["deploy", "--regions", "us-east-1,eu-west-1", "model_v1", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_process_table_matches_lesson(lesson_run):
    golden = read_markdown("lesson_process_table.md")
    assert golden[0] == ["Step", "Action", "Region", "Result", "Next Step"]
    ours = [
        [str(s["step"]), s["action"], s["region"], s["result"], s["next_step"]]
        for s in lesson_run["steps"]
    ]
    assert ours == golden[1:]
    assert len(ours) == 8


def test_status_tracker_matches_lesson(lesson_run):
    golden = read_markdown("lesson_status_tracker.md")
    tracker = lesson_run["tracker"]
    assert ["Variable", *tracker["columns"]] == golden[0]
    assert [[r["variable"], *r["values"]] for r in tracker["rows"]] == golden[1:]


def test_markdown_output_is_the_golden_text(invoke):
    result = invoke(
        "deploy", "--regions", "us-east-1,eu-west-1", "model_v1", "--format", "markdown"
    )
    assert result.exit_code == 0
    for name in ("lesson_process_table.md", "lesson_status_tracker.md"):
        assert (GOLDEN / name).read_text().strip() in result.output
