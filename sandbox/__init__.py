"""multiregion-sandbox: learn and test multi-region deployment of ML models on one laptop.

The lesson's flow and what it is made of; each part's own names are in its sub-package
(`sandbox.core`, `sandbox.flow`, `sandbox.sim`, `sandbox.live`, `sandbox.experiment`,
`sandbox.quiz`, `sandbox.dashboard`).
"""

from sandbox.core import (
    Clients,
    Failure,
    Fault,
    HealthPolicy,
    Model,
    OutlierPolicy,
    Region,
    RegionCatalog,
    RoutingPolicy,
    load_model,
)
from sandbox.errors import (
    DeploymentHalted,
    FlowError,
    InvalidDeployment,
    InvalidFault,
    InvalidModel,
    InvalidQuiz,
    InvalidRegion,
    InvalidScenario,
    SandboxError,
    UnknownRegion,
)
from sandbox.flow import Deployment, Rollout, RolloutPlan, SteadyState, Table, Trace, run_deployment

__all__ = [
    "Clients",
    "Deployment",
    "DeploymentHalted",
    "Failure",
    "Fault",
    "FlowError",
    "HealthPolicy",
    "InvalidDeployment",
    "InvalidFault",
    "InvalidModel",
    "InvalidQuiz",
    "InvalidRegion",
    "InvalidScenario",
    "Model",
    "OutlierPolicy",
    "Region",
    "RegionCatalog",
    "Rollout",
    "RolloutPlan",
    "RoutingPolicy",
    "SandboxError",
    "SteadyState",
    "Table",
    "Trace",
    "UnknownRegion",
    "load_model",
    "run_deployment",
]
