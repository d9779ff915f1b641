"""`mrsandbox serve` and `mrsandbox deploy --live` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests import support
from tests.support import MRSANDBOX, port_of, ports_listened_on, serves

FAST = ["--time-scale", "0.02", "--health-interval", "10"]


def children(pid: int) -> set[int]:
    """Every live descendant of `pid`."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = {int(k) for k in (task / "children").read_text().split()}
        except OSError:
            continue
        for kid in kids:
            found |= {kid, *children(kid)}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


class Serve(support.Serve):
    """`mrsandbox serve` in its own process group, as a terminal would start it."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, start_new_session=True)

    def stop(self, sig: int) -> float:
        start = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=10)
        return time.monotonic() - start


@pytest.fixture
def serve():
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        started.append(Serve(*args))
        return started[-1]

    yield start
    for s in started:
        s.kill()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_until_a_signal_and_cleans_up(serve, sig):
    s = serve("--regions", "us-east-1,eu-west-1", *FAST)
    ready = s.ready
    assert set(ready) == {"gateway", "regions", "admin_token"}
    assert list(ready["regions"]) == ["us-east-1", "eu-west-1"] and len(ready["admin_token"]) >= 24
    # Served by the closest region; on a loaded machine a probe may time out at this time
    # scale and take eu-west-1 out for a few probes, so ask again until it is back.
    deadline, served = time.monotonic() + 30, []
    while time.monotonic() < deadline and served[-1:] != ["eu-west-1"]:
        answer = requests.post(
            f"{ready['gateway']}/v1/models/model_v1:predict",
            json={"instances": [[12, 70, 1]]},
            headers={"X-Client-Region": "eu-west-2"},
            timeout=5,
        )
        assert answer.status_code == 200
        served.append(answer.headers["X-Served-By"])
        time.sleep(0 if served[-1] == "eu-west-1" else 0.2)
    assert served[-1] == "eu-west-1", served
    urls = [ready["gateway"], *ready["regions"].values()]
    assert {port_of(url) for url in urls} <= ports_listened_on(s.process.pid)
    assert s.stop(sig) < 3
    assert s.process.returncode == 0
    assert not any(serves(url) for url in urls)
    err = s.process.stderr.read()
    assert "Traceback" not in err and "All steps completed successfully" in err
    assert s.process.stdout.read() == ""  # one JSON line, nothing more


def test_a_short_interval_gets_a_timeout_that_fits_it(serve):
    s = serve("--regions", "us-east-1", "--time-scale", "0.02", "--health-interval", "0.5")
    routing = requests.get(f"{s.ready['gateway']}/routing", timeout=5).json()
    assert routing["health"]["us-east-1"]["healthy"] is True
    assert s.stop(signal.SIGTERM) < 3 and s.process.returncode == 0


def test_serve_in_process_mode_leaves_no_child_on_sigterm(serve):
    s = serve("--regions", "us-east-1,eu-west-1", "--processes", *FAST)
    kids = children(s.process.pid)
    assert len(kids) >= 2
    assert s.stop(signal.SIGTERM) < 3
    deadline = time.monotonic() + 3
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(k) for k in kids)


def test_ctrl_c_in_process_mode_is_quiet_and_transitions_are_printed(serve):
    s = serve("--regions", "us-east-1,eu-west-1", "--processes", *FAST, "--failure-threshold", "1")
    ready = s.ready
    requests.patch(
        f"{ready['regions']['eu-west-1']}/admin/faults",
        json=[{"kind": "outage"}],
        headers={"Authorization": f"Bearer {ready['admin_token']}"},
        timeout=5,
    ).raise_for_status()
    deadline = time.monotonic() + 10
    while (
        requests.get(f"{ready['gateway']}/routing", timeout=5).json()["health"]["eu-west-1"][
            "probe"
        ]
        == "healthy"
    ):
        assert time.monotonic() < deadline, "the monitor never marked eu-west-1 down"
        time.sleep(0.05)
    os.killpg(s.process.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    s.process.wait(timeout=10)
    err = s.process.stderr.read()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "eu-west-1 unhealthy (probe)" in err


def test_region_processes_end_when_serve_is_killed(serve):
    s = serve("--regions", "us-east-1,eu-west-1", "--processes", *FAST)
    kids = children(s.process.pid)
    os.kill(s.process.pid, signal.SIGKILL)
    s.process.wait()
    deadline = time.monotonic() + 5
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(k) for k in kids)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "us-east-1", "eu-west-1"], "unexpected extra argument"),
        (["--regions", "[us-east-1,eu-west-1]"], "without brackets: --regions us-east-1,eu-west-1"),
        (["--regions", "us-east-1,,eu-west-1"], "empty name"),
        (["--regions", "us-east1-"], "did you mean 'us-east1'"),
        (["--regions", "us-east-1", "--model", "nope"], "unknown model 'nope'"),
        (["--regions", "us-east-1", "--policy", "nearest"], "'nearest' is not one of"),
        (
            ["--regions", "us-east-1", "--policy", "failover", "--order", "sa-east-1"],
            "'sa-east-1' is not one of the regions",
        ),
        (
            ["--regions", "us-east-1", "--policy", "weighted", "--weights", "us-east-1"],
            "expected REGION=WEIGHT",
        ),
        (
            ["--regions", "us-east-1", "--policy", "weighted"],
            "'--weights': policy weighted needs weights",
        ),
        (["--regions", "us-east-1", "--time-scale", "0"], "--time-scale"),
        (["--regions", "us-east-1", "--health-interval", "-1"], "--health-interval"),
        (["--regions", "us-east-1", "--failure-threshold", "0"], "--failure-threshold"),
        (["--regions", "us-east-1", "--retries", "11"], "--retries"),
        ([], "Missing option '--regions'"),
        (["--regions", "us-east-1", "--time-scale", "nan"], "'nan' is not a finite number"),
        (["--regions", "us-east-1", "--health-interval", "inf"], "--health-interval"),
        (
            ["--regions", "us-east-1", "--weights", "us-east-1=3"],
            "'--weights': applies to policy weighted",
        ),
        (
            ["--regions", "us-east-1", "--order", "us-east-1"],
            "'--order': applies to policy failover",
        ),
        (["--regions", "us-east-1,us-east-1"], "list each region once: --regions us-east-1"),
    ],
)
def test_serve_usage_errors(args, message):
    done = subprocess.run([MRSANDBOX, "serve", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], 0),
        (["--fail", "eu-west-1:deploy:1"], 0),
        (["--fail", "eu-west-1:verify", "--on-failure", "rollback"], 1),
        (["--processes", "--fail", "us-east-1:verify", "--on-failure", "skip"], 0),
    ],
)
def test_deploy_live_prints_the_simulated_table(args, code):
    base = ["deploy", "--regions", "us-east-1,eu-west-1", "model_v1", "--format", "json", *args]
    sim_args = [a for a in base if a != "--processes"]
    sim = subprocess.run([MRSANDBOX, *sim_args], capture_output=True, text=True, timeout=60)
    live = subprocess.run(
        [MRSANDBOX, *base, "--live", "--time-scale", "0.05"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (sim.returncode, live.returncode) == (code, code), live.stderr
    sim_doc, live_doc = json.loads(sim.stdout), json.loads(live.stdout)
    strip = [
        [s[k] for k in ("step", "action", "region", "result", "next_step")]
        for s in sim_doc["steps"]
    ]
    assert strip == [
        [s[k] for k in ("step", "action", "region", "result", "next_step")]
        for s in live_doc["steps"]
    ]
    assert sim_doc["tracker"] == live_doc["tracker"]
