"""`mrsandbox experiment` and `mrsandbox sweep`: failure-injection scenarios, once or over every
combination of some keys' values."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib.resources import files

import click

from sandbox.args.common import blaming, run_folder, staged
from sandbox.cli.confirm import YES, confirmed
from sandbox.cli.interrupts import Stopped, stops
from sandbox.cli.progress import QUIET, shown
from sandbox.errors import StorageError
from sandbox.experiment.sweeps import EXPECTED, MAX_SEEDS, METRICS


@click.command()
@click.argument("scenario", required=False)
@click.option("--list", "listing", is_flag=True, help="List the bundled scenarios.")
@click.option("--mode", type=click.Choice(["sim", "live"]), help="Override the scenario's mode.")
@click.option("--out", type=click.Path(file_okay=False), help="Write journal, CSV and plots here.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--journal-format",
    type=click.Choice(["sandbox", "chaostoolkit"]),
    default="sandbox",
    show_default=True,
    help="The journal's shape in --out's journal.json and with --format json: the sandbox's "
    "own, or Chaos Toolkit's.",
)
@click.option(
    "--chaostoolkit-experiment",
    "chaos_file",
    is_flag=True,
    help="Print the path of the bundled Chaos Toolkit experiment (for `chaos run` against "
    "`mrsandbox serve`) and exit.",
)
@QUIET
@YES
@click.pass_context
@stops("the experiment and every server it started")
def experiment(
    ctx: click.Context,
    scenario: str | None,
    listing: bool,
    mode: str | None,
    out: str | None,
    fmt: str,
    journal_format: str,
    chaos_file: bool,
    quiet: bool,
    yes: bool,
) -> None:
    """Run a failure-injection SCENARIO (a TOML path or a bundled name) and measure what users saw.

    Exit status: 0 when the steady state held, 1 when it deviated, 2 for an invalid scenario
    or a run over the bound of wall time without --yes, 3 when the run's requests could not
    be kept (a full temporary folder), 130 when interrupted (Ctrl-C), 143 when terminated
    (SIGTERM).
    """
    import platform
    import time

    from sandbox.experiment.bounds import run_estimate
    from sandbox.experiment.run import run_experiment
    from sandbox.experiment.scenario import bundled_scenarios, load_scenario

    if listing:
        for name in bundled_scenarios():
            click.echo(f"{name:<24} {load_scenario(name).name}")
        return
    if chaos_file:
        click.echo(files("sandbox") / "data" / "chaos" / "regional_outage.json")
        return
    if not scenario:
        raise click.UsageError("name a SCENARIO (a .toml path or a bundled name; see --list)", ctx)
    if journal_format != "sandbox" and out is None and fmt != "json":
        raise click.UsageError(
            f"--journal-format {journal_format} shapes a journal, and none is written: add "
            "--out DIR or --format json",
            ctx,
        )
    with blaming(ctx, "'SCENARIO'"):
        loaded = load_scenario(scenario, mode=mode)
    fix = "duration_s or time_scale" if loaded.mode == "live" else "duration_s or rate_per_s"
    confirmed(ctx, run_estimate(loaded), f"the scenario's {fix}")
    # after the checks: a refused run leaves nothing behind, an unfinished one no new folder
    with run_folder(ctx, out) as folder:
        with blaming(ctx, "'SCENARIO'"):
            started = time.perf_counter()
            try:
                with shown(loaded.name, "emulated s", quiet):
                    result = run_experiment(loaded)
            except StorageError as e:  # not the scenario's fault: blamed on the folder
                raise Unkept(str(e)) from None
        written = result.journal
        if journal_format == "chaostoolkit":
            from sandbox.experiment.chaostoolkit import chaostoolkit_journal

            written = chaostoolkit_journal(result)
        if folder is not None:
            from sandbox.experiment.columns import write_csv
            from sandbox.experiment.plots import draw

            with staged(ctx, folder) as stage:  # whole: an interrupted run leaves no half
                (stage / "journal.json").write_text(json.dumps(written, indent=2) + "\n")
                write_csv(result.log, stage / "requests.csv")
                draw(result, stage)
                run = {
                    "wall_s": round(time.perf_counter() - started, 3),
                    "host": platform.node(),
                    "python": platform.python_version(),
                    "warnings": result.warnings,
                }
                (stage / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    if fmt == "json":
        click.echo(json.dumps(written, indent=2))
    else:
        click.echo(result.report())
    warn(result.warnings)
    ctx.exit(1 if result.deviated else 0)


class Unkept(click.ClickException):
    """A run whose requests could not be kept: exit status 3."""

    exit_code = 3


def warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)


@click.command()
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
    "--seeds",
    type=click.IntRange(1, MAX_SEEDS),
    default=3,
    show_default=True,
    help="Runs of each combination, with the scenario's seed and the next ones: the plots "
    "show their spread.",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(METRICS),
    help="Metrics to plot [default: detection_s and failed].",
)
@QUIET
@YES
@click.pass_context
@stops("the sweep and its workers")
def sweep(
    ctx: click.Context,
    scenario: str,
    varies: tuple[str, ...],
    out: str | None,
    workers: int | None,
    seeds: int,
    metrics: tuple[str, ...],
    quiet: bool,
    yes: bool,
) -> None:
    """Run SCENARIO for every combination of the --vary values, in parallel processes."""
    import csv
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sandbox.experiment import sweeps
    from sandbox.experiment.bounds import run_estimate, sweep_estimate
    from sandbox.experiment.scenario import load_scenario, parse_scenario
    from sandbox.flow.tables import Table

    with blaming(ctx, "'SCENARIO' or '--vary'"):
        loaded = load_scenario(scenario)
        vary = [sweeps.parse_vary(text) for text in varies]
        points = sweeps.plan(loaded.document, loaded.source, vary)
        total = len(sweeps.seeded(points, seeds))
    runs = [run_estimate(parse_scenario(doc, loaded.source)) for _, doc in points] * seeds
    fix = "--seeds, the --vary values or the scenario's duration"
    confirmed(ctx, sweep_estimate(runs, workers or os.cpu_count() or 1), fix)
    with run_folder(ctx, out) as folder:
        pool = ProcessPoolExecutor(workers, initializer=sweeps.worker_init, initargs=(os.getpid(),))
        stopped = False
        try:
            with shown("sweep", "run", quiet, total) as bar:
                rows = sweeps.sweep(loaded.document, loaded.source, vary, pool, bar.update, seeds)
        except Stopped:
            stopped = True
            for worker in multiprocessing.active_children():  # the pool's, mid-run
                worker.terminate()
            raise
        except StorageError as e:  # a worker's spool: blamed on the folder, not the scenario
            raise Unkept(str(e)) from None
        finally:  # waited for unless stopped: a pool left behind trips Python's exit clean-up
            pool.shutdown(wait=not stopped, cancel_futures=True)
        keys = [key for key, _ in vary]
        columns = list(dict.fromkeys([*keys, "seed", *METRICS, *EXPECTED]))  # once: seed may vary
        rows_shown = tuple(tuple(str(r[c]) for c in columns) for r in rows)
        click.echo(Table("Sweep", tuple(columns), rows_shown).to_text())
        if folder is not None:
            from sandbox.experiment.sweep_plot import draw_sweep

            with staged(ctx, folder) as stage:  # whole: an interrupted run leaves no half
                with (stage / "sweep.csv").open("w", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=columns)
                    writer.writeheader()
                    writer.writerows(rows)
                for metric in metrics or ("detection_s", "failed"):
                    draw_sweep(rows, keys, metric, stage)
