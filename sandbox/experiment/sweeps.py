"""Sweeps: one scenario run for every combination of some keys' values, in parallel.

`sweep` takes any `concurrent.futures.Executor` (a process pool here, a Dask cluster's executor
for a sweep too big for one machine); each run is a plain function of a scenario document.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
import signal
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from typing import Any

from sandbox.core.checks import SEEDS
from sandbox.errors import InvalidScenario
from sandbox.experiment.scenario import parse_scenario

METRICS = (
    "detection_s",
    "failover_s",
    "recovery_s",
    "failed",
    "availability",
    "p99_ms",
    "deviated",
)
EXPECTED = (  # the first fault's bounds from the probe timing model, beside the metrics
    "expected_detection_low_s",
    "expected_detection_high_s",
    "expected_failover_high_s",
)
MAX_SEEDS = 100  # seeds a sweep runs each point with, at most
PARENT_CHECK_S = 0.5  # how often a sweep worker looks whether its parent is still there
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """`health.interval_s=5,10,30` as the key path and its values (TOML scalars)."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise InvalidScenario(
            f"--vary {text!r}: expected KEY=V1,V2,..., e.g. health.interval_s=5,10"
        )
    parsed = []
    for raw in values.split(","):
        try:
            parsed.append(tomllib.loads(f"v = {raw.strip()}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(raw.strip())
    return key.strip(), parsed


def with_value(document: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with `path` (dots, and `[i]` for a list item) set to `value`."""
    doc = copy.deepcopy(dict(document))
    steps = path.split(".")
    node: Any = doc
    for n, step in enumerate(steps):
        match = _STEP.fullmatch(step)
        if match is None:
            raise InvalidScenario(f"--vary {path!r}: {step!r} is not a key")
        name, index = match.group(1), match.group(2)
        last = n == len(steps) - 1
        if not isinstance(node, dict):
            raise InvalidScenario(f"--vary {path!r}: {'.'.join(steps[:n])} is not a table")
        if index is None:
            if isinstance(node.get(name), list):
                raise InvalidScenario(
                    f"--vary {path!r}: {name} is a list; name an item, e.g. {name}[0]"
                )
            if last:
                node[name] = value
            else:
                node = node.setdefault(name, {})
            continue
        items = node.get(name)
        if not isinstance(items, list) or int(index) >= len(items):
            raise InvalidScenario(f"--vary {path!r}: the scenario has no {name}[{index}]")
        if last:
            items[int(index)] = value
        else:
            node = items[int(index)]
    return doc


def run_point(document: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Run one scenario document; its metrics (those of the first fault, where it has one) and
    the bounds the timing model gives them (None where it expects no detection)."""
    from sandbox.experiment.run import run_experiment  # a run's modules: where it runs

    journal = run_experiment(parse_scenario(document, source)).journal
    summary = journal["summary"]
    fault = summary["per_fault"][0] if summary["per_fault"] else {}
    detection = fault.get("expected_detection_s") or [None, None]
    failover = fault.get("expected_failover_s") or [None, None]
    return {
        "detection_s": fault.get("detection_s"),
        "failover_s": fault.get("failover_s"),
        "recovery_s": fault.get("recovery_s"),
        "failed": summary["failed"],
        "availability": summary["availability"],
        "p99_ms": summary["latency_ms"]["p99"],
        "deviated": journal["deviated"],
        "expected_detection_low_s": detection[0],
        "expected_detection_high_s": detection[1],
        "expected_failover_high_s": failover[1],
    }


Point = tuple[dict[str, Any], dict[str, Any]]  # the varied values, the scenario document


def plan(
    document: Mapping[str, Any], source: str, vary: Sequence[tuple[str, Sequence[Any]]]
) -> list[Point]:
    """Every combination of the varied values, each checked as a scenario before any runs."""
    keys = [key for key, _ in vary]
    for key, values in vary:
        if keys.count(key) > 1:
            raise InvalidScenario(f"--vary {key} is given twice; list all its values in one --vary")
        if len(set(map(repr, values))) != len(values):
            raise InvalidScenario(f"--vary {key}: a value is listed twice; list each once")
    points = []
    for values in itertools.product(*(vals for _, vals in vary)):
        doc = dict(document)
        for key, value in zip(keys, values, strict=True):
            doc = with_value(doc, key, value)
        try:
            parse_scenario(doc, source)
        except InvalidScenario as e:
            setting = ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
            raise InvalidScenario(f"with {setting}: {e}") from None
        points.append((dict(zip(keys, values, strict=True)), doc))
    return points


def seeded(points: Sequence[Point], seeds: int) -> list[Point]:
    """Each point run with `seeds` seeds: the scenario's own seed, then the next ones."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise InvalidScenario(
            f"seeds: expected a whole number from 1 to {MAX_SEEDS}, got {seeds!r}"
        )
    runs = []
    for setting, doc in points:
        first = doc.get("seed", 0)
        if SEEDS.problem(first + seeds - 1):
            raise InvalidScenario(
                f"seed {first} with {seeds} seeds goes past the largest seed "
                f"({int(SEEDS.high)}); give the scenario a smaller seed"
            )
        for seed in range(first, first + seeds):
            runs.append((setting | {"seed": seed}, {**doc, "seed": seed}))
    return runs


def sweep(
    document: Mapping[str, Any],
    source: str,
    vary: Sequence[tuple[str, Sequence[Any]]],
    executor: Executor,
    on_done: Callable[[], object] = lambda: None,
    seeds: int = 1,
) -> list[dict[str, Any]]:
    """One row per combination of the varied values and seed (`seeds` of them a combination,
    from the scenario's own): those values, the seed, then the run's metrics."""
    points = seeded(plan(document, source, vary), seeds)
    futures = {executor.submit(run_point, doc, source): i for i, (_, doc) in enumerate(points)}
    results: list[dict[str, Any]] = [{} for _ in points]
    for future in as_completed(futures):
        results[futures[future]] = future.result()
        on_done()
    return [setting | metrics for (setting, _), metrics in zip(points, results, strict=True)]


def worker_init(parent: int) -> None:
    """In each worker process: leave Ctrl-C to the parent, and end as soon as the parent has
    ended (killed, say), instead of running on as an orphan."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, forked with it

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
