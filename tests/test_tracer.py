"""The tracer's record and the tables rendered from it."""

from __future__ import annotations

import json

import pytest

from sandbox import Failure, run_deployment
from sandbox.flow.tables import Table
from sandbox.flow.tracer import display


def test_display_strings_are_the_lessons():
    assert display(True) == "true" and display(False) == "false"
    assert display({"us-east-1": "success"}) == "{'us-east-1': 'success'}"
    assert display(["a", "b"]) == "['a', 'b']"
    assert display({}) == "{}"


def test_checkpoints_follow_each_regions_last_step():
    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    trace = run_deployment(regions).trace
    assert trace.checkpoints() == [
        ("Start", 0),
        ("After Step 3", 3),
        ("After Step 5", 5),
        ("After Step 7", 7),
        ("After Step 8", 8),
        ("Final", 10),
    ]


def test_checkpoints_count_retries_with_their_region():
    trace = run_deployment(
        ["us-east-1", "eu-west-1"], failures=[Failure("us-east-1", "deploy", 1)]
    ).trace
    assert [label for label, _ in trace.checkpoints()] == [
        "Start",
        "After Step 4",
        "After Step 6",
        "After Step 7",
        "Final",
    ]


def test_checkpoints_of_a_halted_run_end_at_final():
    trace = run_deployment(
        ["us-east-1"], on_failure="stop", failures=[Failure("us-east-1", "deploy")]
    ).trace
    assert trace.checkpoints() == [("Start", 0), ("After Step 2", 2), ("Final", 3)]


def test_snapshots_are_copies_not_references():
    d = run_deployment(["us-east-1", "eu-west-1"])
    first = d.trace.snapshots[2]["deployment_status"]
    d.deployment_status["us-east-1"] = "tampered"
    assert first == {"us-east-1": "success"}
    assert d.trace.snapshots[0]["deployment_status"] == {}


def test_render_formats_and_bad_ones():
    trace = run_deployment(["us-east-1"]).trace
    assert json.loads(trace.render("json"))["outcome"] == "complete"
    assert trace._repr_html_().count("<table>") == 2
    assert str(trace) == trace.render("text")
    assert (
        repr(trace)
        == "<Trace Deployment of model_v1 (version 1.0.0) to us-east-1: 6 steps, complete>"
    )
    with pytest.raises(ValueError, match="format must be one of"):
        trace.render("yaml")
    with pytest.raises(ValueError, match="tracker must be one of"):
        trace.status_tracker("some")


def test_table_text_is_aligned():
    table = Table("T", ("a", "long header"), (("xxxxx", "1"), ("y", "22")))
    lines = table.to_text().splitlines()
    assert lines[0] == "T"
    assert lines[1] == "a     | long header"
    assert lines[2] == "------+------------"
    assert lines[3].index("|") == lines[4].index("|") == 6


def test_table_escapes_markdown_and_html():
    table = Table("<T>", ("a|b",), (("<script>",),))
    assert "a\\|b" in table.to_markdown()
    assert "&lt;script&gt;" in table.to_html() and "<script>" not in table.to_html()
    assert table._repr_html_() == table.to_html()
    assert table.column("a|b") == ["<script>"]


def test_table_refuses_ragged_rows():
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        Table("T", ("a", "b"), (("x",),))


def test_process_table_with_simulated_times():
    trace = run_deployment(["us-east-1", "eu-west-1"], seed=3).trace
    table = trace.process_table(times=True)
    assert table.headers[-1] == "t (s)"
    assert table.column("t (s)") == [f"{s.t:.3f}" for s in trace.steps]
    assert [float(t) for t in table.column("t (s)")] == sorted(s.t for s in trace.steps)
