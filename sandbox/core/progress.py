"""How a long run stands, told to whoever listens (the command line's bar on a terminal); without
a listener a report costs one check, so library calls and notebooks pay nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class News:
    """What changed in a run: how far it is (`done` of `total`, in the run's own unit: emulated
    seconds, questions), the requests its users sent, and the step it is at; None: unchanged."""

    done: float | None = None
    total: float | None = None
    requests: int | None = None
    step: str | None = None


Listener = Callable[[News], None]
_listeners: list[Listener] = []


def listening() -> bool:
    """Whether anyone listens: a run starts what only feeds progress (a periodic process) then."""
    return bool(_listeners)


def report(
    done: float | None = None,
    total: float | None = None,
    requests: int | None = None,
    step: str | None = None,
) -> None:
    """Tell every listener what changed in the run under way."""
    if _listeners:
        news = News(done, total, requests, step)
        for listener in _listeners:
            listener(news)


@contextmanager
def muted() -> Iterator[None]:
    """Keep the reports of a part of a run (a question's own runs) from the listeners: they hear
    how the whole run stands."""
    kept = _listeners[:]
    _listeners.clear()
    try:
        yield
    finally:
        _listeners[:] = kept


@contextmanager
def listened(listener: Listener) -> Iterator[None]:
    """Have `listener` hear every report made inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
