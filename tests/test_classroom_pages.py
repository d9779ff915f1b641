"""The class's two pages in a real headless Chromium (the shared `browser` fixture: skipped with
the reason where there is none, a failure in CI), against a class served in this process: a
student joins and answers on the page while another answers over HTTP; the board's counts and
misconceptions follow; the instructor reveals q1 from the board; the student's page then shows
q1's feedback and not q2's, and refuses a new answer to q1. Also: the token out of the board's
address, the gradebook downloaded with the bearer header, a number answered with its unit, ids
shown as text, both pages fitting a phone and a 1280x720 projector, and nothing loaded from
another host."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from sandbox.classroom.app import STATIC, class_app
from sandbox.classroom.predict import Observer
from sandbox.classroom.room import Room
from sandbox.classroom.store import Store
from sandbox.live.server import ServerThread
from sandbox.quiz.misconceptions import MISCONCEPTIONS

STATIC_DIR = Path(__file__).resolve().parent.parent / "sandbox" / "classroom" / "static"
WAIT_S = 30.0  # the pages poll every 2 s; a busy 2-core machine
REDRAWN = (StaleElementReferenceException,)  # blocks are redrawn when their numbers change
PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
PROJECTOR = {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False}


class Class:
    """A class served in this process: its room, its server, and requests as a student;
    `observer`: a live fleet beside it, for predictions (None: no fleet)."""

    def __init__(
        self,
        path: Path,
        set_name: str = "visual",
        count: int | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.store = Store(path)
        self.room = Room(self.store, set_name, count, observer=observer)
        self.server = ServerThread(class_app(self.room)).start()
        self.url = self.server.url

    def close(self) -> None:
        self.server.stop()
        self.store.close()

    def join(self, student: str) -> dict[str, str]:
        """The headers of `student`, joined over HTTP."""
        reply = requests.post(f"{self.url}/class/api/join", json={"student": student}, timeout=30)
        reply.raise_for_status()
        return {"Authorization": f"Bearer {reply.json()['token']}"}

    def answer(self, headers: dict[str, str], question: str, answer: float) -> None:
        reply = requests.post(
            f"{self.url}/class/api/answers",
            json={"question": question, "answer": answer},
            headers=headers,
            timeout=30,
        )
        assert reply.status_code == 201, reply.text

    def option(self, student: str, qid: str, *, correct: bool) -> tuple[int, str | None]:
        """(index, misconception) of a right or a wrong option in `student`'s variant."""
        options = self.room.questions(student, student)[qid].options
        return next((i, o.misconception) for i, o in enumerate(options) if o.correct == correct)


@contextlib.contextmanager
def serving(browser, path: Path, set_name: str = "visual", count: int | None = None):
    """A class for one test: the browser's log emptied first; at the end, the browser left on
    a blank page (no page polling a stopped server into the next test) at its own size."""
    served = Class(path, set_name, count)
    browser.get_log("browser")
    try:
        yield served
    finally:
        browser.get("about:blank")
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        served.close()


@pytest.fixture
def served(tmp_path, browser):
    """A class on the visual set."""
    with serving(browser, tmp_path / "c.sqlite") as served:
        yield served


def wait(browser, until, timeout: float = WAIT_S):
    return WebDriverWait(browser, timeout, 0.1, REDRAWN).until(until)


def text(browser, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def shown(browser, element_id: str) -> bool:
    return browser.find_element(By.ID, element_id).is_displayed()


def join_on_page(browser, url: str, student: str) -> None:
    browser.get(f"{url}/class")
    browser.find_element(By.ID, "student-id").send_keys(student)
    browser.find_element(By.ID, "join").click()
    wait(browser, lambda b: text(b, "#question-text") != "")


def choose(browser, index: int) -> None:
    """Click an option of the question shown and wait until the page says it is saved."""
    button = f'#options button[data-index="{index}"]'
    browser.find_element(By.CSS_SELECTOR, button).click()
    wait(browser, lambda b: text(b, "#saved") == "Saved.")
    assert browser.find_element(By.CSS_SELECTOR, button).get_attribute("aria-pressed") == "true"


def severe(browser, allowed: str = r"^$") -> list[str]:
    """The console's SEVERE entries since the last call, but those matching `allowed`."""
    return [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and not re.search(allowed, e["message"])
    ]


def foreign(browser, url: str) -> list[str]:
    """Every resource the page loaded from anywhere but `url`."""
    loaded = browser.execute_script(
        "return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)];"
    )
    return [name for name in loaded if not name.startswith(f"{url}/")]


def test_a_class_answers_the_board_follows_and_a_reveal_shows_feedback(browser, served):
    url, room = served.url, served.room
    student_tab = browser.current_window_handle
    join_on_page(browser, url, "ada")
    assert text(browser, "#question-text") == room.questions("ada", "ada")["q1"].text
    assert not shown(browser, "feedback")
    wrong, misconception = served.option("ada", "q1", correct=False)
    choose(browser, wrong)
    browser.find_element(By.ID, "next").click()
    wait(browser, lambda b: text(b, "#question-text") == room.questions("ada", "ada")["q2"].text)
    choose(browser, 0)
    # A reload keeps the student in the class, on the same question, their choice marked.
    browser.refresh()
    wait(browser, lambda b: text(b, "#question-text") == room.questions("ada", "ada")["q2"].text)
    chosen = '#options button[data-index="0"][aria-pressed="true"]'
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, chosen))
    assert not shown(browser, "join-form")
    bob = served.join("bob")
    served.answer(bob, "q1", served.option("bob", "q1", correct=True)[0])

    # The board, in a tab of its own: its token taken out of the address at once.
    browser.switch_to.new_window("tab")
    board_tab = browser.current_window_handle
    browser.get(f"{url}/class/board#token={room.instructor_token}")
    wait(browser, lambda b: text(b, "#joined") == "2" and text(b, "#answered") == "2")
    assert "token" not in browser.current_url
    assert room.instructor_token not in browser.current_url
    browser.refresh()  # the token kept for the tab: a reload still shows the room
    wait(browser, lambda b: text(b, "#joined") == "2" and text(b, "#answered") == "2")
    assert not shown(browser, "token-form")
    q1 = '[data-question="q1"]'
    assert "2 answered" in text(browser, f"{q1} .tally")
    assert "1 right" in text(browser, f"{q1} .tally")
    bar = f'{q1} li[data-misconception="{misconception}"]'
    assert text(browser, f"{bar} .count") == "1"
    assert misconception in text(browser, f"{bar} .name")
    assert text(browser, f"{bar} .belief") == MISCONCEPTIONS[misconception]
    # An answer given while the board is open shows at its next poll.
    q2 = '[data-question="q2"]'
    assert "1 answered" in text(browser, f"{q2} .tally")
    served.answer(bob, "q2", 1)
    wait(browser, lambda b: "2 answered" in text(b, f"{q2} .tally"))
    # The reveal, clicked on the board.
    reveal = browser.find_element(By.CSS_SELECTOR, '[data-reveal="q1"]')
    assert reveal.is_enabled()
    reveal.click()
    wait(browser, lambda b: text(b, '[data-reveal="q1"]') == "Revealed")  # drawn from results
    assert not browser.find_element(By.CSS_SELECTOR, '[data-reveal="q1"]').is_enabled()
    assert room.store.revealed() == {"q1"}
    assert browser.find_element(By.CSS_SELECTOR, '[data-reveal="q2"]').is_enabled()
    assert severe(browser) == []
    assert foreign(browser, url) == []

    # Back on the student's page: q1's feedback (at the next poll), none for q2.
    browser.switch_to.window(student_tab)
    browser.find_element(By.ID, "prev").click()
    wait(browser, lambda b: shown(b, "feedback"))
    feedback = text(browser, "#feedback")
    options = room.questions("ada", "ada")["q1"].options
    assert feedback.startswith("Wrong")
    assert options[wrong].feedback in feedback
    assert next(o.text for o in options if o.correct) in feedback
    assert text(browser, "#score") == "Score: 0 of 1 revealed question"
    browser.find_element(By.ID, "next").click()
    wait(browser, lambda b: text(b, "#question-text") == room.questions("ada", "ada")["q2"].text)
    assert not shown(browser, "feedback")
    # A new answer to q1 is refused (409) and the page says so; the stored one stays.
    browser.find_element(By.ID, "prev").click()
    wait(browser, lambda b: shown(b, "feedback"))
    right = next(i for i, o in enumerate(options) if o.correct)
    browser.find_element(By.CSS_SELECTOR, f'#options button[data-index="{right}"]').click()
    wait(browser, lambda b: "this question was revealed" in text(b, "#saved"))
    assert room.store.answers("ada") == {"ada": {"q1": json.dumps(wrong), "q2": "0"}}
    chosen = f'#options button[data-index="{wrong}"][aria-pressed="true"]'
    assert browser.find_elements(By.CSS_SELECTOR, chosen)
    # The only console error: the browser's own line about that 409.
    assert severe(browser, allowed=r"/class/api/answers .*409") == []
    assert foreign(browser, url) == []
    browser.switch_to.window(board_tab)
    browser.close()
    browser.switch_to.window(student_tab)


def test_the_board_downloads_the_gradebook_with_its_token(browser, served, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        for student in ("ada", "bob"):
            served.answer(served.join(student), "q1", 0)
        browser.get(f"{served.url}/class/board#token={served.room.instructor_token}")
        wait(browser, lambda b: text(b, "#answered") == "2")
        browser.find_element(By.ID, "gradebook").click()
        saved = downloads / "gradebook.csv"
        wait(browser, lambda _: saved.exists() and saved.read_text().count("\n") == 3)
    finally:
        browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})
    assert saved.read_text().replace("\r\n", "\n") == served.room.gradebook().replace("\r\n", "\n")
    assert severe(browser) == []


def test_a_board_without_its_token_asks_for_it(browser, served):
    browser.get(f"{served.url}/class/board")
    wait(browser, lambda b: shown(b, "token-form"))
    assert "instructor token" in text(browser, "#message")
    browser.find_element(By.ID, "token").send_keys(served.room.instructor_token)
    browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
    wait(browser, lambda b: not shown(b, "token-form"))
    assert text(browser, "#message") == ""
    assert severe(browser, allowed=r"/class/api/results .*40[13]") == []


def test_the_board_lets_a_student_whose_page_was_lost_in_again(browser, served):
    old = served.join("ada")
    again = requests.post(f"{served.url}/class/api/join", json={"student": "Ada"}, timeout=30)
    assert again.status_code == 409
    browser.get(f"{served.url}/class/board#token={served.room.instructor_token}")
    wait(browser, lambda b: not shown(b, "token-form"))
    browser.find_element(By.ID, "release-id").send_keys("Ada")
    browser.find_element(By.ID, "release").click()
    wait(browser, lambda b: text(b, "#message") == "Ada can join again.")
    assert requests.get(f"{served.url}/class/api/me", headers=old, timeout=30).status_code == 403
    assert served.join("ada")  # a new token, the answers kept
    browser.find_element(By.ID, "release-id").send_keys("nobody")
    browser.find_element(By.ID, "release").click()
    wait(browser, lambda b: "has not joined" in text(b, "#message"))
    assert severe(browser, allowed=r"/class/api/release .*404") == []


def test_a_numeric_question_takes_a_number_with_its_unit(browser, tmp_path):
    with serving(browser, tmp_path / "n.sqlite", "generated", 4) as served:
        # The first of a few ids whose variant has a numeric question (drawn from the id).
        student, qid, question = next(
            (s, qid, q)
            for s in ("ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal")
            for qid, q in served.room.questions(s, s).items()
            if q.type == "numeric"
        )
        join_on_page(browser, served.url, student)
        while text(browser, "#question-text") != question.text:
            browser.find_element(By.ID, "next").click()
        assert not shown(browser, "options")
        assert text(browser, "#unit") == question.unit
        browser.find_element(By.ID, "save-number").click()  # nothing typed
        wait(browser, lambda b: "type a number" in text(b, "#saved"))
        browser.find_element(By.ID, "number-answer").send_keys(f"{question.value:g}")
        browser.find_element(By.ID, "save-number").click()
        wait(browser, lambda b: text(b, "#saved") == "Saved.")
        assert json.loads(served.room.store.answers(student)[student][qid]) == question.value
        served.room.reveal(qid)
        wait(browser, lambda b: shown(b, "feedback"))
        assert text(browser, "#feedback").startswith("Right")
        assert question.key in text(browser, "#feedback")
        assert severe(browser) == []


def test_ids_are_shown_as_text(browser, served):
    student = '<img src="/x" onerror="window.hacked = 1">&amp;'
    join_on_page(browser, served.url, student)
    assert text(browser, "#who") == f"Signed in as {student}"
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert browser.execute_script("return window.hacked") is None
    assert severe(browser) == []


@pytest.mark.parametrize("screen", [PHONE, PROJECTOR], ids=["phone", "projector"])
def test_the_pages_fit_a_phone_and_a_projector(browser, served, screen):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", screen)
    for student in ("ada", "bob"):  # wrong answers: the board draws their misconceptions
        served.answer(served.join(student), "q1", served.option(student, "q1", correct=False)[0])
    join_on_page(browser, served.url, "cy")
    wide = "return document.documentElement.scrollWidth > innerWidth"
    assert not browser.execute_script(wide)  # the code block scrolls, not the page
    for selector in ("#options button", "#next", "#prev"):
        for element in browser.find_elements(By.CSS_SELECTOR, selector):
            box = element.rect
            assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], selector
            assert box["height"] >= 40, f"{selector}: a finger's height"
    browser.get(f"{served.url}/class/board#token={served.room.instructor_token}")
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "[data-question]")) == 3)
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-misconception]"))
    assert not browser.execute_script(wide)
    size = "return parseFloat(getComputedStyle(arguments[0]).fontSize)"
    for element in browser.find_elements(By.CSS_SELECTOR, ".tally, .bar .name, #joined"):
        assert browser.execute_script(size, element) >= 18
    if screen is PROJECTOR:  # every question on one screen, no scrolling
        for block in browser.find_elements(By.CSS_SELECTOR, "[data-question]"):
            assert block.rect["y"] + block.rect["height"] <= screen["height"]
    assert severe(browser) == []
    assert foreign(browser, served.url) == []


def test_the_pages_name_no_other_host():
    assert sorted(p.name for p in STATIC_DIR.iterdir()) == sorted(STATIC)
    for name in STATIC:
        source = (STATIC_DIR / name).read_text()
        assert not re.search(r"(https?:)?//[\w.-]+\.\w+/", source), name
        assert not re.search(r"@import|\burl\(\s*['\"]?(https?:)?//", source), name
        if name.endswith(".html"):
            for address in re.findall(r'(?:src|href)="([^"]*)"', source):
                assert address.startswith(("/class/", "data:")), f"{name}: {address}"
