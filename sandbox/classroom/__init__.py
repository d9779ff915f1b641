"""A live class: students answer in their browsers, the instructor sees the room."""

from sandbox.classroom.room import Room
from sandbox.classroom.store import Store

__all__ = ["Room", "Store"]
