"""Simulated requests per second against a bare SimPy loop, the whole `mrsandbox experiment`
command with its files (a million requests) against the same loop, and the peak memory of ten
million requests against a million (the same users, ten times as long).

Run: `make bench` (or `.venv/bin/python benchmarks/bench_sim.py`). The bare loop has the same
Poisson arrivals, round trip, capacity and log-normal service as the experiment, and nothing else
(no routing, health, faults or records); both run in this process, one after the other. The
command (`mrsandbox experiment FILE --out DIR --quiet`: journal, CSV of every request, figures)
runs in a process of its own, interpreter start included; its peak memory is that process's.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import simpy
from _common import emit, row

from sandbox.experiment.run import run_experiment
from sandbox.experiment.scenario import parse_scenario

RATE, DURATION = 200.0, 600.0  # 120,000 requests
ROUNDS = 3  # each loop runs this often, in turn; each figure is its fastest run
# The same users (MEMORY_RATE a second) for longer: a million requests, then ten million.
MEMORY_RATE, MEMORY_RUNS = 1000.0, (1000.0, 10_000.0)
MRSANDBOX = Path(sys.executable).parent / "mrsandbox"
SCENARIO = """name = "bench"
seed = 1
duration_s = {duration}

[deployment]
regions = ["us-east-1", "eu-west-1"]

[[clients]]
region = "eu-west-2"
rate_per_s = {rate}
"""


def scenario(rate: float, duration: float):
    return parse_scenario(tomllib.loads(SCENARIO.format(rate=rate, duration=duration)), "bench")


def bare_loop() -> tuple[int, float]:
    """The same arrivals and service in plain SimPy: requests done, wall seconds."""
    env = simpy.Environment()
    rng = random.Random(1)
    slots = simpy.Resource(env, 16)
    done = [0]

    def request():
        yield env.timeout(0.008)
        with slots.request() as slot:
            yield slot
            yield env.timeout(rng.lognormvariate(math.log(0.005), 0.5))
        done[0] += 1

    def arrivals():
        while True:
            yield env.timeout(rng.expovariate(RATE))
            if env.now >= DURATION:
                return
            env.process(request())

    start = time.perf_counter()
    env.process(arrivals())
    env.run(until=DURATION + 30)
    return done[0], time.perf_counter() - start


def ours() -> tuple[int, float]:
    start = time.perf_counter()
    result = run_experiment(scenario(RATE, DURATION))
    wall = time.perf_counter() - start
    result.log.close()
    return result.journal["summary"]["sent"], wall


def command(rate: float, duration: float) -> dict:
    """`mrsandbox experiment` of the scenario at `rate` for `duration`, with --out, in a process
    of its own: requests sent, wall seconds, peak memory (MB) and the CSV's size (MB)."""
    with tempfile.TemporaryDirectory() as folder:
        path, out = Path(folder) / "bench.toml", Path(folder) / "out"
        path.write_text(SCENARIO.format(rate=rate, duration=duration))
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(MRSANDBOX), "experiment", str(path), "--out", str(out), "--quiet"],
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if process.returncode not in (0, 1):  # 1: the steady state deviated, still a run
            raise RuntimeError(f"mrsandbox experiment exited with {process.returncode}")
        journal = json.loads((out / "journal.json").read_text())
        return {
            "sent": journal["summary"]["sent"],
            "wall_s": wall,
            "peak_mb": usage.ru_maxrss / 1024,
            "csv_mb": (out / "requests.csv").stat().st_size / 2**20,
        }


def best(runs: list[tuple[int, float]]) -> tuple[int, float]:
    """The fastest of runs of one loop (requests, wall seconds): the one least disturbed."""
    return min(runs, key=lambda run: run[1])


def main() -> None:
    pairs = [(bare_loop(), ours()) for _ in range(ROUNDS)]  # in turn, so both share the noise
    bare_n, bare_s = best([bare for bare, _ in pairs])
    our_n, our_s = best([our for _, our in pairs])
    small, large = (command(MEMORY_RATE, duration) for duration in MEMORY_RUNS)
    bare = bare_n / bare_s
    rows = [
        row("simulated requests/s", our_n / our_s, bare, 0.8, "req/s", more=True),
        row(
            "`experiment --out` requests/s (with its files)",
            small["sent"] / small["wall_s"],
            bare,
            0.6,
            "req/s",
            more=True,
        ),
        row(
            f"{large['sent']:,} requests: peak memory",
            large["peak_mb"],
            small["peak_mb"],
            None,
            "MB",
            more=False,
        ),
    ]
    note = (
        f"(bare SimPy loop: same arrivals and service, {bare_n:,} requests; each the fastest of "
        f"{ROUNDS} runs in turn; the command: "
        f"`mrsandbox experiment FILE --out DIR --quiet` with {small['sent']:,} requests, "
        f"interpreter start, journal, CSV and figures included; memory: the same users ten times "
        f"as long against it; {large['sent']:,} requests took {large['wall_s']:.0f} s and "
        f"wrote a {large['csv_mb']:,.0f} MB CSV)"
    )
    emit(rows, note)


if __name__ == "__main__":
    main()
