"""Shared fixtures: the CLI runner, the lesson's regions and a headless browser."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from click.testing import CliRunner

from tests.support import program_missing

LESSON_REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run `mrsandbox ARGS...` in-process; return the click Result."""
    from sandbox.cli import main

    def run(*args: str):
        return runner.invoke(main, list(args), prog_name="mrsandbox")

    return run


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def installed_browser() -> tuple[str, str]:
    """A Chromium or Chrome and its chromedriver on PATH; skipped with the reason when there is
    none, except in CI (CI=true), where a missing browser fails the run."""
    binary = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = shutil.which("chromedriver")
    if binary and driver:
        return binary, driver
    missing = " and ".join(
        what for what, found in (("a browser", binary), ("chromedriver", driver)) if not found
    )
    reason = (
        f"the browser tests need Chromium or Chrome and its chromedriver on PATH; "
        f"{missing} not found (Debian: apt-get install chromium chromium-driver)"
    )
    program_missing(reason)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by selenium, for pages tested as a user sees them."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, chromedriver = installed_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=Service(chromedriver))
        try:
            yield driver
        finally:
            driver.quit()
