"""`mrsandbox regions`: the region catalogue, with round trips from one region."""

from __future__ import annotations

from collections.abc import Sequence

import click

from sandbox.args.common import EXTRA_REGIONS, blaming, catalog_with
from sandbox.cli.interrupts import stops
from sandbox.core import RegionCatalog


@click.command("regions")
@click.option("--from", "origin", metavar="REGION", help="Also show the round trip from REGION.")
@click.option(
    "--check-estimate",
    is_flag=True,
    help="Instead, estimate each measured pair from all the others and show the error.",
)
@EXTRA_REGIONS
@click.pass_context
@stops("the listing")
def regions_command(
    ctx: click.Context, origin: str | None, check_estimate: bool, extra_regions: Sequence[str]
) -> None:
    """List the region catalogue: name, provider, location (and round trips from --from)."""
    catalog = catalog_with(ctx, extra_regions)
    if check_estimate and origin is not None:
        raise click.UsageError("use --check-estimate or --from, not both", ctx)
    if check_estimate:
        _show_estimate_checks(catalog)
        return
    if origin is not None:
        with blaming(ctx, "'--from'"):
            catalog.check(origin)
    for r in catalog:
        line = f"{r.name:<26} {r.provider:<6} {r.location}"
        if origin is not None:
            rtt = catalog.rtt_ms(origin, r.name)
            line = f"{line:<70} {rtt:7.1f} ms  {catalog.rtt_source(origin, r.name)}"
        click.echo(line.rstrip())


def _show_estimate_checks(catalog: RegionCatalog) -> None:
    """The fitted estimate and its leave-one-out error on each measured pair, worst first."""
    checks = catalog.estimate_checks()
    click.echo(
        f"estimate: rtt = {catalog.estimate_slope:.3f} x path bound + "
        f"{catalog.estimate_intercept_ms:.2f} ms, fitted to {len(checks)} measured pairs"
    )
    if not checks:
        click.echo("no measured pairs: nothing to check")
        return
    click.echo(f"each pair below is estimated by the fit to the other {len(checks) - 1}")
    click.echo(f"{'region_a':<16} {'region_b':<16} {'measured':>9} {'estimate':>9} {'error':>7}")
    errors = [abs(c.estimate_ms - c.measured_ms) / c.measured_ms for c in checks]
    for error, c in sorted(zip(errors, checks, strict=True), key=lambda pair: -pair[0]):
        click.echo(
            f"{c.region_a:<16} {c.region_b:<16} {c.measured_ms:9.2f} {c.estimate_ms:9.1f} "
            f"{100 * error:6.1f}%"
        )
    click.echo(f"mean absolute percentage error: {100 * sum(errors) / len(errors):.1f}%")
