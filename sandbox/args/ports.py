"""Where `serve` listens: `--port P` (the gateway on P, the regions on the ports after it, in
`--regions` order) or `--region-ports R1=P1,...`, checked before anything listens; and the
`--prometheus-targets` file of every server, written once they listen. Every mistake is a usage
error on its flag (exit status 2) that says what to type instead."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sandbox.args.common import number_type, pairs
from sandbox.core.checks import Range
from sandbox.errors import PortUnavailable

PORTS = Range(1, 65535, whole=True)  # what --port and --region-ports take
PORT = click.option(
    "--port",
    type=number_type(PORTS),
    help="The gateway's port; the regions take the ports after it, in --regions order "
    "[default: any free ports].",
)
REGION_PORTS = click.option(
    "--region-ports",
    metavar="R1=P1,R2=P2",
    help="Each region's port instead (every region of --regions once).",
)


def _named(ctx: click.Context, param: click.Parameter, path: str | None) -> str | None:
    """Refuse an empty --prometheus-targets at once (it would otherwise mean no file at all)."""
    if path is not None and not path.strip():
        raise click.BadParameter("is empty; name the file to write, e.g. targets.json", ctx, param)
    return path


PROMETHEUS_TARGETS = click.option(
    "--prometheus-targets",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    callback=_named,
    help="Write a Prometheus file_sd JSON of the gateway and every region here once they listen "
    "(kept on exit).",
)


def fleet_ports(
    ctx: click.Context, regions: Sequence[str], port: int | None, region_ports: str | None
) -> dict[str, int]:
    """Each region's port (0: any free one) from `--port` or `--region-ports`."""
    if region_ports is None:
        if port is None:
            return {}
        last = port + len(regions)
        if last > PORTS.high:
            message = (
                f"{port} leaves no room for the {len(regions)} region port(s) after it (up to "
                f"{last}); give at most {int(PORTS.high) - len(regions)}, or --region-ports"
            )
            raise click.BadParameter(message, ctx, param_hint="'--port'")
        return {region: port + 1 + i for i, region in enumerate(regions)}
    hint = "'--region-ports'"
    given = pairs(ctx, "--region-ports", region_ports, "port", "8001")
    unknown = [r for r in given if r not in regions]
    if unknown:
        message = (
            f"{unknown[0]!r} is not one of --regions {','.join(regions)}; name only those "
            "regions, or add it to --regions"
        )
        raise click.BadParameter(message, ctx, param_hint=hint)
    missing = [r for r in regions if r not in given]
    if missing:
        message = (
            f"no port for {', '.join(missing)}; add {missing[0]}=PORT (every region needs one)"
        )
        raise click.BadParameter(message, ctx, param_hint=hint)
    for region, number in given.items():
        problem = PORTS.problem(number)
        if problem:
            raise click.BadParameter(f"{region}: {problem}", ctx, param_hint=hint)
    owners = {port: "the gateway (--port)"} if port is not None else {}
    for region, number in given.items():
        if int(number) in owners:
            message = (
                f"port {int(number)} is given to both {owners[int(number)]} and {region}; "
                "give each server a port of its own"
            )
            raise click.BadParameter(message, ctx, param_hint=hint)
        owners[int(number)] = region
    return {region: int(number) for region, number in given.items()}


def unavailable(
    ctx: click.Context, e: PortUnavailable, region_ports: str | None
) -> click.UsageError:
    """The usage error of a port a server could not listen on, on the flag that gave it."""
    flag = "--region-ports" if region_ports is not None and e.server != "gateway" else "--port"
    after = " (the regions take the ports after it)" if flag == "--port" else ""
    message = (
        f"{e.server} cannot listen on port {e.port} ({e.reason}); give another {flag}{after}, "
        "or stop what listens there"
    )
    return click.BadParameter(message, ctx, param_hint=f"'{flag}'")


def write_targets(ctx: click.Context, path: str, groups: list[dict[str, Any]]) -> None:
    """Write the file_sd target groups to `path` at once (a watching Prometheus never reads half
    of it); a usage error on --prometheus-targets when it cannot be written."""
    target, temp = Path(path), None
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        temp = Path(name)
        with os.fdopen(handle, "w") as out:
            json.dump(groups, out, indent=2)
        temp.chmod(0o644)  # readable by a Prometheus running as a user of its own
        os.replace(temp, target)
    except OSError as e:
        if temp is not None:
            temp.unlink(missing_ok=True)
        reason = e.strerror or str(e)
        message = f"cannot write {path}: {reason}; name a file in a folder you can write to"
        raise click.BadParameter(message, ctx, param_hint="'--prometheus-targets'") from None
