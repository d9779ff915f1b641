"""multiregion-sandbox: learn and test multi-region deployment of ML models on one laptop."""

from sandbox.errors import (
    DeploymentHalted,
    FlowError,
    InvalidDeployment,
    InvalidFault,
    InvalidModel,
    InvalidRegion,
    SandboxError,
    UnknownRegion,
)
from sandbox.faults import Failure
from sandbox.flow import Deployment, run_deployment
from sandbox.health import HealthPolicy
from sandbox.models import Model, load_model
from sandbox.regions import Region, RegionCatalog
from sandbox.rollout import Rollout, RolloutPlan
from sandbox.tracer import Trace

__all__ = [
    "Deployment",
    "DeploymentHalted",
    "Failure",
    "FlowError",
    "HealthPolicy",
    "InvalidDeployment",
    "InvalidFault",
    "InvalidModel",
    "InvalidRegion",
    "Model",
    "Region",
    "RegionCatalog",
    "Rollout",
    "RolloutPlan",
    "SandboxError",
    "Trace",
    "UnknownRegion",
    "load_model",
    "run_deployment",
]
