"""The simulated backend: regions and their users on one seeded SimPy clock."""

from sandbox.sim.fleet import SimFleet
from sandbox.sim.regions import Service
from sandbox.sim.users import SimUsers

__all__ = ["Service", "SimFleet", "SimUsers"]
