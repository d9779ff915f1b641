"""The `mrsandbox deploy` command line: its options and help, and the parser that turns one into
a `DeployRequest` (`sandbox.args.request`), each usage error naming the learner's mistake. A leaf
that the command, the quizzes (which judge command lines by what this parser says) and the lessons
share.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import click

from sandbox.args.common import (
    CONTEXT,
    EXTRA_REGIONS,
    PROCESSES,
    SEED,
    TIME_SCALE,
    catalog_with,
    number_type,
)
from sandbox.args.request import DeployRequest, build_request, regions_and_model
from sandbox.core.faults import SYNTAX as FAIL_SYNTAX
from sandbox.flow.deployment import POLICIES, RETRIES
from sandbox.flow.plan import (
    DEFAULT_BAKE_S,
    DEFAULT_CANARY_PERCENT,
    STRATEGIES,
    RolloutPlan,
)
from sandbox.flow.tracer import FORMATS, TRACKERS

HELP = inspect.cleandoc(
    """Deploy MODEL (a bundled name or a .json artifact) to each region, verify each right after
    its deployment, set up routing and start health monitoring: on simulated regions, or with
    --live on real region servers that stop when the command ends.

    A rollout (--strategy waves or canary, or --previous) first deploys the previous version
    everywhere with the lesson's flow, starts users near every region, then rolls MODEL out,
    bakes each wave on the predictions the new version served and rolls back every touched
    region on a deviation; the table is the rollout's.

    Exit status: 0 when the deployment (or rollout) completed, 1 when it did not, 2 for a
    usage error.

    \b
    Example: mrsandbox deploy --regions us-east-1,eu-west-1 model_v1
    Example: mrsandbox deploy --regions us-east-1,eu-west-1,ap-northeast-1 model_v1_1 \\
               --strategy canary --canary-percent 10 --bake-s 120 --fail eu-west-1:bake
    """
)


def deploy_command(run: Callable[[click.Context], None]) -> click.Command:
    """The `deploy` command: its options and help; `run(ctx)` runs a parsed command line."""

    @click.command("deploy", help=HELP)
    @click.option(
        "--regions",
        multiple=True,
        metavar="R1,R2,...",
        help="Comma-separated regions, deployed in order.",
    )
    @click.option("--region", multiple=True, hidden=True)
    @click.argument("args", nargs=-1, metavar="MODEL")
    @click.option(
        "--on-failure",
        type=click.Choice(POLICIES),
        default="retry",
        show_default=True,
        help="What a failed deployment or verification does.",
    )
    @click.option(
        "--max-retries",
        type=number_type(RETRIES),
        default=2,
        show_default=True,
        help="Retries per region under --on-failure retry, then stop.",
    )
    @click.option(
        "--fail",
        "fails",
        multiple=True,
        metavar="SPEC",
        help=f"Inject a failure: {FAIL_SYNTAX} (COUNT: first COUNT attempts; default every one). "
        "Repeatable.",
    )
    @click.option(
        "--leave-out",
        multiple=True,
        metavar="CALL[:REGION]",
        help="Leave one call out of the lesson's loop to see what the flow does without it: "
        "routing_setup, monitor_health, deploy_model:REGION or verify_deployment:REGION. "
        "Repeatable.",
    )
    @SEED
    @click.option("--live", is_flag=True, help="Deploy to real region servers on 127.0.0.1.")
    @TIME_SCALE
    @PROCESSES
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
    @click.option(
        "--tracker",
        type=click.Choice(TRACKERS),
        default="checkpoints",
        show_default=True,
        help="Status tracker columns: the lesson's checkpoints or every step.",
    )
    @click.option(
        "--strategy",
        type=click.Choice(STRATEGIES),
        default="sequential",
        show_default=True,
        help="How the regions get the new version: one after another (the lesson's), in waves, "
        "or a canary share of each wave's traffic first. waves and canary roll MODEL out over "
        "its previous version.",
    )
    @click.option(
        "--waves",
        metavar='"R1,R2;R3"',
        help="Regions deployed together, waves separated by ';' (waves, canary) "
        "[default: waves: the first region, then the rest; canary: one region per wave].",
    )
    @click.option(
        "--canary-percent",
        type=number_type(RolloutPlan.BOUNDS["canary_percent"]),
        help=f"Canary: the new version's share of a wave's traffic while it bakes "
        f"[default: {DEFAULT_CANARY_PERCENT:g}].",
    )
    @click.option(
        "--bake-s",
        type=number_type(RolloutPlan.BOUNDS["bake_s"]),
        help="Waves, canary: seconds each wave is watched against the steady state (at most 1% "
        f"failed predictions of the new version) [default: {DEFAULT_BAKE_S:g}].",
    )
    @click.option(
        "--previous",
        metavar="MODEL",
        help="The version the regions serve before the rollout [default: the bundled model of "
        "the same name with the highest version below MODEL's]. With sequential, rolls out too.",
    )
    @EXTRA_REGIONS
    @click.pass_context
    def deploy(ctx: click.Context, **_: Any) -> None:
        run(ctx)

    return deploy


_PARSER = deploy_command(lambda ctx: None)
_PARENT = click.Group("mrsandbox", context_settings=CONTEXT)


def parse_deploy_args(argv: Sequence[str]) -> DeployRequest:
    """Check a `mrsandbox deploy` command line (without `mrsandbox deploy`) without running it.

    Raises `click.UsageError` (exit status 2) exactly as the command would.
    """
    return build_request(_deploy_context(argv))


def parse_deploy_syntax(argv: Sequence[str]) -> tuple[list[str], str]:
    """The regions and the MODEL word of a `mrsandbox deploy` command line, checked as the
    command checks them but without loading the model (a placeholder name passes)."""
    ctx = _deploy_context(argv)
    return regions_and_model(ctx, catalog_with(ctx, ctx.params["extra_regions"]))


def _deploy_context(argv: Sequence[str]) -> click.Context:
    parent = click.Context(_PARENT, info_name="mrsandbox")
    return _PARSER.make_context("deploy", list(argv), parent=parent)
