"""The lesson's execution sample as one call: the loop of the material's functions over a
deployment's regions, run to its end or its halt, optionally without some of its calls (the
counterfactuals behind "which variable would remain false?")."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sandbox.core.models import Model
from sandbox.errors import DeploymentHalted, FlowError, InvalidDeployment
from sandbox.flow.deployment import Deployment

CALLS = ("deploy_model", "verify_deployment", "routing_setup", "monitor_health")


PER_REGION_CALLS = ("deploy_model", "verify_deployment")


def parse_leave_out(text: str, regions: Sequence[str]) -> tuple[str, str | None]:
    """`monitor_health` or `verify_deployment:eu-west-1` as (call, region or None)."""
    call, _, region = text.partition(":")
    if call not in CALLS:
        raise InvalidDeployment(
            f"leave out {text!r}: expected one of {', '.join(CALLS)} "
            "(with :REGION for deploy_model and verify_deployment)"
        )
    if (call in PER_REGION_CALLS) != bool(region):
        example = f"{call}:{regions[0]}" if call in PER_REGION_CALLS else call
        raise InvalidDeployment(f"leave out {text!r}: write {example}")
    if region and region not in regions:
        raise InvalidDeployment(
            f"leave out {text!r}: {region} is not one of the regions ({', '.join(regions)})"
        )
    return call, region or None


def check_leave_out(texts: Sequence[str], regions: Sequence[str]) -> list[tuple[str, str | None]]:
    """Each call to leave out as (call, region or None); each may be named once."""
    calls = [parse_leave_out(text, regions) for text in texts]
    if len(set(calls)) < len(calls):
        raise InvalidDeployment(f"leave out each call once, got {', '.join(texts)}")
    return calls


def run_deployment(
    regions: Sequence[str],
    model: str | os.PathLike[str] | Model = "model_v1",
    *,
    leave_out: str | Sequence[str] = (),
    **settings: Any,
) -> Deployment:
    """Run the lesson's execution sample to its end (or its halt) and return the deployment.

    `leave_out` (e.g. `monitor_health`, `verify_deployment:eu-west-1`, or several) skips those
    calls of the loop, to show what the flow does without them: it goes on until it refuses a
    call or the loop ends, and the outcome is `incomplete`.
    """
    d = Deployment(regions, model, **settings)
    left = [leave_out] if isinstance(leave_out, str) else list(leave_out)
    skipped = check_leave_out(left, d.regions)
    calls: list[tuple[str, str | None]] = [(n, r) for r in d.regions for n in PER_REGION_CALLS]
    calls += [("routing_setup", None), ("monitor_health", None)]
    try:
        for name, region in calls:
            if (name, region) not in skipped:
                getattr(d, name)(d.regions if region is None else region)
    except DeploymentHalted:
        return d
    except FlowError as e:
        if not skipped:
            raise
        d.give_up(f"Refused: {e}")
    if not d.trace.ended:
        d.give_up(f"Ended without {', '.join(left)}")
    return d
