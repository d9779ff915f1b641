"""A run's journal as tables: each fault's row holds the journal's values, and the events table
lists the run's events in order, within the window asked for, saying who moved where."""

from __future__ import annotations

import pytest

from sandbox.experiment import event_table, fault_table, load_scenario, run_experiment


@pytest.fixture(scope="module")
def run():
    return run_experiment(load_scenario("outage_dns_ttl_60"))


def test_a_fault_row_holds_the_journals_values(run):
    table = fault_table(run)
    (fault,) = run.journal["summary"]["per_fault"]
    assert len(table.rows) == 1
    for key in table.headers:
        assert table.column(key) == [str(fault[key])]


def test_what_a_run_did_not_measure_is_a_dash():
    run = run_experiment(load_scenario("bad_version_sequential"))
    table = fault_table(run)
    assert table.rows, "the bad version's fault has a row"
    assert set(table.column("detection_s")) == {"-"}, "no probe sees a version's fault"


def test_events_come_in_time_order_and_say_who_moved_where(run):
    table = event_table(run)
    assert [float(t) for t in table.column("t (s)")] == [e["t"] for e in run.events]
    moves = [row for row in table.rows if row[1] == "routing_change"]
    assert moves, "with a TTL, the users near eu-west-1 move when their answer expires"
    first = next(e for e in run.events if e["event"] == "routing_change")
    assert moves[0][2] == f"users near {first['client']}"
    assert moves[0][3] == f"sent to {first['to']} (were sent to {first['from']})"
    ejected = table.column("event").index("health_ejected")
    assert table.rows[ejected][2:] == ("eu-west-1", "outlier")


def test_the_window_keeps_the_events_within_it_ends_included(run):
    fault = run.scenario.faults[0]
    table = event_table(run, fault.start_s, fault.end_s)
    times = [float(t) for t in table.column("t (s)")]
    assert times[0] == fault.start_s and times[-1] == fault.end_s
    inside = [e for e in run.events if fault.start_s <= e["t"] <= fault.end_s]
    assert len(table.rows) == len(inside) < len(run.events)
    assert event_table(run, until_s=0).rows == ()


@pytest.mark.parametrize(
    ("args", "error", "said"),
    [
        ({"since_s": 300, "until_s": 120}, ValueError, "since_s (300) is after until_s (120)"),
        ({"since_s": "120"}, TypeError, "since_s should be seconds"),
        ({"until_s": True}, TypeError, "until_s should be seconds"),
        ({"until_s": float("nan")}, TypeError, "until_s should be seconds"),
    ],
)
def test_a_bad_window_is_refused_naming_it(run, args, error, said):
    with pytest.raises(error, match=said.replace("(", r"\(").replace(")", r"\)")):
        event_table(run, **args)


@pytest.mark.parametrize("table", [fault_table, event_table])
def test_a_table_of_something_else_is_refused(table):
    with pytest.raises(TypeError, match="takes an experiment, as run_experiment returns"):
        table({"journal": {}})
