"""The lesson's flow on any backend (deploy, verify, route, monitor), rollouts of a new version
over it, and the tracer whose tables show every step."""

from sandbox.flow.backend import Backend, Users
from sandbox.flow.deployment import Deployment
from sandbox.flow.plan import RolloutPlan, SteadyState
from sandbox.flow.rollout import Rollout
from sandbox.flow.sample import run_deployment
from sandbox.flow.tables import Table
from sandbox.flow.tracer import Trace

__all__ = [
    "Backend",
    "Deployment",
    "Rollout",
    "RolloutPlan",
    "SteadyState",
    "Table",
    "Trace",
    "Users",
    "run_deployment",
]
