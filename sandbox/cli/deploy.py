"""`mrsandbox deploy`: the lesson's flow once (simulated or live), or a rollout run as an
experiment; its command line is `sandbox.args.deploy`'s, which the quizzes judge by too."""

from __future__ import annotations

import html
import json
from typing import Any

import click

from sandbox.args.deploy import deploy_command
from sandbox.args.request import DeployRequest, build_request
from sandbox.cli.confirm import YES, rollout_confirmed
from sandbox.cli.experiment import warn
from sandbox.cli.interrupts import stops
from sandbox.cli.progress import QUIET, shown
from sandbox.flow.deployment import COMPLETED


@stops("the deployment and every server it started")
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
    from sandbox.experiment.rollout import roll_out

    rollout_confirmed(ctx, request)

    with shown(f"{request.plan.strategy} rollout", "emulated s", ctx.params["quiet"]):
        experiment = roll_out(request)
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


def _users_line(summary: dict[str, Any]) -> str:
    versions = ", ".join(
        f"{version} {n['requests']} ({n['failed']} failed)"
        for version, n in summary["by_version"].items()
    )
    said = "served last by version (failed ones too)"
    return f"Users: {summary['sent']} requests during the rollout; {said}: {versions}"


deploy = YES(QUIET(deploy_command(_run)))  # --quiet, --yes: the command's, not the deploy line's
