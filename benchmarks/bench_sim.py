"""Simulated requests per second against a bare SimPy loop, and the memory of a million requests.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_sim.py`). The bare loop has the same
Poisson arrivals, round trip, capacity and log-normal service as the experiment, and nothing else
(no routing, health, faults or records); both run in this process, one after the other.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time

import simpy
from _common import emit, row

from sandbox.experiment.run import run_experiment
from sandbox.experiment.scenario import parse_scenario

RATE, DURATION = 200.0, 600.0  # 120,000 requests
MILLION_RATE = 1000.0  # x 1000 s = 1,000,000 requests


def scenario(rate: float, duration: float):
    return parse_scenario(
        {
            "name": "bench",
            "seed": 1,
            "duration_s": duration,
            "deployment": {"regions": ["us-east-1", "eu-west-1"]},
            "clients": [{"region": "eu-west-2", "rate_per_s": rate}],
        },
        "bench",
    )


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
    return result.journal["summary"]["sent"], time.perf_counter() - start


MILLION = """
import json, resource, sys, time
sys.path.insert(0, "benchmarks")
from bench_sim import MILLION_RATE, scenario
from sandbox.experiment.run import run_experiment
start = time.perf_counter()
sent = run_experiment(scenario(MILLION_RATE, 1000.0)).journal["summary"]["sent"]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"sent": sent, "peak_mb": peak, "wall_s": time.perf_counter() - start}))
"""
BASELINE = """
import json, resource, sys
sys.path.insert(0, "benchmarks")
import bench_sim
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    bare_n, bare_s = bare_loop()
    our_n, our_s = ours()
    million, baseline = peak(MILLION), peak(BASELINE)
    rows = [
        row("simulated requests/s", our_n / our_s, bare_n / bare_s, 0.5, "req/s", more=True),
        row(
            f"{million['sent']:,} requests: peak memory",
            million["peak_mb"],
            baseline["peak_mb"],
            1024,
            "MB",
            more=False,
        ),
    ]
    note = (
        f"(bare SimPy loop: same arrivals and service, {bare_n:,} requests; a million requests "
        f"took {million['wall_s']:.1f} s; memory baseline: the interpreter with the imports)"
    )
    emit(rows, note)


if __name__ == "__main__":
    main()
