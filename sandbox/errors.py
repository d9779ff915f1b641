"""The sandbox's errors: one root, each class also the built-in a caller would expect."""

from __future__ import annotations

from typing import Self


class SandboxError(Exception):
    """Root of every error the sandbox raises on purpose. An error about one setting names it in
    `field` and says what it should be in `reason`, so that each front end (a command-line flag,
    a scenario's key path, a JSON field) can point at it in its own words."""

    field: str | None = None
    reason: str = ""

    @classmethod
    def about(cls, field: str, reason: str, owner: str = "") -> Self:
        """The error of setting `field` (of `owner`, e.g. "health ") for `reason`."""
        error = cls(f"{owner}{field}: {reason}")
        error.field, error.reason = field, reason
        return error


class UnknownRegion(SandboxError, KeyError):
    """A region name that the catalogue does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidRegion(SandboxError, ValueError):
    """A region definition (name, location, coordinates) that cannot be used."""


class InvalidModel(SandboxError, ValueError):
    """A model artifact that is missing, malformed or inconsistent."""


class InvalidFault(SandboxError, ValueError):
    """A fault specification that cannot be applied."""


class InvalidDeployment(SandboxError, ValueError):
    """Deployment settings that cannot be used: no regions, a duplicate, an unknown policy."""


class InvalidScenario(SandboxError, ValueError):
    """A scenario file that cannot be run: bad TOML, an unknown key, a value out of range."""


class FlowError(SandboxError, RuntimeError):
    """A flow function called out of the lesson's order (e.g. verify before deploy)."""


class DeploymentHalted(SandboxError, RuntimeError):
    """The deployment ended early under its failure policy (stopped or rolled back)."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


class UsageError(SandboxError, ValueError):
    """A command line that cannot be run as written."""


class InvalidQuiz(SandboxError, ValueError):
    """A question or a quiz file that cannot be used: bad TOML, a missing field, two keys."""


class StorageError(SandboxError, OSError):
    """A run's requests that could not be kept in the temporary folder (full, or not
    writable)."""


class ServerError(SandboxError, RuntimeError):
    """A server of the live fleet that could not start."""


class PortUnavailable(ServerError):
    """A port given to a server of the live fleet that it cannot listen on (in use, or not
    allowed): `server` is `gateway` or a region's name."""

    def __init__(self, server: str, port: int, reason: str) -> None:
        super().__init__(f"{server} cannot listen on port {port}: {reason}")
        self.server, self.port, self.reason = server, port, reason
