"""What the region servers and the gateway share: JSON errors, strict JSON bodies, and the text
of what WSGI hands over."""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from sandbox.core.checks import unique_keys

MAX_BODY_BYTES = 1024 * 1024  # a request body may be at most 1 MiB


class BadRequest(Exception):
    """A request the client must fix; answered with `status` and `{"error": message}` (a 405
    with `Allow: allow`, a 401 with the bearer challenge RFC 7235 asks of it)."""

    def __init__(self, message: str, status: int = 400, allow: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self.status == 401:
            return [("WWW-Authenticate", "Bearer")]
        return [("Allow", self.allow)] if self.allow else []


def error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


class Segment(BaseConverter):
    """A path segment without a ':', so that `<name>` never swallows a verb: `/v1/models/m:predict`
    is the predict route only, and another method there is a 405 that allows POST."""

    regex = "[^/:]+"


def install_json_errors(app: Flask) -> None:
    """Answer every error as `{"error": "..."}` with its status, never an HTML page; a route's
    `<name>` and `<version>` are `Segment`s (call before adding routes)."""
    app.url_map.converters["default"] = Segment

    @app.errorhandler(BadRequest)
    def bad_request(e: BadRequest) -> tuple[Response, int]:
        response, status = error(str(e), e.status)
        response.headers.extend(e.headers)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[Response, int]:
        messages = {
            404: f"no route {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
            413: f"request body over {MAX_BODY_BYTES} bytes",
        }
        code = e.code or 500
        response, status = error(messages.get(code, e.description or e.name), code)
        valid = getattr(e, "valid_methods", None)
        if valid:
            response.headers["Allow"] = ", ".join(valid)
        return response, status


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def json_body() -> Any:
    """The request's JSON document, or `BadRequest`: wrong content type, malformed, NaN."""
    if not request.is_json:
        raise BadRequest("send the body as JSON with 'Content-Type: application/json'", 415)
    return parse_json(plain_body())


def plain_body() -> bytes:
    """The request's body, or `BadRequest` 415 when it is encoded (compressed): no route takes
    a `Content-Encoding`."""
    if request.content_encoding:
        message = f"Content-Encoding {header('Content-Encoding')!r}: send the body uncompressed"
        raise BadRequest(message, 415)
    return request.get_data(cache=True)


def parse_json(raw: bytes) -> Any:
    """A JSON document from bytes, or `BadRequest`: malformed, a key twice in an object, NaN or
    Infinity, too deep."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=unique_keys)
    except (ValueError, UnicodeDecodeError) as e:
        reason = "a number has too many digits" if "digits" in str(e) else str(e)
        raise BadRequest(f"the body is not valid JSON: {reason}") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply to parse") from None


def wsgi_text(value: str) -> str:
    """A header's value or the path as its client wrote it: WSGI hands them over as latin-1
    decoded str, so UTF-8 bytes (`X-Client-Region: 東京`) are decoded as UTF-8; bytes that are not
    UTF-8 stay latin-1 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def header(name: str) -> str | None:
    """The request's header `name` as its client wrote it (`wsgi_text`); None if not sent."""
    value = request.headers.get(name)
    return None if value is None else wsgi_text(value)


def bearer_ok(expected: str) -> bool:
    """Whether the request carries `Authorization: Bearer <expected>` (constant-time check)."""
    scheme, _, given = (header("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


def require_admin(token: str) -> None:
    """`BadRequest` 401 unless the request carries the admin `token` as a bearer token."""
    if not bearer_ok(token):
        raise BadRequest("missing or wrong admin token: send 'Authorization: Bearer <token>'", 401)
