"""The README's Prometheus recipe, run as written against the real `prometheus` (Debian's 2.42):
`mrsandbox serve --port ... --prometheus-targets ...`, Prometheus scraping the fleet through the
targets file with the README's `prometheus.yml`, and the README's two queries over Prometheus's
HTTP API after predictions through the gateway, one region slowed by a latency fault; both
`/metrics` bodies pass `promtool check metrics`. Without Prometheus the tests are skipped with the
reason (a failure with CI=true, as `.ci/run` sets)."""

from __future__ import annotations

import bisect
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
import requests

from sandbox.live.metrics import LATENCY_BUCKETS
from tests.support import free_ports, program_missing

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
RECIPE = README.split("### Prometheus\n", 1)[1].split("\n## ", 1)[0]
SHELL = re.search(r"```sh\n(.*?)```", RECIPE, re.DOTALL).group(1).replace("\\\n", " ")
SERVE, PROMETHEUS = (
    shlex.split(line) for line in SHELL.splitlines() if not line.startswith("#") and line.strip()
)
CONFIG = re.search(r"```yaml\n(.*?)```", RECIPE, re.DOTALL).group(1)
RATE, P95 = (q for q in re.search(r"```promql\n(.*?)```", RECIPE, re.DOTALL).group(1).splitlines())
REGIONS = SERVE[SERVE.index("--regions") + 1].split(",")
SCALE = float(SERVE[SERVE.index("--time-scale") + 1])
SLOW, FAULT_S = REGIONS[1], 0.8  # one region, slowed by a latency fault of 800 ms (emulated)
PER_CLIENT = 20  # predictions from users near each region
MRSANDBOX = str(Path(sys.executable).with_name("mrsandbox"))
DEADLINE_S = 30


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        program_missing(
            f"the Prometheus recipe needs {name} on PATH; not found (Debian: apt-get install "
            "prometheus)"
        )
    return found


def replaced(argv: list[str], prefix: str, value: str) -> list[str]:
    """`argv` with the value of its option `prefix` (`--port` or `--web.listen-address=`)
    replaced, which must be there."""
    if prefix.endswith("="):
        (at,) = (i for i, a in enumerate(argv) if a.startswith(prefix))
        return [*argv[:at], prefix + value, *argv[at + 1 :]]
    at = argv.index(prefix)
    return [*argv[: at + 1], value, *argv[at + 2 :]]


def waited(what: str, check) -> object:
    """Ask `check()` until it gives something true, within DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


class Recipe:
    """The README's fleet and Prometheus, running in a folder of their own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.serve: subprocess.Popen | None = None
        self.prometheus: subprocess.Popen | None = None

    def start(self) -> None:
        folder = self.folder
        self.port = free_ports(1 + len(REGIONS))
        (folder / "prometheus.yml").write_text(CONFIG)
        serve = [MRSANDBOX, *replaced(SERVE, "--port", str(self.port))[1:]]
        with (folder / "serve.log").open("w") as log:
            self.serve = subprocess.Popen(
                serve, cwd=folder, stdout=subprocess.PIPE, stderr=log, text=True
            )
        line = self.serve.stdout.readline()
        assert line, (folder / "serve.log").read_text()
        self.ready = json.loads(line)
        address = f"127.0.0.1:{free_ports(1)}"
        command = [program("prometheus"), *PROMETHEUS[1:]]
        with (folder / "prometheus.log").open("w") as log:
            self.prometheus = subprocess.Popen(
                replaced(command, "--web.listen-address=", address),
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.api = f"http://{address}/api/v1"

    def query(self, promql: str) -> dict[str, float]:
        """An instant query's vector, by the `region` label."""
        answer = requests.get(f"{self.api}/query", params={"query": promql}, timeout=5).json()
        assert answer["status"] == "success", answer
        return {
            s["metric"].get("region", ""): float(s["value"][1]) for s in answer["data"]["result"]
        }

    def targets_up(self) -> list[dict[str, str]] | None:
        """The labels of every active target, once every one has been scraped."""
        assert self.prometheus.poll() is None, (self.folder / "prometheus.log").read_text()
        try:
            answer = requests.get(f"{self.api}/targets", timeout=5).json()
        except (requests.RequestException, ValueError):
            return None
        active = answer.get("data", {}).get("activeTargets", [])
        if len(active) < 1 + len(REGIONS) or any(t["health"] != "up" for t in active):
            return None
        return [t["labels"] for t in active]

    def close(self) -> None:
        for process in (self.prometheus, self.serve):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        if self.serve is not None:
            self.serve.stdout.close()


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    program("prometheus")
    started = Recipe(tmp_path_factory.mktemp("prometheus"))
    try:
        started.start()
        yield started
    finally:
        started.close()


def bucket(seconds: float) -> tuple[float, float]:
    """The lower and upper edge of the latency bucket that holds `seconds`."""
    at = bisect.bisect_left(LATENCY_BUCKETS, seconds)
    return (LATENCY_BUCKETS[at - 1] if at else 0.0), LATENCY_BUCKETS[at]


def test_prometheus_scrapes_the_fleet_and_the_readme_queries_tell_the_slow_region(recipe):
    ready = recipe.ready
    ports = [int(url.rsplit(":", 1)[1]) for url in (ready["gateway"], *ready["regions"].values())]
    assert ports == list(range(recipe.port, recipe.port + 1 + len(REGIONS)))  # --port
    labels = waited("Prometheus to scrape every target", recipe.targets_up)
    jobs = sorted((t["job"], t.get("region", "")) for t in labels)
    assert jobs == sorted([("mrsandbox-gateway", ""), *(("mrsandbox-region", r) for r in REGIONS)])

    token = {"Authorization": f"Bearer {ready['admin_token']}"}
    fault = [{"kind": "latency", "latency_ms": FAULT_S * 1000}]
    slow = ready["regions"][SLOW]
    requests.patch(f"{slow}/admin/faults", json=fault, headers=token, timeout=5).raise_for_status()
    http, took = requests.Session(), defaultdict(list)  # emulated seconds, by the serving region
    for _ in range(PER_CLIENT):
        for client in REGIONS:  # users near each region: each region serves its own
            sent = time.perf_counter()
            answer = http.post(
                f"{ready['gateway']}/v1/models/model_v1:predict",
                json={"instances": [[12, 70, 1]]},
                headers={"X-Client-Region": client},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            took[answer.headers["X-Served-By"]].append((time.perf_counter() - sent) / SCALE)
    assert set(took) == set(REGIONS)
    done = time.time()
    waited(
        "a scrape of every target after the last prediction", lambda: scraped_after(recipe, done)
    )

    forwards = recipe.query('sum by (region) (mrsandbox_gateway_forwards_total{outcome="ok"})')
    assert forwards == {region: len(times) for region, times in took.items()}
    rates = recipe.query(RATE)
    assert set(rates) == set(REGIONS) and all(rate > 0 for rate in rates.values()), rates
    p95 = recipe.query(P95)
    assert set(p95) == set(REGIONS), p95
    for region, times in took.items():
        # a region's own time of a prediction is at most what its user waited, at least the fault
        low, _ = bucket(FAULT_S if region == SLOW else 0.0)
        _, high = bucket(max(times))
        assert low <= p95[region] <= high, (region, p95[region], sorted(times))
    assert all(p95[SLOW] > p95[r] for r in REGIONS if r != SLOW), p95


def scraped_after(recipe: Recipe, moment: float) -> bool:
    """Whether Prometheus's last scrape of every target began after `moment` (Unix time)."""
    targets = requests.get(f"{recipe.api}/targets", timeout=5).json()["data"]["activeTargets"]
    return all(_unix(t["lastScrape"]) > moment for t in targets)


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", stamp)).timestamp()


@pytest.mark.parametrize("server", ["gateway", "region"])
def test_metrics_pass_promtool(recipe, server):
    promtool = program("promtool")
    url = recipe.ready["gateway"] if server == "gateway" else recipe.ready["regions"][SLOW]
    body = requests.get(f"{url}/metrics", timeout=5).text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0 and not checked.stdout + checked.stderr, checked.stderr
