"""The jupyterquiz JSON we export, rendered by jupyterquiz's own JavaScript in headless Chromium:
a numeric question accepts exactly what the key accepts, both ends of its range included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jupyterquiz.dynamic.loader import load_questions_script
from jupyterquiz.dynamic.renderer import build_script, build_styles, render_div
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from sandbox.quiz.model import Question

DIV = "quizunderTest"
KEY = Question(id="n", text="How many seconds?", value=36.0, low=30.0, high=42.0, unit="s")
# A time past 1000 s to the millisecond, as a generated DNS question keys one: the key states
# every digit of its range's ends, and both ends as stated are right in jupyterquiz.
LATE = Question(id="t", text="Until when?", value=1612.877, low=1612.377, high=1613.377, unit="s")


def page(question: Question) -> str:
    """A page showing `question` as jupyterquiz shows it in a notebook."""
    prefix, static, url = load_questions_script([question.to_jupyterquiz()], DIV)
    script = build_script(prefix, static, url, DIV, True)
    div = render_div(DIV, False, False, False, 1_000_000, 600, 10, "left") + "</div>"
    styles = build_styles(DIV, {})
    return f"<!DOCTYPE html><html><body>{div}{styles}<script>{script}</script></body></html>"


def feedback(browser, path: Path, typed: str) -> str:
    """What the quiz at `path` says when `typed` is entered."""
    browser.get(path.as_uri())
    field = WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, f"#{DIV} input.Input-text")
    )[0]
    field.send_keys(typed, Keys.ENTER)
    return WebDriverWait(browser, 30).until(
        lambda b: next(
            (f.text for f in b.find_elements(By.CSS_SELECTOR, f"#{DIV} .Feedback") if f.text),
            None,
        )
    )


@pytest.mark.parametrize(
    "typed", ["30", "42", "36", "41.9999", "30.0000000001", "29.99", "42.01", "100", "-30"]
)
def test_a_numeric_range_is_judged_as_the_key_judges_it(browser, tmp_path, typed):
    path = Path(tmp_path) / "quiz.html"
    path.write_text(page(KEY))
    said = feedback(browser, path, typed)
    assert said.startswith("Correct") == KEY.check(typed), (typed, said)


def test_a_generated_numeric_question_takes_both_ends_of_its_range(browser, tmp_path):
    from sandbox.quiz.generate import generate

    question = next(q for seed in range(20) for q in generate(seed, 10).questions if q.value)
    path = Path(tmp_path) / "quiz.html"
    path.write_text(page(question))
    low, high = question.bounds
    step = (high - low) / 100 or 0.01
    for typed, right in ((low, True), (high, True), (low - step, False), (high + step, False)):
        said = feedback(browser, path, repr(typed))
        assert said.startswith("Correct") == right == question.check(repr(typed)), typed


def test_the_ends_the_key_states_are_right_in_jupyterquiz(browser, tmp_path):
    stated = re.fullmatch(r"(\S+) s \(right from (\S+) to (\S+) s\)", LATE.key)
    assert stated is not None, LATE.key
    path = Path(tmp_path) / "quiz.html"
    path.write_text(page(LATE))
    for typed in stated.groups():
        said = feedback(browser, path, typed)
        assert said.startswith("Correct") and LATE.check(typed), (typed, said)
