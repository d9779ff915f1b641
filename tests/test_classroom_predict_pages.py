"""Predict, then observe, on the class's two pages in a real headless Chromium against a real
live fleet: the board opens a prediction from its panel; a student's page, open since before,
shows the two new questions without a reload and without losing the student's place; the student
answers them on the page while another answers over HTTP; the board shows how the room answered;
the board observes (the outage injected on the fleet) and sets what the fleet did beside the
room's answers, with how many were right; the student sees the fleet's answer as feedback. Also:
a board without a fleet shows no prediction panel."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from sandbox import dashboard
from sandbox.classroom.predict import Observer
from sandbox.flow.sample import run_deployment
from sandbox.live import LiveFleet
from tests.test_classroom_pages import (
    Class,
    choose,
    foreign,
    join_on_page,
    serving,
    severe,
    shown,
    text,
    wait,
)

REGIONS = ["us-east-1", "eu-west-1"]
OBSERVE_WAIT_S = 180.0  # the outage injected and the users followed, on a busy 2-core machine


@pytest.fixture
def live(tmp_path, browser) -> Iterator[Class]:
    """A class on the visual set with a live fleet beside it (model_v1 deployed, its dashboard
    following), as `class serve --regions` runs one; everything stopped at the end."""
    fleet = LiveFleet(REGIONS, time_scale=0.05)
    board = dashboard.mount(fleet)
    browser.get_log("browser")
    served = None
    with fleet:
        try:
            board.follow(run_deployment(REGIONS, "model_v1", backend=fleet))
            served = Class(tmp_path / "class.sqlite", observer=Observer(fleet, board))
            yield served
        finally:
            browser.get("about:blank")  # no page polling a stopped server into the next test
            if served is not None:
                served.close()
            board.close()


def block(browser, selector: str) -> str:
    return text(browser, f'[data-prediction="p1"] {selector}')


def numbers(said: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", said)]


def test_the_room_predicts_on_its_pages_then_the_fleet_answers(browser, live):
    url, room = live.url, live.room
    size = room.size
    student_tab = browser.current_window_handle
    join_on_page(browser, url, "ada")
    browser.find_element(By.ID, "next").click()  # on q2 when the prediction opens
    q2 = room.questions("ada", "ada")["q2"].text
    wait(browser, lambda b: text(b, "#question-text") == q2)
    browser.execute_script("window.sameTab = true;")  # gone if the page were reloaded
    browser.switch_to.new_window("tab")
    board_tab = browser.current_window_handle
    try:
        # The board opens a prediction from its panel: users near eu-west-1, eu-west-1 fails.
        browser.get(f"{url}/class/board#token={room.instructor_token}")
        wait(browser, lambda b: shown(b, "predict"))
        near, fail = (
            Select(browser.find_element(By.ID, "predict-near")),
            Select(browser.find_element(By.ID, "predict-fail")),
        )
        assert [o.text for o in near.options] == REGIONS
        assert [o.text for o in fail.options] == REGIONS
        near.select_by_value("eu-west-1")
        fail.select_by_value("eu-west-1")
        browser.find_element(By.ID, "predict-open").click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, '[data-prediction="p1"]'))
        assert "eu-west-1 fails" in block(browser, ".prompt")
        assert "users near eu-west-1" in block(browser, ".prompt")
        assert browser.find_element(By.CSS_SELECTOR, '[data-observe="p1"]').is_enabled()
        assert severe(browser) == []

        # The student's page picks the two questions up at its next poll, where it was.
        browser.switch_to.window(student_tab)
        wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#places button")) == size + 2)
        assert browser.execute_script("return window.sameTab") is True
        assert text(browser, "#question-text") == q2
        assert text(browser, "#progress") == f"Question 2 of {size + 2}"
        assert f"questions {size + 1} to {size + 2}" in text(browser, "#news")
        browser.find_element(By.CSS_SELECTOR, f'[data-goto="{size}"]').click()
        wait(browser, lambda b: "Which region" in text(b, "#question-text"))
        assert "users near eu-west-1" in text(browser, "#question-text")
        options = browser.find_elements(By.CSS_SELECTOR, "#options button")
        assert [o.text.split("\n")[-1] for o in options] == REGIONS
        assert not shown(browser, "feedback")
        choose(browser, REGIONS.index("us-east-1"))
        browser.find_element(By.ID, "next").click()
        wait(browser, lambda b: "how many seconds" in text(b, "#question-text"))
        assert not shown(browser, "options") and text(browser, "#unit") == "s"
        browser.find_element(By.ID, "number-answer").send_keys("5")
        browser.find_element(By.ID, "save-number").click()
        wait(browser, lambda b: text(b, "#saved") == "Saved.")
        bob = live.join("bob")
        live.answer(bob, "p1-where", REGIONS.index("eu-west-1"))
        live.answer(bob, "p1-when", 250)
        assert severe(browser) == []
        assert foreign(browser, url) == []

        # The board shows how the room answered: a bar per region, the spread of the times.
        browser.switch_to.window(board_tab)
        region = '[data-prediction="p1"] li[data-region="{}"] .count'
        wait(browser, lambda b: all(text(b, region.format(r)) == "1" for r in REGIONS))
        wait(browser, lambda b: "2 answered" in block(b, ".tally.when"))
        assert block(browser, ".median") == "median 127.5 s"
        assert block(browser, ".range") == "from 5 s to 250 s"
        fleet_answer = '[data-prediction="p1"] .fleet-answer'
        assert not browser.find_element(By.CSS_SELECTOR, fleet_answer).is_displayed()

        # Observe: the button waits while the fleet runs the outage, then the fleet's answer.
        observe = browser.find_element(By.CSS_SELECTOR, '[data-observe="p1"]')
        observe.click()
        running = browser.execute_script(
            "const b = document.querySelector('[data-prediction=\"p1\"]');"
            "return [b.querySelector('[data-observe]').disabled,"
            " b.querySelector('.observing').textContent];"
        )
        assert running == [True, "The fleet is running the outage…"]
        wait(
            browser,
            lambda b: b.find_element(By.CSS_SELECTOR, fleet_answer).is_displayed(),
            OBSERVE_WAIT_S,
        )
        (prediction,) = room.predictions.all()
        assert prediction.observed and prediction.served_by in REGIONS
        wait(browser, lambda b: text(b, '[data-observe="p1"]') == "Observed")
        assert not browser.find_element(By.CSS_SELECTOR, '[data-observe="p1"]').is_enabled()
        assert text(browser, "#message") == ""
        said = block(browser, ".served-by")
        assert f"sent to {prediction.served_by} first" in said
        assert f"{prediction.seconds:g} s after eu-west-1 failed" in said
        low, high = prediction.bounds()
        assert numbers(block(browser, ".right-range")) == pytest.approx([low, high], abs=0.051)
        where_right = sum(
            prediction.right("p1-where", REGIONS.index(r)) for r in ("us-east-1", "eu-west-1")
        )
        when_right = sum(prediction.right("p1-when", s) for s in (5, 250))
        assert block(browser, ".right-count") == (
            f"Right: {where_right} of 2 on where, {when_right} of 2 on when."
        )
        served = f'[data-prediction="p1"] li[data-region="{prediction.served_by}"]'
        assert "right" in browser.find_element(By.CSS_SELECTOR, served).get_attribute("class")
        assert "where the fleet sent them" in text(browser, served)
        assert severe(browser) == []
        assert foreign(browser, url) == []

        # The student's page: the fleet's answer as feedback, scored.
        browser.switch_to.window(student_tab)
        wait(browser, lambda b: shown(b, "feedback"), OBSERVE_WAIT_S)  # on p1-when still
        feedback = text(browser, "#feedback")
        assert feedback.startswith("Right" if prediction.right("p1-when", 5) else "Wrong")
        assert prediction.told("p1-when") in feedback
        browser.find_element(By.ID, "prev").click()
        wait(browser, lambda b: "Which region" in text(b, "#question-text"))
        wait(browser, lambda b: shown(b, "feedback"))
        feedback = text(browser, "#feedback")
        assert feedback.startswith("Right" if prediction.served_by == "us-east-1" else "Wrong")
        assert prediction.told("p1-where") in feedback
        key = f'#options button[data-index="{REGIONS.index(prediction.served_by)}"]'
        assert "key" in browser.find_element(By.CSS_SELECTOR, key).get_attribute("class")
        assert text(browser, "#score").endswith("of 2 revealed questions")
        assert browser.execute_script("return window.sameTab") is True
        assert severe(browser) == []
        assert foreign(browser, url) == []
    finally:
        if board_tab in browser.window_handles:
            browser.switch_to.window(board_tab)
            browser.close()
        browser.switch_to.window(student_tab)


def test_a_board_without_a_fleet_shows_no_prediction_panel(browser, tmp_path):
    with serving(browser, tmp_path / "c.sqlite") as served:
        served.answer(served.join("ada"), "q1", 0)
        browser.get(f"{served.url}/class/board#token={served.room.instructor_token}")
        wait(browser, lambda b: text(b, "#answered") == "1")
        assert not shown(browser, "predict")
        assert browser.find_elements(By.CSS_SELECTOR, "[data-prediction]") == []
        assert severe(browser) == []
