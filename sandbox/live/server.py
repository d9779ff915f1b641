"""Serving a WSGI app on 127.0.0.1: in a thread of this process, or in a process of its own.

The server is waitress: on the predict benchmark (`benchmarks/bench_wsgi.py`) it answered about
1.8 times as many requests per second as werkzeug's threaded server, and its fixed thread pool
keeps the thread count bounded under load.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, cast
from urllib.parse import urlsplit

from waitress.server import create_server

from sandbox.core.models import Model
from sandbox.errors import ServerError
from sandbox.live.http import MAX_BODY_BYTES

HOST = "127.0.0.1"
THREADS = 8
STARTUP_S = 20.0  # a region process must listen within this
# Bodies over this are refused by waitress itself (413) before they are read into memory or
# spooled to disk; the apps refuse bodies over MAX_BODY_BYTES with a JSON 413.
SERVER_BODY_LIMIT = 4 * MAX_BODY_BYTES


def exposed(host: str) -> str | None:
    """A warning when `host` makes a server reachable from other machines, else None."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name: it may resolve to any address
        loopback = False
    if loopback:
        return None
    return (
        f"serving on {host}: reachable from other machines, which can call every route "
        "(deployments and fault injection need the admin token)"
    )


def url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets."""
    bare = host.strip("[]")
    return f"http://[{bare}]:{port}" if ":" in bare else f"http://{bare}:{port}"


def address(server_url: str) -> tuple[str, int]:
    """The host and port of a server's URL, for a connection to it."""
    parts = urlsplit(server_url)
    return parts.hostname or HOST, parts.port or 80


def _bound(host: str, port: int) -> socket.socket:
    """A socket bound to `host` (its first address) and `port`; OSError when it cannot be."""
    family, kind, proto, _, where = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    bound = socket.socket(family, kind, proto)
    try:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        if family == socket.AF_INET6:
            bound.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        bound.bind(where)
    except OSError:
        bound.close()
        raise
    return bound


class ServerThread:
    """A waitress server for `app` on `host`, port `port` (0: any free one), in a thread."""

    def __init__(self, app: Callable, port: int = 0, host: str = HOST, threads: int = THREADS):
        logging.getLogger("waitress").setLevel(logging.ERROR)
        listening = _bound(host, port)  # bound here: a port that is taken leaves nothing behind
        try:
            # waitress's stubs type the server as a union without the attributes used here
            self._server: Any = cast(
                Any,
                create_server(
                    app,
                    sockets=[listening],
                    threads=threads,
                    ident="mrsandbox",
                    max_request_body_size=SERVER_BODY_LIMIT,
                    channel_request_lookahead=1,  # so that a request can tell its client hung up
                ),
            )
        except BaseException:
            listening.close()
            raise
        self.port: int = self._server.effective_port
        self.url = url(host, self.port)
        self._thread = threading.Thread(
            target=self._server.run, name=f"wsgi-{self.port}", daemon=True
        )

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the worker threads, then close every socket from the server's own loop."""
        server = self._server
        server.task_dispatcher.shutdown(timeout=2)

        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:  # the loop's wake-up pipe is gone: close from here instead
            close_all()
        self._thread.join(timeout=2)


def _serve_region(
    region: str,
    token: str,
    time_scale: float,
    seed: int,
    host: str,
    port: int,
    models: list[Model],
    conn: Connection,
) -> None:
    """A region's own process: serve `models` (deployed in order), until the parent says stop
    or goes away."""
    from sandbox.live.region import create_region_app

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sending = threading.Lock()  # request threads share the pipe

    def send(message: str, payload: Any) -> None:
        with sending:
            conn.send((message, payload))

    def crash(duration_s: float | None) -> None:
        send("crash", duration_s)  # the parent kills this process

    def faults(action: str, given: list[dict[str, Any]]) -> None:
        send("faults", (action, given))  # the parent tells the fleet's listeners

    app = create_region_app(
        region, token=token, time_scale=time_scale, seed=seed, on_crash=crash, on_faults=faults
    )
    served = app.extensions["region"].served  # before it listens: no request finds it empty
    for model in models:
        served.deploy(model)
    try:
        server = ServerThread(app, port=port, host=host).start()
    except OSError as e:  # the parent raises it again
        send("unavailable", (e.errno, e.strerror or str(e)))
        return
    send("ready", server.port)
    with contextlib.suppress(EOFError, OSError):
        conn.recv()  # "stop", or EOFError when the parent is gone
    server.stop()


class RegionProcess:
    """One region served by a process of its own, so that a `crash` fault is a real kill.

    It listens on `port` (0: any free one), serving the models `models()` gives at each start
    (deployed in order; the fleet's record of what the region kept) from its first answer. A crash
    with a duration restarts the region on the same port when it ends; each change of the
    region's faults is passed to `on_faults(action, faults)`, as a region in a thread does.
    """

    def __init__(
        self,
        region: str,
        token: str,
        time_scale: float,
        seed: int,
        models: Callable[[], list[Model]],
        host: str = HOST,
        on_faults: Callable[[str, list[dict[str, Any]]], None] | None = None,
        port: int = 0,
    ) -> None:
        self.region = region
        self.host = host
        self._args = (region, token, time_scale, seed, host)
        self._scale = time_scale
        self._models = models
        self._on_faults = on_faults
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.port = port
        self.url = ""

    def start(self) -> RegionProcess:
        """Start the process and wait until it listens."""
        return self.launch().ready()

    def launch(self) -> RegionProcess:
        """Start the process; `ready()` waits for it (launch several, then wait for all)."""
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve_region,
            args=(*self._args, self.port, self._models(), child),
            daemon=True,
            name=f"region-{self.region}",
        )
        self._process.start()
        child.close()
        return self

    def ready(self) -> RegionProcess:
        """Wait until the launched process listens; OSError when it cannot."""
        if not self._conn.poll(STARTUP_S):
            self._process.kill()
            raise ServerError(f"region {self.region} did not start within {STARTUP_S} s")
        try:
            message, payload = self._conn.recv()
            while message != "ready":  # a restarted region is called at once on its old port
                if message == "unavailable":
                    self._process.join(timeout=5)
                    raise OSError(*payload)
                self._heard(message, payload)
                message, payload = self._conn.recv()
            self.port = payload
        except EOFError:
            self._process.join(timeout=5)
            raise ServerError(
                f"region {self.region}'s process ended before it listened (exit code "
                f"{self._process.exitcode}); a script that starts a fleet with processes=True "
                "must do so under `if __name__ == '__main__':`"
            ) from None
        self.url = url(self.host, self.port)
        if self._supervisor is None:
            self._supervisor = threading.Thread(
                target=self._supervise, name=f"supervise-{self.region}", daemon=True
            )
            self._supervisor.start()
        return self

    def _heard(self, message: str, payload: Any) -> None:
        if message == "faults" and self._on_faults is not None:
            self._on_faults(*payload)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                message, payload = self._conn.recv()
            except (EOFError, OSError):
                if self._stopping.wait(0.05):
                    return
                continue
            self._heard(message, payload)
            if message != "crash":
                continue
            duration_s = payload
            time.sleep(0.05)  # let the answer to the crash request go out
            self._process.kill()
            self._process.join()
            self._conn.close()
            if duration_s is None or self._stopping.wait(duration_s * self._scale):
                return
            self.start()

    def stop(self) -> None:
        """Stop the process (asking first, then killing) and its supervisor."""
        self._stopping.set()
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("stop", None))
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=2)  # first: after a crash it closes the pipe itself
        self._conn.close()
