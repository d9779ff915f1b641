"""`mrsandbox lesson`: the whole lesson of a deploy run, every mode computed from the run."""

from __future__ import annotations

import shlex

import click

from sandbox.args.common import blaming, out_folder, write_out
from sandbox.args.deploy import parse_deploy_args
from sandbox.cli.confirm import YES, rollout_confirmed
from sandbox.cli.experiment import warn
from sandbox.cli.interrupts import stops
from sandbox.cli.progress import QUIET, shown
from sandbox.lesson.lesson import FILES, FORMATS, Lesson


@click.command(
    "lesson",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="One self-contained page that steps through the run, Markdown, or JSON.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder to write lesson.html, lesson.md or lesson.json into (default: stdout).",
)
@QUIET
@YES
@click.argument("deploy_args", nargs=-1, type=click.UNPROCESSED, metavar="DEPLOY-ARGS...")
@click.pass_context
@stops("the lesson and every server it started")
def lesson(
    ctx: click.Context,
    fmt: str,
    out: str | None,
    quiet: bool,
    yes: bool,
    deploy_args: tuple[str, ...],
) -> None:
    """The lesson of the run `mrsandbox deploy DEPLOY-ARGS` makes (simulated, or on a live
    fleet with --live; the lesson's flow, or a rollout with --strategy or --previous): its
    Process Flow, Execution Sample, Process Table, Status Tracker, Key Moments, Visual Quiz,
    Concept Snapshot, Full Transcript, Practice and Test. Give --format and --out first, e.g.
    `mrsandbox lesson --format markdown --regions us-east-1,eu-west-1 model_v1`."""
    if not deploy_args:
        raise click.UsageError(
            "give what mrsandbox deploy takes, e.g. --regions us-east-1,eu-west-1 model_v1", ctx
        )
    for word in deploy_args:
        flag = word.split("=", 1)[0]
        if flag == "--tracker":
            raise click.UsageError(
                "--tracker: a lesson takes none (its stepper shows the variables after every "
                "step, and its Status Tracker keeps the material's columns); drop it",
                ctx,
            )
        if flag in ("--format", "--out", "--quiet", "-q", "--yes"):
            raise click.UsageError(
                f"{flag} after the deploy arguments: a lesson's own options go before them, "
                f"e.g. mrsandbox lesson {flag} ... --regions ...",
                ctx,
            )
    try:
        request = parse_deploy_args(deploy_args)
    except click.UsageError:
        pass  # the lesson names what the deploy parser refuses, below
    else:
        if request.rollout:
            rollout_confirmed(ctx, request)
    with blaming(ctx, "'DEPLOY-ARGS'"), shown("lesson", "stage", quiet):
        made = Lesson.from_command(shlex.join(["mrsandbox", "deploy", *deploy_args]))
        text = made.render(fmt)
    warn(made.experiment.warnings if made.experiment else [])
    folder = out_folder(ctx, out)
    if folder is None:
        click.echo(text, nl=False)
        return
    write_out(ctx, folder / FILES[fmt], text.encode())
