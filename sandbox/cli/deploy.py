"""`mrsandbox deploy`: the lesson's flow once (simulated or live), or a rollout run as an
experiment; its command line is `sandbox.args.deploy`'s, which the quizzes judge by too."""

from __future__ import annotations

import html
import json
from typing import Any

import click

from sandbox.args.deploy import deploy_command
from sandbox.args.request import DeployRequest, build_request
from sandbox.cli.experiment import warn
from sandbox.flow.deployment import COMPLETED


def _run(ctx: click.Context) -> None:
    """Run a parsed command line: the lesson's flow, or a rollout; exit 0 when it completed."""
    request = build_request(ctx)
    if request.rollout:
        _roll_out(ctx, request)
    d = request.run()
    click.echo(d.trace.render(request.fmt, request.tracker))
    ctx.exit(0 if d.outcome in COMPLETED else 1)


def _roll_out(ctx: click.Context, request: DeployRequest) -> None:
    """Run a rollout as an experiment: the previous version, users, then the new version."""
    from sandbox.experiment.run import run_experiment
    from sandbox.experiment.scenario import parse_scenario

    scenario = parse_scenario(_rollout_document(ctx, request), "mrsandbox deploy", request.catalog)
    experiment = run_experiment(scenario, request.catalog)
    rollout = experiment.rollout
    warn(experiment.warnings)
    if rollout is None:
        baseline = experiment.deployment.trace
        click.echo(baseline.render(request.fmt, request.tracker))
        click.echo(f"The previous version's deployment did not complete ({baseline.outcome})")
        ctx.exit(1)
    if request.fmt == "json":
        journal = experiment.journal
        document = rollout.trace.to_dict(request.tracker) | {
            "rollout": journal["rollout"],
            "users_by_version": journal["summary"]["by_version"],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        users = _users_line(experiment.journal["summary"])
        click.echo(rollout.trace.render(request.fmt, request.tracker))
        click.echo(f"<p>{html.escape(users)}</p>" if request.fmt == "html" else f"\n{users}")
    ctx.exit(0 if rollout.outcome == "complete" else 1)


ROLLOUT_USERS_PER_S = 10.0  # the users near each region while a command-line rollout runs


def _rollout_document(ctx: click.Context, request: DeployRequest) -> dict[str, Any]:
    """A rollout on the command line as a scenario: the previous version deployed by the
    lesson's flow, users near every region, then the new version by the given strategy."""
    model, previous = request.sources
    plan = request.plan
    rollout: dict[str, Any] = {"model": model, "strategy": plan.strategy}
    rollout |= {"waves": [list(w) for w in plan.waves]} if plan.waves else {}
    rollout |= {"canary_percent": plan.canary_percent} if plan.canary_percent is not None else {}
    rollout |= {"bake_s": plan.bake_s} if plan.bake_s is not None else {}
    rollout |= {"failures": list(ctx.params["fails"])}
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
        "clients": [{"region": r, "rate_per_s": ROLLOUT_USERS_PER_S} for r in request.regions],
        "rollout": rollout,
    }


def _users_line(summary: dict[str, Any]) -> str:
    versions = ", ".join(
        f"{version} {n['requests']} ({n['failed']} failed)"
        for version, n in summary["by_version"].items()
    )
    return f"Users: {summary['sent']} requests during the rollout; answered by version: {versions}"


deploy = deploy_command(_run)
