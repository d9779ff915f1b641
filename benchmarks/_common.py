"""Shared by the benchmark scripts: an HTTP load generator in its own process, and the table."""

from __future__ import annotations

import json
import subprocess
import sys

CLIENT = r"""
import http.client, json, sys, threading, time
port, path, headers, concurrency, seconds = sys.argv[1:6]
headers = json.loads(headers) | {"Content-Type": "application/json"}
body = json.dumps({"instances": [[12.0, 70.0, 1.0]]})
done, failed = [0] * int(concurrency), [0] * int(concurrency)
def worker(i):
    conn = http.client.HTTPConnection("127.0.0.1", int(port))
    end = time.perf_counter() + float(seconds)
    while time.perf_counter() < end:
        conn.request("POST", path, body, headers)
        answer = conn.getresponse()
        answer.read()
        done[i] += 1
        failed[i] += answer.status != 200
threads = [threading.Thread(target=worker, args=(i,)) for i in range(int(concurrency))]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"per_s": sum(done) / float(seconds), "failed": sum(failed)}))
"""


def requests_per_second(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    concurrency: int = 4,
    seconds: float = 2.0,
) -> float:
    """Predict requests per second a separate client process gets through on `port`."""
    args = [str(port), path, json.dumps(headers or {}), str(concurrency), str(seconds)]
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, *args], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} requests failed on port {port}{path}")
    return result["per_s"]


def print_table(rows: list[tuple[str, ...]], note: str) -> None:
    """Print figure | measured | baseline | ratio | target | met, aligned."""
    header = ("figure", "measured", "baseline", "ratio", "target", "met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(note)


def emit(rows: list[tuple[str, ...]], note: str) -> None:
    """The script's rows: as a table, or with `--json` as one JSON line for `benchmarks/run.py`."""
    if "--json" in sys.argv[1:]:
        print(json.dumps({"rows": rows, "note": note}))
    else:
        print_table(rows, note)


def row(name: str, value: float, base: float, target: float | None, unit: str, more: bool) -> tuple:
    """A table row: `value` against `base`; with `more`, met when value / base is at least
    `target` (a ratio), otherwise when `value` is below `target` (in `unit`); no `target`, a
    figure shown for comparison ("-")."""
    shown = f"{value:,.0f}" if unit == "req/s" else f"{value:.3f} {unit}"
    baseline = f"{base:,.0f}" if unit == "req/s" else f"{base:.3f} {unit}"
    ratio = f"{value / base:.2f}" if more else f"{value / base:.1f}x"
    if target is None:
        return (name, shown, baseline, ratio, "-", "-")
    met = value / base >= target if more else value < target
    goal = f">= {target}" if more else f"< {target:g} {unit}"
    return (name, shown, baseline, ratio, goal, "yes" if met else "NO")
