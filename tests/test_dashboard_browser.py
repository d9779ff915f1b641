"""The classroom dashboard in a real headless browser (a Chromium or Chrome and its chromedriver,
driven by selenium; skipped with the reason where there is none, a failure in CI): the page shows
the regions; an outage clicked on the region serving a client turns it unhealthy on the page
within the monitor's detection time, and the client's traffic moves."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.05
INTERVAL_S, THRESHOLD = 10, 3
REGIONS = "us-east-1,eu-west-1"
REDRAWN = (StaleElementReferenceException,)  # the page draws its lists anew at every poll


@pytest.fixture(scope="module")
def served():
    """`mrsandbox serve` as a user starts it; its ready line."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "serve", "--regions", REGIONS),
            *("--time-scale", str(SCALE), "--health-interval", str(INTERVAL_S)),
            *("--failure-threshold", str(THRESHOLD), "--healthy-threshold", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    with process:
        try:
            yield json.loads(process.stdout.readline())
        finally:
            process.terminate()
            process.wait(timeout=30)


def health_of(browser, region: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'tr[data-region="{region}"] td.health').text


def serving(browser, client: str) -> str:
    """The region the page shows serving `client`'s users (read at once: the list is redrawn)."""
    return browser.execute_script(
        "const flow = document.querySelector(`#flows li[data-client='${arguments[0]}']`);"
        "return flow ? flow.dataset.region : '';",
        client,
    )


def test_an_outage_clicked_on_the_page_shows_and_moves_the_traffic(browser, served):
    browser.get(f"{served['gateway']}/dashboard#token={served['admin_token']}")
    wait = WebDriverWait(browser, 20, poll_frequency=0.2, ignored_exceptions=REDRAWN)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#regions tbody tr")) == 2)
    for region in REGIONS.split(","):
        assert health_of(browser, region) == "healthy"
        assert browser.find_elements(By.CSS_SELECTOR, f'#map circle[data-region="{region}"]')
    # Users near London, started from the page.
    Select(browser.find_element(By.ID, "clients")).select_by_value("eu-west-2")
    browser.find_element(By.ID, "load-start").click()
    wait.until(lambda b: serving(b, "eu-west-2") != "")
    first = serving(browser, "eu-west-2")
    assert first == "eu-west-1"  # the closest region
    assert browser.find_elements(By.CSS_SELECTOR, '#map line[data-client="eu-west-2"]')
    # An outage on the region that serves them, clicked on the page.
    duration = browser.find_element(By.ID, "duration")
    duration.clear()
    duration.send_keys("600")  # emulated seconds: longer than the test
    outage = f'tr[data-region="{first}"] button[data-fault="outage"]'
    clicked = time.monotonic()
    browser.find_element(By.CSS_SELECTOR, outage).click()
    detection = (INTERVAL_S * THRESHOLD + 2) * SCALE  # wall seconds, probe timeout included
    slack = 4.0  # the page polls once a second; a busy machine
    WebDriverWait(browser, detection + slack, 0.1, REDRAWN).until(
        lambda b: health_of(b, first) == "unhealthy"
    )
    assert time.monotonic() - clicked <= detection + slack
    wait.until(lambda b: serving(b, "eu-west-2") not in ("", first))
    assert serving(browser, "eu-west-2") == "us-east-1"
    # The probes' verdict too, in the events, within the detection time.
    probed = f"{first} unhealthy (probe)"
    WebDriverWait(browser, detection + slack, ignored_exceptions=REDRAWN).until(
        lambda b: probed in b.find_element(By.ID, "events").text
    )
    assert f"outage injected in {first}" in browser.find_element(By.ID, "events").text
    browser.find_element(By.ID, "load-stop").click()
