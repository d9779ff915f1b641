"""The pure core both backends drive: regions and their round trips, model artifacts, faults,
health checks, routing, request records, workloads and the one request-attempt loop."""

from sandbox.core.expectations import Expected, expected_ejection
from sandbox.core.faults import BAKE_ERROR_RATE, Failure, Fault, parse_failure, parse_fault
from sandbox.core.health import HealthPolicy, HealthView, OutlierPolicy, Transition
from sandbox.core.models import Model, bundled_models, load_model
from sandbox.core.records import AttemptLog, RequestLog, percentile
from sandbox.core.regions import Region, RegionCatalog
from sandbox.core.routing import POLICIES, Router, RoutingPolicy
from sandbox.core.workload import Clients, Workload

__all__ = [
    "BAKE_ERROR_RATE",
    "POLICIES",
    "AttemptLog",
    "Clients",
    "Expected",
    "Failure",
    "Fault",
    "HealthPolicy",
    "HealthView",
    "Model",
    "OutlierPolicy",
    "Region",
    "RegionCatalog",
    "RequestLog",
    "Router",
    "RoutingPolicy",
    "Transition",
    "Workload",
    "bundled_models",
    "expected_ejection",
    "load_model",
    "parse_failure",
    "parse_fault",
    "percentile",
]
