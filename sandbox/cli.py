"""The `mrsandbox` command: `deploy` runs the lesson's flow once, `serve` keeps a live fleet
running, `experiment` runs a failure-injection scenario, `regions` lists the catalogue."""

from __future__ import annotations

import html
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import click

from sandbox.cli_args import (
    DeployRequest,
    Finite,
    Mistake,
    blaming,
    build_request,
    catalog_with,
    out_folder,
    pairs,
    region_list,
    regions_and_model,
)
from sandbox.errors import InvalidDeployment
from sandbox.faults import SYNTAX as FAIL_SYNTAX
from sandbox.flow import COMPLETED, MAX_RETRIES, POLICIES
from sandbox.models import load_model
from sandbox.quiz.cli import quiz
from sandbox.rollout import DEFAULT_BAKE_S, DEFAULT_CANARY_PERCENT, MAX_BAKE_S, STRATEGIES
from sandbox.routing import MAX_DNS_TTL_S
from sandbox.routing import POLICIES as ROUTING_POLICIES
from sandbox.sweep import METRICS
from sandbox.tracer import FORMATS, TRACKERS

EXTRA_REGIONS = click.option(
    "--extra-regions",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="TOML file of [[region]] tables (name, location, lat, lon) to add to the catalogue. "
    "Repeatable.",
)
SEED = click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Seed of every random draw (simulated times, fault jitter, weighted routing).",
)
TIME_SCALE = click.option(
    "--time-scale",
    type=Finite(0.001, 10),
    default=1.0,
    show_default=True,
    help="Live: wall seconds per emulated second (0.1 makes a 30 s interval take 3 s).",
)
PROCESSES = click.option(
    "--processes",
    is_flag=True,
    help="Live: run each region in its own process, so that a crash fault is a real kill.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="multiregion-sandbox")
def main() -> None:
    """Learn and test multi-region deployment of ML models on one laptop."""


@main.command()
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
    type=Finite(0, 100, min_open=True, max_open=True),
    help=f"Canary: the new version's share of a wave's traffic while it bakes "
    f"[default: {DEFAULT_CANARY_PERCENT:g}].",
)
@click.option(
    "--bake-s",
    type=Finite(0, MAX_BAKE_S),
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
    from sandbox.flow import run_deployment

    request = build_request(ctx)
    if request.rollout:
        _roll_out(ctx, request)
    settings = request.flow_settings()
    if request.live:
        from sandbox.live.fleet import LiveFleet

        fleet = LiveFleet(
            request.regions,
            catalog=request.catalog,
            time_scale=request.time_scale,
            seed=request.seed,
            processes=request.processes,
        )
        with fleet:
            d = run_deployment(request.regions, request.model, backend=fleet, **settings)
    else:
        d = run_deployment(request.regions, request.model, **settings)
    click.echo(d.trace.render(request.fmt, request.tracker))
    ctx.exit(0 if d.outcome in COMPLETED else 1)


def _roll_out(ctx: click.Context, request: DeployRequest) -> None:
    """Run a rollout as an experiment: the previous version, users, then the new version."""
    from sandbox.experiment import run_experiment
    from sandbox.scenario import parse_scenario

    scenario = parse_scenario(_rollout_document(ctx, request), "mrsandbox deploy", request.catalog)
    experiment = run_experiment(scenario, request.catalog)
    rollout = experiment.rollout
    _warn(experiment.warnings)
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
    parent = click.Context(main, info_name="mrsandbox")
    return deploy.make_context("deploy", list(argv), parent=parent)


@main.command()
@click.option("--regions", required=True, metavar="R1,R2,...", help="Comma-separated regions.")
@click.option("--model", default="model_v1", show_default=True, help="Bundled name or .json path.")
@click.option("--policy", type=click.Choice(ROUTING_POLICIES), default="latency", show_default=True)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Further regions a request tries after a failure.",
)
@click.option("--order", metavar="R1,R2,...", help="Failover order (--policy failover).")
@click.option("--weights", metavar="R1=W,R2=W", help="Weights 0-255 (--policy weighted).")
@TIME_SCALE
@click.option(
    "--health-interval",
    type=Finite(0, 3600, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds between health probes (emulated).",
)
@click.option(
    "--health-timeout",
    type=Finite(0, 60, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds a health probe may take (emulated).",
)
@click.option("--failure-threshold", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--healthy-threshold", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option(
    "--dns-ttl-s",
    type=Finite(0, MAX_DNS_TTL_S),
    default=0.0,
    show_default=True,
    help="Seconds the users near a region keep the region the gateway gave them, healthy or "
    "not, as DNS clients cache an answer (0: asked on every request).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address every server listens on; any other than this machine's own warns, since "
    "other machines can then reach the fleet.",
)
@PROCESSES
@SEED
@EXTRA_REGIONS
@click.pass_context
def serve(ctx: click.Context, **p: Any) -> None:
    """Start live regions and the gateway, deploy the model, and serve until Ctrl-C or SIGTERM.

    Prints one JSON line on stdout when ready: {"gateway": url, "regions": {name: url},
    "admin_token": token}; the deployment's tables go to stderr.
    """
    from sandbox.flow import run_deployment
    from sandbox.health import HealthPolicy
    from sandbox.live.fleet import LiveFleet
    from sandbox.routing import RoutingPolicy

    catalog = catalog_with(ctx, p["extra_regions"])

    def fail(message: str, wanted: Sequence[str], mistake: str) -> click.UsageError:
        fixed = ",".join(dict.fromkeys(wanted)) or "us-east-1,eu-west-1"
        return Mistake(f"{message}: --regions {fixed}", ctx, mistake, param_hint="'--regions'")

    regions = region_list(ctx, p["regions"], catalog, fail)
    with blaming(ctx, "'--model'"):
        model = load_model(p["model"])
    for flag, key, policy in (
        ("--order", "order", "failover"),
        ("--weights", "weights", "weighted"),
    ):
        if p[key] and p["policy"] != policy:
            raise click.UsageError(f"{flag} applies to --policy {policy} only", ctx)
    order = tuple(r.strip() for r in p["order"].split(",")) if p["order"] else ()
    weights = pairs(ctx, "--weights", p["weights"])
    routing = RoutingPolicy(p["policy"], p["retries"], order, weights, p["dns_ttl_s"])
    try:
        routing.check(regions)
    except InvalidDeployment as e:
        raise click.UsageError(str(e), ctx) from None
    if p["health_timeout"] >= p["health_interval"]:
        message = (
            f"{p['health_timeout']:g} s is not shorter than --health-interval "
            f"({p['health_interval']:g} s): a probe must end before the next one starts"
        )
        raise click.BadParameter(message, ctx, param_hint="'--health-timeout'")
    health = HealthPolicy(
        p["health_interval"], p["health_timeout"], p["failure_threshold"], p["healthy_threshold"]
    )
    fleet = LiveFleet(
        regions,
        catalog=catalog,
        time_scale=p["time_scale"],
        seed=p["seed"],
        processes=p["processes"],
        host=p["host"],
    )
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fleet.start()
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
        except (OSError, ValueError) as e:  # waitress: ValueError for a name it cannot resolve
            reason = (getattr(e, "strerror", None) or str(e)).rstrip(".")
            message = f"cannot listen on {p['host']}: {reason}; use 127.0.0.1 or an address here"
            raise click.BadParameter(message, ctx, param_hint="'--host'") from None
        with fleet:
            d = run_deployment(
                regions, model, backend=fleet, health=health, routing=routing, seed=p["seed"]
            )
            click.echo(d.trace.render("text"), err=True)
            if d.outcome not in COMPLETED:
                ctx.exit(1)
            ready = {
                "gateway": fleet.gateway_url,
                "regions": fleet.urls,
                "admin_token": fleet.admin_token,
            }
            click.echo(json.dumps(ready))
            dashboard = f"{fleet.gateway_url}/dashboard#token={fleet.admin_token}"
            click.echo(f"Dashboard: {dashboard}", err=True)
            if d.health_view is not None:
                d.health_view.subscribe(
                    lambda t: click.echo(
                        f"t={t.t:.1f} s: {t.region} {t.state} ({t.source})", err=True
                    )
                )
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@main.command()
@click.argument("scenario", required=False)
@click.option("--list", "listing", is_flag=True, help="List the bundled scenarios.")
@click.option("--mode", type=click.Choice(["sim", "live"]), help="Override the scenario's mode.")
@click.option("--out", type=click.Path(file_okay=False), help="Write journal, CSV and plots here.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_context
def experiment(
    ctx: click.Context,
    scenario: str | None,
    listing: bool,
    mode: str | None,
    out: str | None,
    fmt: str,
) -> None:
    """Run a failure-injection SCENARIO (a TOML path or a bundled name) and measure what users saw.

    Exit status: 0 when the steady state held, 1 when it deviated, 2 for an invalid scenario,
    130 when interrupted (Ctrl-C).
    """
    import dataclasses
    import platform
    import time

    from sandbox.experiment import run_experiment
    from sandbox.scenario import bundled_scenarios, load_scenario

    if listing:
        for name in bundled_scenarios():
            click.echo(f"{name:<24} {load_scenario(name).name}")
        return
    if not scenario:
        raise click.UsageError("name a SCENARIO (a .toml path or a bundled name; see --list)", ctx)
    folder = out_folder(ctx, out)
    with blaming(ctx, "'SCENARIO'"):
        loaded = load_scenario(scenario)
        if mode is not None:
            loaded = dataclasses.replace(loaded, mode=mode)
        started = time.perf_counter()
        try:
            result = run_experiment(loaded)
        except KeyboardInterrupt:
            click.echo("Interrupted: the experiment and every server it started stopped.", err=True)
            ctx.exit(130)
    if folder is not None:
        from sandbox.plots import draw

        (folder / "journal.json").write_text(json.dumps(result.journal, indent=2) + "\n")
        result.log.to_csv(folder / "requests.csv")
        draw(result, folder)
        run = {
            "wall_s": round(time.perf_counter() - started, 3),
            "host": platform.node(),
            "python": platform.python_version(),
            "warnings": result.warnings,
        }
        (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    if fmt == "json":
        click.echo(json.dumps(result.journal, indent=2))
    else:
        click.echo(result.report())
    _warn(result.warnings)
    ctx.exit(1 if result.deviated else 0)


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)


@main.command()
@click.argument("scenario")
@click.option(
    "--vary",
    "varies",
    multiple=True,
    required=True,
    metavar="KEY=V1,V2,...",
    help="A scenario key and the values to try, e.g. health.interval_s=5,10,30. "
    "Repeatable: every combination runs.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Write sweep.csv and plots here.")
@click.option("--workers", type=click.IntRange(1, 64), help="Parallel processes [default: CPUs].")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(METRICS),
    help="Metrics to plot [default: detection_s and failed].",
)
@click.pass_context
def sweep(
    ctx: click.Context,
    scenario: str,
    varies: tuple[str, ...],
    out: str | None,
    workers: int | None,
    metrics: tuple[str, ...],
) -> None:
    """Run SCENARIO for every combination of the --vary values, in parallel processes."""
    import csv
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    from sandbox import sweep as sweeps
    from sandbox.scenario import load_scenario
    from sandbox.tables import Table

    with blaming(ctx, "'SCENARIO' or '--vary'"):
        loaded = load_scenario(scenario)
        vary = [sweeps.parse_vary(text) for text in varies]
        total = len(sweeps.plan(loaded.document, loaded.source, vary))
    folder = out_folder(ctx, out)
    pool = ProcessPoolExecutor(workers, initializer=sweeps.worker_init, initargs=(os.getpid(),))
    try:
        with tqdm(total=total, desc="sweep", unit="run", file=sys.stderr) as bar:
            rows = sweeps.sweep(loaded.document, loaded.source, vary, pool, bar.update)
    except KeyboardInterrupt:
        for worker in multiprocessing.active_children():  # the pool's, mid-run
            worker.terminate()
        click.echo("Interrupted: the sweep and its workers stopped.", err=True)
        ctx.exit(130)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    keys = [key for key, _ in vary]
    columns = keys + list(METRICS)
    table = Table("Sweep", tuple(columns), tuple(tuple(str(r[c]) for c in columns) for r in rows))
    click.echo(table.to_text())
    if folder is not None:
        from sandbox.plots import draw_sweep

        with (folder / "sweep.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        for metric in metrics or ("detection_s", "failed"):
            draw_sweep(rows, keys, metric, folder)


@main.command("regions")
@click.option("--from", "origin", metavar="REGION", help="Also show the round trip from REGION.")
@EXTRA_REGIONS
@click.pass_context
def regions_command(ctx: click.Context, origin: str | None, extra_regions: Sequence[str]) -> None:
    """List the region catalogue: name, provider, location (and round trips from --from)."""
    catalog = catalog_with(ctx, extra_regions)
    if origin is not None:
        with blaming(ctx, "'--from'"):
            catalog.check(origin)
    for r in catalog:
        line = f"{r.name:<26} {r.provider:<6} {r.location}"
        if origin is not None:
            rtt = catalog.rtt_ms(origin, r.name)
            line = f"{line:<70} {rtt:7.1f} ms  {catalog.rtt_source(origin, r.name)}"
        click.echo(line.rstrip())


main.add_command(quiz)


def run() -> None:
    """Entry point for `python -m sandbox`."""
    main(prog_name="mrsandbox")
