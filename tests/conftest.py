"""Shared fixtures: the CLI runner and the lesson's regions."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

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
