"""`mrsandbox regions`: the region catalogue, with round trips from one region."""

from __future__ import annotations

from collections.abc import Sequence

import click

from sandbox.args.common import EXTRA_REGIONS, blaming, catalog_with


@click.command("regions")
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
