"""What several test modules ask of this machine: the ports a process itself listens on, free
ports for fixed-port tests, whether a server of ours (not another program on a reused port) answers
at an address, and what a test does without a program it needs."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def ports_listened_on(pid: int | str = "self") -> set[int]:
    """The TCP ports that sockets of process `pid` listen on: only its own sockets, so a port
    that another program takes after ours closed does not count."""
    fds = Path(f"/proc/{pid}/fd")
    inodes = set()
    for fd in os.listdir(fds):
        try:
            target = os.readlink(fds / fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def serves(url: str, region: str | None = None) -> bool:
    """Whether a server of ours answers at `url` (one of `region`, if given): a port another
    program took after ours closed does not count."""
    try:
        answer = requests.get(f"{url}/healthz", timeout=2)
        body = answer.json()
    except (requests.RequestException, ValueError):
        return False
    if region is None:
        return isinstance(body, dict) and ("healthy_regions" in body or "region" in body)
    return isinstance(body, dict) and body.get("region") == region


def interruptible() -> None:
    """For a child that a test stops with Ctrl-C (SIGINT): a shell that starts the suite in the
    background ignores SIGINT, and its children inherit that; undo it (Popen's preexec_fn)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports that are free now, below the ephemeral range (where
    the servers that take any free port get theirs), so that a test of fixed ports does not
    collide with another test's servers."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 30_000 - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sockets.append(socket.create_server(("127.0.0.1", port)))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise AssertionError(f"no {count} consecutive free ports found")


def program_missing(reason: str) -> NoReturn:
    """A test needs a program this machine lacks: skip it with `reason`, but fail it in CI
    (CI=true), where `.ci/run` installs every such program."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


MRSANDBOX = str(Path(sys.executable).with_name("mrsandbox"))


class Serve:
    """A running `mrsandbox serve` (`popen`: Popen's options) and the JSON line it printed when
    ready (`ready`)."""

    def __init__(self, *args: str, **popen: Any) -> None:
        self.process = subprocess.Popen(
            [MRSANDBOX, "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        assert line, self.process.stderr.read() if self.process.stderr else ""
        self.ready = json.loads(line)

    def kill(self) -> None:
        """Kill it if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe:
                pipe.close()
