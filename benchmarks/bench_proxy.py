"""The gateway beside HAProxy: one region in a process of its own, predict requests straight to
it, through HAProxy (Debian's `haproxy` package) and through the sandbox's gateway, in one run.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_proxy.py`). The same client (4 keep-alive
connections, 2 s) measures the three in turn, ROUNDS times; each figure is a median. Without
`haproxy` on PATH the script says so and measures the gateway against the region alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from _common import emit, requests_per_second, row

from sandbox import run_deployment
from sandbox.live.fleet import LiveFleet

REGION = "eu-west-1"
PATH = "/v1/models/model_v1:predict"
CLIENT = {"X-Client-Region": "eu-west-2"}
ROUNDS = 5
CONFIG = """global
    maxconn 256
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend bench
    bind 127.0.0.1:{port}
    default_backend region
backend region
    server {region} 127.0.0.1:{region_port}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def haproxy(binary: str, region_port: int) -> Iterator[int]:
    """HAProxy in front of the region on a free loopback port, its config in a temporary folder;
    stopped (and waited for) on the way out."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "haproxy.cfg"
        config.write_text(CONFIG.format(port=port, region=REGION, region_port=region_port))
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stderr=subprocess.PIPE)
        try:
            listening(port, process)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=10)


def listening(port: int, process: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    """Wait until `process` accepts connections on `port`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"haproxy exited with status {process.returncode}: {error}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"haproxy did not listen on port {port} within {seconds} s")


def main() -> None:
    binary = shutil.which("haproxy", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if binary is None:
        print("haproxy is not installed: HAProxy is not measured", file=sys.stderr)
    with LiveFleet([REGION], time_scale=0.01, processes=True) as fleet:
        run_deployment([REGION], "model_v1", backend=fleet)
        region_port = int(fleet.urls[REGION].rsplit(":", 1)[1])
        gateway_port = int(fleet.gateway_url.rsplit(":", 1)[1])
        measures = {
            "direct": lambda: requests_per_second(region_port, PATH),
            "gateway": lambda: requests_per_second(gateway_port, PATH, CLIENT),
        }
        with haproxy(binary, region_port) if binary else nullcontext() as proxy_port:
            if proxy_port is not None:
                measures["haproxy"] = lambda: requests_per_second(proxy_port, PATH)
            seen: dict[str, list[float]] = {name: [] for name in measures}
            for _ in range(ROUNDS):
                for name, measure in measures.items():
                    seen[name].append(measure())
    rate = {name: statistics.median(values) for name, values in seen.items()}
    rows = [row("gateway / direct", rate["gateway"], rate["direct"], 0.4, "req/s", more=True)]
    if "haproxy" in rate:
        rows += [
            row("HAProxy / direct", rate["haproxy"], rate["direct"], None, "req/s", more=True),
            row("gateway / HAProxy", rate["gateway"], rate["haproxy"], 0.7, "req/s", more=True),
        ]
    version = haproxy_version(binary) if binary else "haproxy not installed, not measured"
    note = (
        f"(one region in its own process; median of {ROUNDS} interleaved rounds, 4 keep-alive "
        f"connections, 2 s each; {version})"
    )
    emit(rows, note)


def haproxy_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split()[:3])


if __name__ == "__main__":
    main()
