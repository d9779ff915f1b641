"""multiregion-sandbox: learn and test multi-region deployment of ML models on one laptop.

The lesson's flow and what it is made of; each part's own names are in its sub-package
(`sandbox.core`, `sandbox.flow`, `sandbox.sim`, `sandbox.live`, `sandbox.experiment`,
`sandbox.quiz`, `sandbox.dashboard`). Each name is imported on first use (PEP 562), so that a
part, such as the command line, does not import the others.
"""

from __future__ import annotations

import importlib
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


def __getattr__(name: str) -> object:
    """A name of `sandbox.core` or `sandbox.flow`, imported on first use."""
    home = next((module for module, names in _HOMES.items() if name in names), None)
    if home is None:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
