"""A kept-alive HTTP/1.1 connection from the gateway to one region: the predictions' hot path.

http.client parses each answer's headers with the email package and writes a request's head and
body apart (two segments, two wake-ups of the region): about half the CPU time of the gateway's
predict path (`benchmarks/bench_proxy.py`). An `Upstream` writes a request at once and reads
its answer with a plain parser: a status line, headers, and a body of Content-Length bytes, of
chunks, or up to the close. Failures are http.client's: OSError (a refused connection, a
timeout) or `http.client.HTTPException` (a malformed or cut-short answer).
"""

from __future__ import annotations

import socket
from http.client import (
    BadStatusLine,
    HTTPException,
    IncompleteRead,
    LineTooLong,
    RemoteDisconnected,
)
from typing import NamedTuple

MAX_HEAD_BYTES = 65536  # an answer's status line and headers, at most (http.client's line limit)
READ_BYTES = 65536


class Answer(NamedTuple):
    """A region's answer: its status, headers (by lower-case name) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """The header `name` (any case), or `default` when the answer has none."""
        return self.headers.get(name.lower(), default)


class Upstream:
    """One connection to `host:port`, opened on first use and again after it closed; each
    socket operation may take `timeout` seconds."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self._host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        """Send a request and read its answer. A kept-alive connection the region had closed is
        opened anew once, as http.client's callers retry."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Length: {len(body)}\r\n"
        for name, value in headers.items():
            head += f"{name}: {value}\r\n"
        data = (head + "\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            try:
                return self._exchange(method, data)
            except (ConnectionResetError, BrokenPipeError):  # RemoteDisconnected is one
                self.close()
                if attempt == 2:
                    raise
            except (OSError, HTTPException):
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer.clear()

    def _exchange(self, method: str, data: bytes) -> Answer:
        if self._sock is None:
            self._sock = socket.create_connection(self.address, self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(data)
        while True:
            status, headers, keep = self._head()
            if not 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
                break
        if method == "HEAD" or status in (204, 304):
            body = b""
            # a HEAD answer's body may come all the same (waitress sends what the app gives),
            # perhaps later than its head: the connection cannot be trusted to be in step
            keep = keep and method != "HEAD"
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunks()
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HTTPException(f"bad Content-Length {headers['content-length']!r}") from None
            body = self._exactly(length)
        else:  # the body ends where the region closes the connection
            while self._fill():
                pass
            body, keep = bytes(self._buffer), False
            self._buffer.clear()
        if not keep or self._buffer:  # bytes past the answer: the connection is out of step
            self.close()
        return Answer(status, headers, body)

    def _fill(self) -> bool:
        """Read what the region sent next into the buffer; False at the end of the stream."""
        assert self._sock is not None
        chunk = self._sock.recv(READ_BYTES)
        self._buffer += chunk
        return bool(chunk)

    def _head(self) -> tuple[int, dict[str, str], bool]:
        """The status, headers and whether the connection stays open, of the next answer."""
        buffer = self._buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise LineTooLong("an answer's header")
            if not self._fill():
                if buffer:
                    raise IncompleteRead(bytes(buffer))
                raise RemoteDisconnected("the region closed the connection without an answer")
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[: end + 4]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise BadStatusLine(lines[0])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise HTTPException(f"malformed header line {line!r}")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
        return int(code), headers, keep

    def _exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            if not self._fill():
                raise IncompleteRead(bytes(self._buffer), length - len(self._buffer))
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise LineTooLong("a chunk's size line")
            if not self._fill():
                raise IncompleteRead(bytes(self._buffer))
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _chunks(self) -> bytes:
        """A chunked body, its trailers dropped."""
        parts = []
        while True:
            size = self._line().split(b";", 1)[0].strip()
            try:
                length = int(size, 16)
            except ValueError:
                raise HTTPException(f"bad chunk size {size!r}") from None
            if not length:
                break
            parts.append(self._exactly(length))
            self._exactly(2)  # the chunk's closing CRLF
        while self._line():  # trailers, up to the empty line
            pass
        return b"".join(parts)
