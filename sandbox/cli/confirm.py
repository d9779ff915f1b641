"""`--yes`: a run estimated to take longer than the bound (`sandbox.experiment.bounds`) starts
only with it; without it, the command says how long the run would take and exits 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sandbox.experiment.bounds import MAX_WALL_S, Estimate, wall_text

if TYPE_CHECKING:
    from sandbox.args.request import DeployRequest

YES = click.option(
    "--yes",
    is_flag=True,
    help=f"Run even when the run is estimated to take over {wall_text(MAX_WALL_S)} of wall time.",
)


def rollout_confirmed(ctx: click.Context, request: DeployRequest) -> None:
    """`confirmed` for the rollout a `mrsandbox deploy` line asks for (deploy's and lesson's)."""
    from sandbox.experiment.bounds import run_estimate
    from sandbox.experiment.rollout import rollout_scenario

    fix = "--bake-s or --time-scale" if request.live else "--bake-s"
    confirmed(ctx, run_estimate(rollout_scenario(request)), fix)


def confirmed(ctx: click.Context, estimate: Estimate, fix: str) -> None:
    """Return when the run may start (within the bound, or --yes given); otherwise say how long
    it would take and what to lower (`fix`) on stderr, and exit 2 before anything starts."""
    if estimate.over and not ctx.params["yes"]:
        click.echo(f"Error: {estimate.refusal(fix)}", err=True)
        ctx.exit(2)
