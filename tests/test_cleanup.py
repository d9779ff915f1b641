"""Nothing outlives what started it: fleets started and stopped many times, in both modes, and a
live experiment interrupted while its fault is on, leave no thread, child process, open file
descriptor or listening port behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from sandbox.core.models import load_model
from sandbox.live.fleet import LiveFleet
from tests.support import interruptible, port_of, ports_listened_on

ROOT = Path(__file__).resolve().parent.parent
CYCLES = 50
ARTIFACT = load_model("model_v1").to_dict()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def living_children(pid: int) -> list[int]:
    """Children of `pid` that still run (a zombie has ended; its parent reaps it)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if state(int(child)) not in ("Z", "gone"):
                found.append(int(child))
    return found


def started_with_children(args: list[str], children: int = 2) -> subprocess.Popen:
    """`python -m sandbox ARGS` in a session of its own, once it has `children` running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 60
    while len(living_children(process.pid)) < children and time.monotonic() < deadline:
        time.sleep(0.1)
    return process


def used_once(fleet: LiveFleet) -> list[str]:
    """Deploy the model to every region; return every URL of the fleet."""
    for region in fleet.regions:
        response = requests.put(
            f"{fleet.urls[region]}/v1/models/model_v1",
            json=ARTIFACT,
            headers={"Authorization": f"Bearer {fleet.admin_token}"},
            timeout=10,
        )
        assert response.status_code == 201
    return [fleet.gateway_url, *fleet.urls.values()]


@pytest.mark.parametrize(("processes", "regions"), [(False, 3), (True, 2)])
def test_many_start_stop_cycles_leave_nothing_behind(processes, regions):
    names = ["us-east-1", "eu-west-1", "ap-southeast-2"][:regions]
    # One cycle first: the first region process also starts multiprocessing's resource
    # tracker, Python's helper that lives as long as this interpreter (it is no region).
    with LiveFleet(names, time_scale=0.01, processes=processes):
        pass
    threads, fds, helpers = threading.active_count(), open_fds(), living_children(os.getpid())
    urls: list[str] = []
    for _ in range(CYCLES):
        with LiveFleet(names, time_scale=0.01, processes=processes) as fleet:
            urls += used_once(fleet)
            if not processes:  # region processes listen in processes of their own
                assert {port_of(url) for url in urls[-regions - 1 :]} <= ports_listened_on()
    time.sleep(0.1)
    assert threading.active_count() == threads, threading.enumerate()
    assert open_fds() <= fds
    assert multiprocessing.active_children() == []
    assert living_children(os.getpid()) == helpers
    assert not {port_of(url) for url in urls} & ports_listened_on()


LIVE_SCENARIO = """
name = "live outage, interrupted"
seed = 1
duration_s = 600
mode = "live"
time_scale = 0.05
processes = true

[deployment]
model = "model_v1"
regions = ["us-east-1", "eu-west-1"]

[[clients]]
region = "eu-west-1"
rate_per_s = 5

[[faults]]
region = "eu-west-1"
kind = "outage"
start_s = 20
duration_s = 500
"""


def interrupted_experiment(path: Path, text: str, after_s: float) -> float:
    """Run `mrsandbox experiment` on `text`, press Ctrl-C after `after_s`; check it exits 130
    cleanly and leaves no process behind; return how long it took to stop."""
    path.write_text(text)
    process = started_with_children(["experiment", str(path)])
    try:
        time.sleep(after_s)
        assert process.poll() is None, process.communicate()
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Interrupted: the experiment and every server it started stopped." in stderr
    assert "Traceback" not in stderr
    time.sleep(0.5)
    group = subprocess.run(
        ["ps", "-o", "pid=,stat=", "-g", str(process.pid)], capture_output=True, text=True
    ).stdout.split("\n")
    assert [line for line in group if line.strip() and "Z" not in line.split()[-1]] == []
    return took


def test_an_interrupted_live_experiment_stops_its_servers_and_faults(tmp_path):
    # the outage starts 20 emulated seconds (1 s) after the traffic
    interrupted_experiment(tmp_path / "live.toml", LIVE_SCENARIO, 2.5)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_sweep_leaves_no_worker_running(sig):
    process = started_with_children(
        [
            *("sweep", "regional_outage", "--workers", "2"),
            *("--vary", "health.interval_s=5,6,7,8,9,10", "--vary", "duration_s=5000"),
        ]
    )
    try:
        workers = living_children(process.pid)
        assert len(workers) >= 2, process.communicate()
        time.sleep(0.5)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    if sig == signal.SIGINT:
        assert process.returncode == 130
        assert "Interrupted: the sweep and its workers stopped." in stderr
        assert "Traceback" not in stderr
    deadline = time.monotonic() + 5  # a worker looks for its parent twice a second
    while any(Path(f"/proc/{w}").exists() and state(w) != "Z" for w in workers):
        assert time.monotonic() < deadline, "a sweep worker outlived the sweep"
        time.sleep(0.1)


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


LONG_BAKE = """
name = "a live canary interrupted in its bake"
seed = 2
duration_s = 10
mode = "live"
time_scale = 0.05
processes = true

[deployment]
model = "model_v1"
regions = ["us-east-1", "eu-west-1"]

[rollout]
model = "model_v1_1"
strategy = "canary"
bake_s = 2000

[[clients]]
region = "eu-west-1"
rate_per_s = 5
"""


def test_an_interrupted_live_rollout_stops_at_once_and_cleanly(tmp_path):
    # 3 s is well into the first bake (100 s of wall time)
    assert interrupted_experiment(tmp_path / "bake.toml", LONG_BAKE, 3) < 15


def on_a_terminal(args: list[str], out: Path) -> tuple[subprocess.Popen, int]:
    """`python -m sandbox ARGS` in a session of its own, stdout into `out` and stderr on a
    terminal (a pty of 100 columns), as a user runs it: its progress shows. Returns the process
    and the terminal's end to read."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", *args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=slave,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=interruptible,
        )
    os.close(slave)
    return process, master


def read_until(master: int, wanted: str | None, timeout: float = 90) -> str:
    """What the terminal shows until `wanted` appears (None: until the command has ended)."""
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while wanted is None or wanted.encode() not in seen:
        assert time.monotonic() < deadline, f"{wanted!r} never shown: {seen[-2000:]!r}"
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the command has ended and closed the terminal
            chunk = b""
        if not chunk:
            assert wanted is None, f"ended before {wanted!r} was shown: {seen[-2000:]!r}"
            break
        seen += chunk
    return seen.decode(errors="replace").replace("\r\n", "\n")


INTERRUPTED = {  # a long command, what its bar shows once it is well under way, what stops
    "live experiment": (
        ["experiment", "{scenario}"],
        " requests",
        "the experiment and every server it started",
    ),
    "live rollout": (
        [
            *("deploy", "--live", "--processes", "--time-scale", "0.05", "--strategy"),
            *("canary", "--bake-s", "2000", "--previous", "model_v1"),
            *("--regions", "us-east-1,eu-west-1", "model_v1_1"),
        ],
        "bake of wave 1",
        "the deployment and every server it started",
    ),
    "sweep": (
        [
            *("sweep", "regional_outage", "--workers", "2", "--seeds", "1"),
            *("--vary", "health.interval_s=5,6,7,8,9,10", "--vary", "duration_s=5000"),
        ],
        "sweep:",
        "the sweep and its workers",
    ),
    "quiz generation": (
        ["quiz", "generate", "--count", "100"],
        "/100",
        "the quiz's generation",
    ),
    "lesson": (
        [
            *("lesson", "--format", "json", "--live", "--time-scale", "0.05", "--strategy"),
            *("canary", "--bake-s", "2000", "--previous", "model_v1"),
            *("--regions", "us-east-1,eu-west-1", "model_v1_1"),
        ],
        "the run",
        "the lesson and every server it started",
    ),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("command", list(INTERRUPTED))
def test_a_long_command_stopped_mid_run_says_so_in_one_line_and_leaves_nothing(
    tmp_path, command, sig
):
    args, under_way, stopped = INTERRUPTED[command]
    scenario = tmp_path / "live.toml"
    scenario.write_text(LIVE_SCENARIO)
    args = [a.format(scenario=scenario) for a in args]
    process, master = on_a_terminal(args, tmp_path / "stdout")
    try:
        read_until(master, under_way)
        if sig == signal.SIGINT:
            os.killpg(process.pid, sig)  # Ctrl-C: the terminal signals every process of the group
        else:
            process.send_signal(sig)  # `kill`: the command alone
        shown = read_until(master, None)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        os.close(master)
    word = "Interrupted" if sig == signal.SIGINT else "Terminated"
    assert process.returncode == 128 + sig, shown
    # the bar has cleared its line (\r); after it, the one line
    assert shown.rsplit("\r", 1)[-1] == f"{word}: {stopped} stopped.\n", shown[-500:]
    assert "Traceback" not in shown and "Aborted" not in shown
    deadline = time.monotonic() + 5  # a sweep worker looks for its parent twice a second
    while group_alive(process.pid):
        assert time.monotonic() < deadline, f"left running: {group_alive(process.pid)}"
        time.sleep(0.1)


def group_alive(pgid: int) -> list[str]:
    """The processes of process group `pgid` that still run (zombies have ended)."""
    listed = subprocess.run(
        ["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True, text=True
    ).stdout.splitlines()
    return [line for line in listed if line.strip() and "Z" not in line.split()[-1]]


@pytest.mark.parametrize(
    "args",
    [
        ["experiment", "regional_outage", "--format", "json"],
        [
            *("deploy", "--strategy", "canary", "--previous", "model_v1", "--format", "json"),
            *("--regions", "us-east-1,eu-west-1,ap-southeast-2", "model_v1_1"),
        ],
    ],
)
def test_progress_on_a_terminal_changes_no_output(tmp_path, args):
    def out(folder: str) -> list[str]:  # an experiment's files too
        return ["--out", str(tmp_path / folder)] if args[0] == "experiment" else []

    process, master = on_a_terminal([*args, *out("shown")], tmp_path / "stdout")
    try:
        shown = read_until(master, None)
        process.wait(timeout=60)
    finally:
        os.close(master)
    assert process.returncode in (0, 1) and "emulated s" in shown  # the bar was drawn
    quiet = subprocess.run(
        [sys.executable, "-m", "sandbox", *args, *out("quiet"), "--quiet"],
        capture_output=True,
        cwd=ROOT,
    )
    assert quiet.returncode == process.returncode and quiet.stderr == b""
    assert (tmp_path / "stdout").read_bytes() == quiet.stdout
    for name in ("journal.json", "requests.csv") if out("x") else ():
        assert (tmp_path / "shown" / name).read_bytes() == (tmp_path / "quiet" / name).read_bytes()
