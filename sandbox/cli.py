"""The `mrsandbox` command: `deploy` runs the lesson's flow, `regions` lists the catalogue."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from sandbox.errors import SandboxError
from sandbox.faults import SYNTAX as FAIL_SYNTAX
from sandbox.faults import Failure, parse_failure
from sandbox.flow import MAX_RETRIES, POLICIES
from sandbox.models import Model, bundled_models, load_model
from sandbox.regions import RegionCatalog
from sandbox.tracer import FORMATS, TRACKERS

COMPLETED = ("complete", "complete_with_skips")


@dataclass(frozen=True)
class DeployRequest:
    """A `mrsandbox deploy` command line, checked and ready to run."""

    regions: list[str]
    model: Model
    on_failure: str
    max_retries: int
    failures: list[Failure]
    seed: int
    fmt: str
    tracker: str
    catalog: RegionCatalog


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="multiregion-sandbox")
def main() -> None:
    """Learn and test multi-region deployment of ML models on one laptop."""


@main.command()
@click.option("--regions", metavar="R1,R2,...", help="Comma-separated regions, deployed in order.")
@click.option("--region", hidden=True)
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
    type=click.IntRange(0, MAX_RETRIES),
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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of simulated times.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--tracker",
    type=click.Choice(TRACKERS),
    default="checkpoints",
    show_default=True,
    help="Status tracker columns: the lesson's checkpoints or every step.",
)
@click.option(
    "--extra-regions",
    type=click.Path(dir_okay=False),
    help="TOML file of [[region]] tables (name, location, lat, lon) to add to the catalogue.",
)
@click.pass_context
def deploy(ctx: click.Context, **_: Any) -> None:
    """Deploy MODEL (a bundled name or a .json artifact) to each region, verify each right after
    its deployment, set up routing and start health monitoring, on simulated regions.

    Exit status: 0 when the deployment completed, 1 when it did not, 2 for a usage error.

    \b
    Example: mrsandbox deploy --regions us-east-1,eu-west-1 model_v1
    """
    from sandbox.flow import run_deployment

    request = build_request(ctx)
    d = run_deployment(
        request.regions,
        request.model,
        on_failure=request.on_failure,
        max_retries=request.max_retries,
        failures=request.failures,
        seed=request.seed,
        catalog=request.catalog,
    )
    click.echo(d.trace.render(request.fmt, request.tracker))
    ctx.exit(0 if d.outcome in COMPLETED else 1)


def parse_deploy_args(argv: Sequence[str]) -> DeployRequest:
    """Check a `mrsandbox deploy` command line (without `mrsandbox deploy`) without running it.

    Raises `click.UsageError` (exit status 2) exactly as the command would.
    """
    ctx = deploy.make_context(
        "deploy", list(argv), parent=click.Context(main, info_name="mrsandbox")
    )
    return build_request(ctx)


def _pieces(text: str) -> list[str]:
    return [p.strip() for p in text.strip("[] ").replace(" ", ",").split(",") if p.strip("[] ")]


def _is_model_name(word: str) -> bool:
    return word in bundled_models() or word.endswith(".json")


def _suggest(ctx: click.Context, regions: Sequence[str], model: str | None) -> str:
    """The command line as it should have been typed, other options kept."""
    words = ["mrsandbox", "deploy", "--regions", ",".join(dict.fromkeys(regions)), model or "MODEL"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("regions", "region"):
            continue
        value = ctx.params.get(param.name)
        if value in (None, (), param.default):
            continue
        for v in value if param.multiple else (value,):
            words += [param.opts[0], str(v)]
    return shlex.join(words)


def build_request(ctx: click.Context) -> DeployRequest:
    """Turn the parsed options into a `DeployRequest`, or fail with a usage error saying the fix."""
    p = ctx.params
    args: list[str] = list(p["args"])
    catalog = RegionCatalog.default()
    if p["extra_regions"]:
        try:
            catalog.load_file(p["extra_regions"])
        except SandboxError as e:
            raise click.BadParameter(str(e), ctx, param_hint="'--extra-regions'") from None

    def fail(message: str) -> click.UsageError:
        return click.UsageError(message, ctx)

    regions_text, single = p["regions"], p["region"]
    model = args[-1] if args and args[-1] not in catalog else None
    extras = args[:-1] if model is not None else args
    if single is not None:
        if regions_text is not None:
            raise fail("use --regions (comma-separated) or --region (one region), not both")
        if len(_pieces(single)) > 1 or extras:
            wanted = _pieces(single) + [r for e in extras for r in _pieces(e)]
            raise fail(
                "--region takes a single region; for several regions use --regions with a "
                f"comma-separated list: {_suggest(ctx, wanted, model)}"
            )
        regions_text = single
    if regions_text is None:
        raise fail(
            "missing --regions: name the regions to deploy to, separated by commas, e.g. "
            f"{_suggest(ctx, ['us-east-1', 'eu-west-1'], model)}"
        )
    wanted = _pieces(regions_text) + [r for e in extras for r in _pieces(e)]
    if "[" in regions_text + "".join(args) or "]" in regions_text + "".join(args):
        raise fail(
            "--regions takes a plain comma-separated list, without brackets: "
            f"{_suggest(ctx, wanted, model)}"
        )
    spaced = extras or any(" " in r.strip() for r in regions_text.split(","))
    if spaced and not any(_is_model_name(e) for e in extras):
        raise fail(
            f"regions must be separated by commas, not spaces: {_suggest(ctx, wanted, model)}"
        )
    if extras:
        raise fail(f"deploy takes one MODEL, got {len(args)}: {' '.join(args)}")
    if not model:
        raise fail(
            "missing MODEL: name a bundled model "
            f"({', '.join(bundled_models())}) or a path to a .json artifact after the regions"
        )
    regions = [r.strip() for r in regions_text.split(",")]
    if not any(regions):
        raise fail("--regions is empty: name at least one region, e.g. --regions us-east-1")
    if not all(regions):
        raise fail(
            f"--regions {regions_text!r} has an empty name (a doubled, leading or trailing "
            f"comma): {_suggest(ctx, [r for r in regions if r], model)}"
        )
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        raise fail(
            f"--regions lists {', '.join(twice)} more than once; list each region once: "
            f"{_suggest(ctx, regions, model)}"
        )
    try:
        for region in regions:
            catalog.check(region)
    except SandboxError as e:
        raise click.BadParameter(str(e), ctx, param_hint="'--regions'") from None
    try:
        loaded = load_model(model)
    except SandboxError as e:
        raise click.BadParameter(str(e), ctx, param_hint="'MODEL'") from None
    failures = []
    for spec in p["fails"]:
        try:
            failure = parse_failure(spec)
        except SandboxError as e:
            raise click.BadParameter(str(e), ctx, param_hint="'--fail'") from None
        if failure.region not in regions:
            raise click.BadParameter(
                f"{spec!r}: {failure.region} is not one of --regions ({', '.join(regions)})",
                ctx,
                param_hint="'--fail'",
            )
        failures.append(failure)
    return DeployRequest(
        regions,
        loaded,
        p["on_failure"],
        p["max_retries"],
        failures,
        p["seed"],
        p["fmt"],
        p["tracker"],
        catalog,
    )


@main.command("regions")
@click.option("--from", "origin", metavar="REGION", help="Also show the round trip from REGION.")
def regions_command(origin: str | None) -> None:
    """List the region catalogue: name, provider, location (and round trips from --from)."""
    catalog = RegionCatalog.default()
    if origin is not None:
        try:
            catalog.check(origin)
        except SandboxError as e:
            raise click.BadParameter(str(e), param_hint="'--from'") from None
    for r in catalog:
        line = f"{r.name:<26} {r.provider:<6} {r.location}"
        if origin is not None:
            rtt = catalog.rtt_ms(origin, r.name)
            line = f"{line:<70} {rtt:7.1f} ms  {catalog.rtt_source(origin, r.name)}"
        click.echo(line.rstrip())


def run() -> None:
    """Entry point for `python -m sandbox`."""
    main(prog_name="mrsandbox")
