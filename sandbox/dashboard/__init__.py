"""The classroom dashboard: a page on a live fleet's gateway, mounted by the program that serves
it (`mrsandbox serve`)."""

from __future__ import annotations

from sandbox.dashboard.board import Board
from sandbox.dashboard.routes import blueprint
from sandbox.live.fleet import LiveFleet

__all__ = ["Board", "mount"]


def mount(fleet: LiveFleet) -> Board:
    """Put the dashboard on `fleet`'s gateway (before the fleet starts); `Board.follow` then gives
    it the deployment it drives, and `Board.close` stops what it started."""
    board = Board(fleet)
    fleet.mount(blueprint(board))
    return board
