"""What a class refuses: one error with the HTTP status it is answered with."""

from __future__ import annotations

from sandbox.errors import InvalidQuiz


class Refused(InvalidQuiz):
    """A request the class refuses: `status` is its HTTP status (400, 403, 404, 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
