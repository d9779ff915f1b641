"""The wall time of `make test`'s work (ruff check, ruff format --check, mypy, the whole pytest
suite on two workers) against the suite's fixed cost, collecting the tests without running them.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_suite.py`); `make test` itself adds only
the check that `.venv` is installed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _common import emit, row

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STEPS = [
    [str(BIN / "ruff"), "check", "."],
    [str(BIN / "ruff"), "format", "--check", "."],
    [str(BIN / "mypy")],
    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
]


def seconds(*commands: list[str]) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:  # a figure of a failing run would mislead: say what failed
            sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    collect = seconds([sys.executable, "-m", "pytest", "-q", "--collect-only"])
    total = seconds(*STEPS)
    rows = [row("make test (lint, types, suite)", total, collect, 300, "s", more=False)]
    emit(rows, "(one run; baseline: collecting the tests without running them)")


if __name__ == "__main__":
    main()
