"""An exercise's check: right, not right, or not answered yet, whatever a student typed."""

from __future__ import annotations

import math

import pytest

from sandbox.course import (
    Verdict,
    check_between,
    check_change,
    check_choice,
    check_number,
    check_set,
)


@pytest.mark.parametrize(
    ("answer", "right"), [(12, True), (9.0, True), (15, True), (15.01, False), (-12, False)]
)
def test_a_number_counts_within_its_margin_both_ends_included(answer, right):
    verdict = check_number(answer, 12.0, within=3, what="the detection time", unit="s")
    assert verdict.right is right
    assert "12 s" in verdict.reason and "within 3 s" in verdict.reason
    assert str(verdict).startswith("Right: " if right else "Not quite: ")


@pytest.mark.parametrize("answer", [None, ..., "twelve", True, math.nan, math.inf, [12]])
def test_a_number_not_given_is_not_answered_and_says_what_to_type(answer):
    verdict = check_number(answer, 12.0, within=3, what="the detection time", unit="s")
    assert verdict.right is None
    assert "detection time" in verdict.reason and "number" in verdict.reason
    assert str(verdict).startswith("Not answered: ")


def test_a_choice_ignores_case_and_spaces_and_names_the_options_when_unknown():
    options = ["eu-west-1", "us-east-1"]
    assert check_choice(" EU-West-1 ", "eu-west-1", options=options, what="r").right is True
    assert check_choice("us-east-1", "eu-west-1", options=options, what="r").right is False
    for typed in (None, "mars-1", 3):
        verdict = check_choice(typed, "eu-west-1", options=options, what="the region")
        assert verdict.right is None
        assert "'eu-west-1', 'us-east-1'" in verdict.reason


@pytest.mark.parametrize(
    ("before", "after", "moved"), [(10, 30, "up"), (30, 10, "down"), (10, 10.5, "same")]
)
def test_a_change_is_judged_by_the_two_runs(before, after, moved):
    for answer in ("up", "down", "same"):
        verdict = check_change(answer, before, after, what="detection", unit="s", same_within=1)
        assert verdict.right is (answer == moved), verdict
        assert f"{moved!r}" in verdict.reason


def test_a_change_waits_for_the_parameter_to_change_and_for_a_direction():
    waiting = check_change("up", 10, 10, what="detection", changed=(5, 5))
    assert waiting.right is None and "change the parameter from 5" in waiting.reason
    for typed in (None, "higher", 1):
        verdict = check_change(typed, 10, 20, what="detection", changed=(5, 10))
        assert verdict.right is None and "'up', 'down', 'same'" in verdict.reason


def test_a_verdict_shows_as_html_with_what_was_typed_escaped():
    verdict = check_choice("<b>", "a", options=["a"], what="x")
    assert isinstance(verdict, Verdict)
    shown = verdict._repr_html_()
    assert "<b>" not in shown.replace("<strong>", "") and "&lt;b&gt;" in shown
    assert "Not answered" in shown


def test_a_run_that_measured_nothing_is_not_judged():
    for verdict in (
        check_number(3, None, within=1, what="the detection time"),
        check_change("up", None, 3.0, what="the detection time"),
        check_change("up", 3.0, None, what="the detection time"),
    ):
        assert verdict.right is None and "measured nothing for the detection time" in verdict.reason


def test_a_choice_waits_for_the_setting_to_change_and_for_a_run_that_measured_something():
    options = ["success", "failed"]
    waiting = check_choice("success", "success", options=options, what="s", changed=("a", "a"))
    assert waiting.right is None and "change the parameter from 'a'" in waiting.reason
    assert check_choice("success", "success", options=options, what="s", changed=("a", "b")).right
    nothing = check_choice("failed", None, options=options, what="the status")
    assert nothing.right is None and "measured nothing for the status" in nothing.reason
    assert "type your prediction" in check_choice(None, None, options=options, what="s").reason


@pytest.mark.parametrize(
    ("answer", "right"), [(15.2, True), (20.3, True), (15.1, False), (21, False)]
)
def test_a_prediction_between_the_rules_bounds_counts_both_ends_included(answer, right):
    verdict = check_between(answer, 15.2, 20.3, what="the detection time", unit="s", measured=17)
    assert verdict.right is right and "from 15.2 s to 20.3 s" in verdict.reason
    assert "measured 17 s" in verdict.reason
    assert check_between("soon", 15.2, 20.3, what="the detection time").right is None


REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        ("ap-northeast-1, eu-west-1", True),
        (["EU-WEST-1 ", "ap-northeast-1"], True),
        ({"eu-west-1"}, False),
        ("us-east-1,eu-west-1,ap-northeast-1", False),
    ],
)
def test_a_set_is_judged_in_any_order(answer, right):
    verdict = check_set(answer, ["eu-west-1", "ap-northeast-1"], options=REGIONS, what="regions")
    assert verdict.right is right, verdict


@pytest.mark.parametrize("answer", [None, "mars-1", ["eu-west-1", 3], 7])
def test_a_set_not_given_or_with_unknown_items_says_what_to_type(answer):
    verdict = check_set(answer, ["eu-west-1"], options=REGIONS, what="the regions rolled back")
    assert verdict.right is None and "'us-east-1'" in verdict.reason
