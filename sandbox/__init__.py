"""multiregion-sandbox: learn and test multi-region deployment of ML models on one laptop."""

from sandbox.core.faults import Failure
from sandbox.core.health import HealthPolicy
from sandbox.core.models import Model, load_model
from sandbox.core.regions import Region, RegionCatalog
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
from sandbox.flow.deployment import Deployment, run_deployment
from sandbox.flow.rollout import Rollout, RolloutPlan
from sandbox.flow.tracer import Trace

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
