"""The lesson's functions as a learner called them: each call, in order, with the flow's
refusal where it refused one (a lesson built from a learner's own run shows those too)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sandbox.errors import DeploymentHalted, FlowError

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """A call of the lesson's functions as it was made: `refused` holds the flow's refusal;
    `halted`: the failure policy ended the deployment during it."""

    name: str
    argument: Any
    refused: str | None = None
    halted: bool = False


class Calls(Protocol):
    calls: list[Call]


S = TypeVar("S", bound=Calls)


def logged(method: Callable[[S, Any], T]) -> Callable[[S, Any], T]:
    """Record every call of a lesson function in its object's `calls`, refused ones included."""

    @functools.wraps(method)
    def call(self: S, argument: Any) -> T:
        try:
            result = method(self, argument)
        except FlowError as refused:
            self.calls.append(Call(method.__name__, argument, str(refused)))
            raise
        except DeploymentHalted:
            self.calls.append(Call(method.__name__, argument, halted=True))
            raise
        self.calls.append(Call(method.__name__, argument))
        return result

    return call
