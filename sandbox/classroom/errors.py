"""What a class refuses, and the checks every request's body goes through: one error with the
HTTP status it is answered with, a body's exact keys, and an answer's value."""

from __future__ import annotations

import json
from typing import Any

from sandbox.errors import InvalidQuiz

KEYS = {1: "that key", 2: "those two keys"}


class Refused(InvalidQuiz):
    """A request the class refuses: `status` is its HTTP status (400, 403, 404, 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def shown(value: object, most: int = 40) -> str:
    """A value as JSON, cut short: what a message repeats of a request."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def fields(body: object, example: dict[str, Any]) -> dict[str, Any]:
    """`body` when it is a JSON object with exactly `example`'s keys; else a 400 showing it."""
    if isinstance(body, dict) and set(body) == set(example):
        return body
    extra = sorted(set(body) - set(example)) if isinstance(body, dict) else []
    said = f"; {shown(extra[0])} is not one" if extra else ""
    keys = KEYS.get(len(example), f"those {len(example)} keys")
    raise Refused(400, f"expected {json.dumps(example)}: {keys}{said}")


def index(answer: object, count: int, of: str = "an option") -> int:
    """An answer that is the index of one of `count` choices (`of`: what they are)."""
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise Refused(400, f"answer: expected {of}'s index, 0 to {count - 1}")
    if not 0 <= answer < count:
        raise Refused(400, f"answer: {answer} is not {of}'s index (0 to {count - 1})")
    return answer


def number(answer: object, low: float, high: float, what: str = "a number") -> float | int:
    """An answer that is a number from `low` to `high` (JSON allows an int of any size)."""
    if isinstance(answer, bool) or not isinstance(answer, int | float) or not low <= answer <= high:
        raise Refused(400, f"answer: expected {what}, {low:g} to {high:g}")
    return answer
