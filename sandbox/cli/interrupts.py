"""How every command ends on Ctrl-C (SIGINT) or SIGTERM: the signal unwinds the command, so each
`with` and `finally` closes what it started (servers, fleets, workers), then one line on stderr
says what was stopped and the exit status is 130 (SIGINT) or 143 (SIGTERM). A server's commands
end normally on either signal once they serve (`serving`)."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, TypeVar

import click

SIGNALS = (signal.SIGINT, signal.SIGTERM)
WORDS = {signal.SIGINT: "Interrupted", signal.SIGTERM: "Terminated"}
F = TypeVar("F", bound=Callable[..., Any])
_stopping = ["mrsandbox"]  # what the command under way stops, as its line names it


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: the command under way unwinds (no `except Exception` holds it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stops(what: str) -> Callable[[F], F]:
    """Mark a command's function: `what` an interrupt of it stops (named in its one line)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def named(*args: Any, **kwargs: Any) -> Any:
            _stopping[0] = what
            return command(*args, **kwargs)

        return named  # type: ignore[return-value]

    return decorate


class Stoppable(click.Group):
    """The `mrsandbox` group: any command under it stops on a signal as the module says."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with handled():
            return super().main(*args, **kwargs)


@contextmanager
def handled() -> Iterator[None]:
    """Around a whole command line: a signal stops it with one line and 128 + its number (the
    handlers before it come back after; only the main thread can take signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in SIGNALS}
    try:
        yield
    except Stopped as e:
        click.echo(f"{WORDS[signal.Signals(e.signum)]}: {_stopping[0]} stopped.", err=True)
        sys.exit(128 + e.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def serving() -> Iterator[None]:
    """Around a server's ready line and what follows it: from there on, SIGINT or SIGTERM is its
    normal end. The block runs, then waits for one; the caller closes the server and exits 0."""
    with suppress(Stopped):
        yield
        threading.Event().wait()


def _stop(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:  # a second press while the command closes what it started waits
        signal.signal(sig, _unwinding)
    raise Stopped(signum)


def _unwinding(signum: int, frame: FrameType | None) -> None:
    """A signal while the command already unwinds: its closing goes on uninterrupted."""
