"""Wall time of `mrsandbox --help` and a simulated `mrsandbox deploy`, against a bare interpreter.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_cli.py`). Each figure is the median of
REPEATS runs; the baseline, `python -c pass`, is measured in the same run so the ratio shows what
the command adds to starting Python.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import emit, row

REPEATS = 15
BIN = Path(sys.executable).parent
CASES = [
    ("mrsandbox --help", [str(BIN / "mrsandbox"), "--help"], 0.15),
    (
        "mrsandbox deploy (2 regions, sim)",
        [str(BIN / "mrsandbox"), "deploy", "--regions", "us-east-1,eu-west-1", "model_v1"],
        0.6,
    ),
    (
        "mrsandbox deploy (5 regions, retry)",
        [
            str(BIN / "mrsandbox"),
            "deploy",
            "--regions",
            "us-east-1,eu-west-1,ap-south-1,sa-east-1,australia-southeast1",
            "model_v2",
            "--fail",
            "ap-south-1:verify:2",
        ],
        0.6,
    ),
]


def median_seconds(command: list[str]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    baseline = median_seconds([sys.executable, "-c", "pass"])
    rows = [
        row(name, median_seconds(cmd), baseline, target, "s", more=False)
        for name, cmd, target in CASES
    ]
    emit(rows, f"(median of {REPEATS} runs each; baseline: `python -c pass`)")


if __name__ == "__main__":
    main()
