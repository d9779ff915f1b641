"""Fixed ports: a `LiveFleet` on the ports it is given (a region in a process of its own keeps its
port across a crash), `serve --port` / `--region-ports` and their mistakes, a taken port named
on its flag, and the `--prometheus-targets` file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from sandbox import HealthPolicy, run_deployment
from sandbox.core.faults import Fault
from sandbox.errors import InvalidDeployment, PortUnavailable
from sandbox.live.fleet import LiveFleet
from tests.support import free_ports, port_of, ports_listened_on, serves

SCALE = 0.02
REGIONS = ["us-east-1", "eu-west-1"]
FAST = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=3, healthy_threshold=2)
MRSANDBOX = str(Path(sys.executable).with_name("mrsandbox"))


def held(stack: ExitStack, port: int) -> None:
    """Listen on `port` until the stack closes: a port another program took."""
    stack.enter_context(socket.create_server(("127.0.0.1", port)))


def test_a_fleet_listens_on_the_ports_it_is_given():
    base = free_ports(3)
    ports = {"us-east-1": base + 2, "eu-west-1": base + 1}
    with LiveFleet(REGIONS, time_scale=SCALE, port=base, region_ports=ports) as fleet:
        assert port_of(fleet.gateway_url) == base
        assert {r: port_of(url) for r, url in fleet.urls.items()} == ports
        assert {base, *ports.values()} <= ports_listened_on()


@pytest.mark.parametrize("processes", [False, True])
@pytest.mark.parametrize("taken", ["gateway", "eu-west-1"])
def test_a_taken_port_is_named_and_nothing_is_left_running(processes, taken):
    base = free_ports(3)
    ports = {"us-east-1": base + 1, "eu-west-1": base + 2}
    port = base if taken == "gateway" else ports[taken]
    fleet = LiveFleet(REGIONS, time_scale=SCALE, processes=processes, port=base, region_ports=ports)
    with ExitStack() as stack:
        held(stack, port)
        with pytest.raises(PortUnavailable) as refused:
            fleet.start()
    assert (refused.value.server, refused.value.port) == (taken, port)
    assert f"{taken} cannot listen on port {port}" in str(refused.value)
    assert not {base, *ports.values()} & ports_listened_on()
    assert not any(serves(f"http://127.0.0.1:{p}") for p in (base, *ports.values()) if p != port)


def test_region_ports_name_only_the_fleets_regions():
    with pytest.raises(InvalidDeployment, match="region_ports: eu-west-1: not one of the regions"):
        LiveFleet(["us-east-1"], region_ports={"eu-west-1": 8001})


def test_a_crashed_region_process_comes_back_on_its_fixed_port():
    base = free_ports(3)
    ports = {"us-east-1": base + 1, "eu-west-1": base + 2}
    with LiveFleet(
        REGIONS, time_scale=SCALE, processes=True, port=base, region_ports=ports
    ) as fleet:
        run_deployment(REGIONS, backend=fleet, health=FAST)
        url = fleet.urls["eu-west-1"]
        assert port_of(url) == ports["eu-west-1"]
        fleet.inject("eu-west-1", [Fault("crash", duration_s=25)])
        deadline = time.monotonic() + 5
        while serves(url, "eu-west-1"):
            assert time.monotonic() < deadline, "the region did not die"
            time.sleep(0.01)
        deadline = time.monotonic() + 15
        while not serves(url, "eu-west-1"):
            assert time.monotonic() < deadline, "the region did not come back on its port"
            time.sleep(0.05)
        assert fleet.urls["eu-west-1"] == url
        assert requests.get(f"{url}/v1/models/model_v1", timeout=5).json()["ready"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "'--port': 0 is not in the range 1<=x<=65535"),
        (["--port", "65536"], "'--port': 65536 is not in the range"),
        (["--port", "eighty"], "'--port': 'eighty' is not a valid integer"),
        (["--port", "65534"], "65534 leaves no room for the 2 region port(s) after it"),
        (["--region-ports", "us-east-1=8001"], "no port for eu-west-1; add eu-west-1=PORT"),
        (
            ["--region-ports", "us-east-1=8001,eu-west-1=8001"],
            "port 8001 is given to both us-east-1 and eu-west-1; give each server a port",
        ),
        (
            ["--port", "8001", "--region-ports", "us-east-1=8002,eu-west-1=8001"],
            "port 8001 is given to both the gateway (--port) and eu-west-1",
        ),
        (
            ["--region-ports", "us-east-1=8001,eu-west-1=8002,sa-east-1=8003"],
            "'sa-east-1' is not one of --regions us-east-1,eu-west-1",
        ),
        (["--region-ports", "us-east-1=8001,eu-west-1=0"], "eu-west-1: expected a whole number"),
        (["--region-ports", "us-east-1=8001,eu-west-1=70000"], "from 1 to 65535, got 70000"),
        (["--region-ports", "us-east-1=8001,eu-west-1=80.5"], "got 80.5"),
        (["--region-ports", "us-east-1"], "expected REGION=PORT, e.g. us-east-1=8001"),
        (["--region-ports", "us-east-1=1,us-east-1=2"], "given twice; give each region one port"),
        (["--region-ports", ""], "no port for us-east-1, eu-west-1; add us-east-1=PORT"),
    ],
)
def test_port_flag_mistakes_are_usage_errors(invoke, args, message):
    result = invoke("serve", "--regions", ",".join(REGIONS), *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MRSANDBOX, "serve", "--regions", ",".join(REGIONS), "--time-scale", str(SCALE), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("flag", "taken", "blamed"),
    [
        ("--port", 0, "gateway"),
        ("--port", 2, "eu-west-1"),
        ("--processes", 2, "eu-west-1"),
        ("--region-ports", 1, "us-east-1"),
    ],
)
def test_a_taken_port_is_a_usage_error_on_its_flag(flag, taken, blamed):
    base = free_ports(3)
    args = ["--port", str(base)]
    if flag == "--processes":
        args.append(flag)
    if flag == "--region-ports":
        args += [flag, f"us-east-1={base + 1},eu-west-1={base + 2}"]
    with ExitStack() as stack:
        held(stack, base + taken)
        done = serve(*args)
    hint = "--region-ports" if flag == "--region-ports" else "--port"
    said = " ".join(done.stderr.split())
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert f"'{hint}': {blamed} cannot listen on port {base + taken}" in said
    assert f"give another {hint}" in said and "Traceback" not in said


def test_the_targets_file_lists_every_server_and_is_kept(tmp_path):
    base = free_ports(3)
    path = tmp_path / "targets.json"
    ports = f"us-east-1={base + 2},eu-west-1={base + 1}"
    process = subprocess.Popen(
        [
            *(MRSANDBOX, "serve", "--regions", ",".join(REGIONS), "--time-scale", str(SCALE)),
            *("--port", str(base), "--region-ports", ports, "--prometheus-targets", str(path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with process:
        try:
            ready = json.loads(process.stdout.readline())
            groups = json.loads(path.read_text())
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    assert process.returncode == 0
    assert ready["gateway"] == f"http://127.0.0.1:{base}"
    assert groups == [
        {"targets": [f"127.0.0.1:{base}"], "labels": {"job": "mrsandbox-gateway"}},
        *(
            {
                "targets": [url.removeprefix("http://")],
                "labels": {"job": "mrsandbox-region", "region": region},
            }
            for region, url in ready["regions"].items()
        ),
    ]
    assert [g["targets"][0] for g in groups[1:]] == [
        f"127.0.0.1:{base + 2}",
        f"127.0.0.1:{base + 1}",
    ]
    assert path.exists() and not list(tmp_path.glob(".targets.json.*"))  # kept; no temp left


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/targets.json", "cannot write missing/targets.json: No such file or directory"),
        (".", "is a directory"),
    ],
)
def test_an_unwritable_targets_file_is_a_usage_error(
    invoke, tmp_path, monkeypatch, target, message
):
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "serve", "--regions", "us-east-1", "--time-scale", str(SCALE),
        "--prometheus-targets", target,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "'--prometheus-targets'" in result.output
    assert message in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []  # no temp file left


def test_an_empty_targets_file_is_refused_before_the_fleet_starts(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # a bad --model is refused before any server starts: the empty path must be refused first
    result = invoke(
        "serve", "--regions", "us-east-1", "--model", "no-such-model",
        "--prometheus-targets", "",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "'--prometheus-targets': is empty; name the file to write" in said, said
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []
