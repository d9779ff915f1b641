"""A live class: students answer in their browsers, the instructor sees the room."""

from sandbox.classroom.predict import fleet_beside
from sandbox.classroom.room import Room
from sandbox.classroom.store import Store

__all__ = ["Room", "Store", "fleet_beside"]
