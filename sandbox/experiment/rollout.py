"""A rollout asked for on a `mrsandbox deploy` command line, run as an experiment: the previous
version deployed by the lesson's flow, users near every region, then the new version by the
line's strategy (the users give its bakes real traffic to judge)."""

from __future__ import annotations

from typing import Any

from sandbox.args.request import DeployRequest
from sandbox.experiment.run import Experiment, run_experiment
from sandbox.experiment.scenario import Scenario, parse_scenario

USERS_PER_S = 10.0  # the users near each region while a command-line rollout runs


def rollout_document(request: DeployRequest) -> dict[str, Any]:
    """The scenario document of a rollout command line."""
    model, previous = request.sources
    plan = request.plan
    rollout: dict[str, Any] = {"model": model, "strategy": plan.strategy}
    rollout |= {"waves": [list(w) for w in plan.waves]} if plan.waves else {}
    rollout |= {"canary_percent": plan.canary_percent} if plan.canary_percent is not None else {}
    rollout |= {"bake_s": plan.bake_s} if plan.bake_s is not None else {}
    rollout |= {"failures": [f.spec for f in request.failures]}
    live = {"time_scale": request.time_scale, "processes": request.processes}
    return {
        "name": f"{plan.strategy} rollout of {request.model.name}",
        "seed": request.seed,
        "duration_s": 1.0,  # the users stop when the rollout has ended
        "mode": "live" if request.live else "sim",
        **(live if request.live else {}),
        "deployment": {
            "model": previous,
            "regions": request.regions,
            "max_retries": request.max_retries,
        },
        "clients": [{"region": r, "rate_per_s": USERS_PER_S} for r in request.regions],
        "rollout": rollout,
    }


def rollout_scenario(request: DeployRequest) -> Scenario:
    """The scenario of a rollout command line, checked."""
    return parse_scenario(rollout_document(request), "mrsandbox deploy", request.catalog)


def roll_out(request: DeployRequest) -> Experiment:
    """Run the rollout `request` asks for; its `rollout` is None when the previous version's
    deployment did not complete."""
    return run_experiment(rollout_scenario(request), request.catalog)
