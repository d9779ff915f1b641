"""multiregion-sandbox: learn and test multi-region deployment of ML models on one laptop.

The lesson's flow and what it is made of; each part's own names are in its sub-package
(`sandbox.core`, `sandbox.flow`, `sandbox.sim`, `sandbox.live`, `sandbox.experiment`,
`sandbox.quiz`, `sandbox.dashboard`). Each name is imported on first use (PEP 562), so that a
part, such as the command line, does not import the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from sandbox.lazy import on_first_use

if TYPE_CHECKING:
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
    from sandbox.flow import (
        Deployment,
        Rollout,
        RolloutPlan,
        SteadyState,
        Table,
        Trace,
        run_deployment,
    )

# Where each lazily imported name lives.
_HOMES = {
    "sandbox.core": {
        "Clients",
        "Failure",
        "Fault",
        "HealthPolicy",
        "Model",
        "OutlierPolicy",
        "Region",
        "RegionCatalog",
        "RoutingPolicy",
        "load_model",
    },
    "sandbox.flow": {
        "Deployment",
        "Rollout",
        "RolloutPlan",
        "SteadyState",
        "Table",
        "Trace",
        "run_deployment",
    },
}

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

__getattr__ = on_first_use("sandbox", _HOMES)
