"""The gateway's connection to a region (`sandbox.live.upstream`): against a real waitress server,
and against a raw socket server that answers the ways a region's answer can go wrong."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import BadStatusLine, HTTPException, IncompleteRead

import pytest

from sandbox.live.server import ServerThread
from sandbox.live.upstream import Upstream


def app(environ, start_response):
    """/echo: what arrived, as JSON; /chunks: a body without a length (waitress chunks it)."""
    if environ["PATH_INFO"] == "/chunks":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one ", b"two ", b"three"])
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "body": body.decode(),
        "type": environ.get("CONTENT_TYPE"),
        "host": environ.get("HTTP_HOST"),
        "port": environ["REMOTE_PORT"],  # the client's end: the same while the connection lasts
    }
    content = json.dumps(seen).encode()
    headers = [("Content-Type", "application/json"), ("X-Model-Version", "1.2.0")]
    start_response("201 Created", [*headers, ("Content-Length", str(len(content)))])
    return [content]


@pytest.fixture(scope="module")
def server():
    running = ServerThread(app).start()
    yield running
    running.stop()


def test_a_request_and_its_answer_go_through_one_kept_alive_connection(server):
    upstream = Upstream("127.0.0.1", server.port, timeout=5)
    try:
        answers = [
            upstream.request("POST", "/echo", b'{"x": 1}', {"Content-Type": "application/json"})
            for _ in range(3)
        ]
    finally:
        upstream.close()
    seen = [json.loads(a.body) for a in answers]
    assert [a.status for a in answers] == [201, 201, 201]
    assert seen[0] | {"port": 0} == {
        "method": "POST",
        "path": "/echo",
        "body": '{"x": 1}',
        "type": "application/json",
        "host": f"127.0.0.1:{server.port}",
        "port": 0,
    }
    assert len({s["port"] for s in seen}) == 1  # kept alive
    assert answers[0].getheader("x-model-version") == answers[0].getheader("X-Model-Version")
    assert answers[0].getheader("X-Model-Version") == "1.2.0"
    assert answers[0].getheader("X-Absent") is None


def test_a_chunked_body_and_a_head_answer_leave_the_connection_usable(server):
    upstream = Upstream("127.0.0.1", server.port, timeout=5)
    try:
        chunked = upstream.request("GET", "/chunks", b"", {})
        head = upstream.request("HEAD", "/echo", b"", {})
        after = upstream.request("GET", "/echo", b"", {})
    finally:
        upstream.close()
    assert chunked.getheader("Transfer-Encoding") == "chunked"
    assert (chunked.status, chunked.body) == (200, b"one two three")
    assert (head.status, head.body) == (201, b"")
    assert json.loads(after.body)["method"] == "GET"


def test_a_head_answer_whose_body_comes_late_does_not_become_the_next_answer():
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"

    def late_body(connection: socket.socket, n: int) -> None:
        connection.sendall(answer)
        if n == 0:  # the HEAD: its body after a pause, as a server that sends one may
            time.sleep(0.2)
            connection.sendall(b"body")
        else:
            connection.sendall(b"next")

    with raw_server(late_body) as port:
        upstream = Upstream("127.0.0.1", port, timeout=5)
        try:
            head = upstream.request("HEAD", "/", b"", {})
            time.sleep(0.4)  # the late body has arrived on the old connection
            after = upstream.request("GET", "/", b"", {})
        finally:
            upstream.close()
    assert (head.status, head.body) == (200, b"")
    assert (after.status, after.body) == (200, b"next")


@contextmanager
def raw_server(answer: Callable[[socket.socket, int], None]) -> Iterator[int]:
    """A loopback server calling `answer(connection, n)` for the n-th request it reads (from 0,
    over all connections); each connection is closed after its `answer` returns False."""
    listening = socket.create_server(("127.0.0.1", 0))
    count = iter(range(1000))
    threads: list[threading.Thread] = []

    def serve(connection: socket.socket) -> None:
        with connection:
            while connection.recv(65536):
                if answer(connection, next(count)) is False:
                    return

    def accept() -> None:
        while True:
            try:
                connection, _ = listening.accept()
            except OSError:
                return
            thread = threading.Thread(target=serve, args=(connection,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listening.getsockname()[1]
    finally:
        listening.shutdown(socket.SHUT_RDWR)
        listening.close()
        acceptor.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_a_kept_alive_connection_the_region_closed_is_opened_anew_once():
    def answer(connection, n):
        connection.sendall(OK)
        return False  # then close the connection, as a region's idle timeout does

    with raw_server(answer) as port:
        upstream = Upstream("127.0.0.1", port, timeout=5)
        try:
            first = upstream.request("POST", "/p", b"{}", {})
            time.sleep(0.05)  # the close has arrived
            second = upstream.request("POST", "/p", b"{}", {})
        finally:
            upstream.close()
    assert (first.status, first.body, second.status, second.body) == (200, b"ok", 200, b"ok")


def test_a_body_up_to_the_close_is_read_whole_and_the_next_request_reconnects():
    def answer(connection, n):
        connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, part two")
        return False

    with raw_server(answer) as port:
        upstream = Upstream("127.0.0.1", port, timeout=5)
        try:
            bodies = [upstream.request("GET", "/p", b"", {}).body for _ in range(2)]
        finally:
            upstream.close()
    assert bodies == [b"part one, part two"] * 2


@pytest.mark.parametrize(
    ("sent", "error"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", HTTPException),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HTTPException),
    ],
)
def test_a_malformed_or_cut_short_answer_is_an_http_exception(sent, error):
    def answer(connection, n):
        connection.sendall(sent)
        return False

    with raw_server(answer) as port:
        upstream = Upstream("127.0.0.1", port, timeout=5)
        with pytest.raises(error):
            upstream.request("GET", "/p", b"", {})
        upstream.close()


def test_a_region_that_does_not_answer_in_time_is_an_os_error():
    def answer(connection, n):
        time.sleep(0.5)  # longer than the timeout

    with raw_server(answer) as port:
        upstream = Upstream("127.0.0.1", port, timeout=0.1)
        start = time.monotonic()
        with pytest.raises(OSError):
            upstream.request("GET", "/p", b"", {})
        assert time.monotonic() - start < 0.45
        upstream.close()


def test_a_refused_connection_is_an_os_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ConnectionRefusedError):
            Upstream("127.0.0.1", port, timeout=5).request("GET", "/p", b"", {})
