"""`mrsandbox class serve`: a live class, students answering in their browsers."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

import click

from sandbox.args.common import TIME_SCALE, blaming
from sandbox.cli.interrupts import serving, stops


@click.group("class")
def class_group() -> None:
    """A live class: students answer a quiz in their browsers, the instructor sees the room."""


@class_group.command("serve")
@click.option(
    "--set",
    "set_name",
    default="generated",
    show_default=True,
    help="The quiz: a set of `mrsandbox quiz list` (visual, practice, generated, test).",
)
@click.option("--count", type=click.IntRange(1, 100), help="Questions of the generated set.")
@click.option(
    "--db",
    default="class.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The class's SQLite file: answers kept there; the same file again goes on with the class.",
)
@click.option(
    "--regions",
    help="Start a live fleet of these regions beside the class (model_v1 deployed, its "
    "dashboard on the gateway), for predictions the room answers before the fleet does.",
)
@TIME_SCALE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8800,
    show_default=True,
    help="The class's port: keep it when restarting, so that the students' pages go on "
    "(0: any free port).",
)
@click.pass_context
@stops("the class's start")
def serve(ctx: click.Context, **p: Any) -> None:
    """Serve a class until Ctrl-C or SIGTERM (exit 0, every answer kept; 130 or 143 when
    either comes before the class is ready).

    Prints one JSON line on stdout when ready: {"url": ..., "instructor_token": ...} (and
    "fleet": the gateway's URL, with --regions); the students' page (URL/class), the
    instructor's board and the fleet's dashboard go to stderr.
    """
    from sandbox.classroom.app import class_app
    from sandbox.classroom.room import Room
    from sandbox.classroom.store import Store
    from sandbox.live.server import ServerThread, exposed

    with blaming(ctx, "'--db'"):
        store = Store(p["db"])
    with contextlib.ExitStack() as running:  # closed in the reverse order: server, fleet, file
        running.callback(store.close)
        observer = _fleet(ctx, p, running) if p["regions"] else None
        with blaming(ctx, "'--set', '--count' or '--db'"):
            room = Room(store, p["set_name"], p["count"], observer=observer)
        try:
            _can_listen(p["host"], p["port"])  # before the server: a failed one leaks its socket
            server = ServerThread(class_app(room), p["port"], p["host"])
        except (OSError, ValueError) as e:
            reason = (getattr(e, "strerror", None) or str(e)).rstrip(".")
            message = (
                f"cannot listen on {p['host']}:{p['port']}: {reason}; give another --port "
                "(0: any free one) or --host"
            )
            raise click.BadParameter(message, ctx, param_hint="'--host' or '--port'") from None
        if p["port"] == 0:
            click.echo(
                "Warning: --port 0 picks a free port: a restart gets another one, and students "
                "must open the new address and be let in again; give --port to keep it",
                err=True,
            )
        warning = exposed(p["host"])
        if warning:
            click.echo(f"Warning: {warning}", err=True)
        server.start()
        running.callback(server.stop)
        ready = {"url": server.url, "instructor_token": room.instructor_token}
        if observer is not None:
            ready["fleet"] = observer.fleet.gateway_url
        with serving():
            click.echo(json.dumps(ready))
            click.echo(f"Students: {server.url}/class", err=True)
            board = f"{server.url}/class/board#token={room.instructor_token}"
            click.echo(f"Instructor: {board}", err=True)
    click.echo(f"Class stopped; every answer is kept in {store.path}", err=True)


def _can_listen(host: str, port: int) -> None:
    """Raise OSError when `host`:`port` cannot be listened on (taken, or not this machine's)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        probe.bind((host.strip("[]"), port))


def _fleet(ctx: click.Context, p: dict[str, Any], running: contextlib.ExitStack) -> Any:
    """A live fleet of --regions with model_v1 deployed and its dashboard, closed by `running`;
    the observer that runs predictions on it."""
    from sandbox.args.common import region_list
    from sandbox.classroom.predict import fleet_beside
    from sandbox.core.regions import RegionCatalog
    from sandbox.errors import DeploymentHalted

    def fail(message: str, wanted: Any, mistake: str) -> click.UsageError:
        fixed = ",".join(dict.fromkeys(wanted)) or "us-east-1,eu-west-1"
        return click.BadParameter(f"{message}: --regions {fixed}", ctx, param_hint="'--regions'")

    regions = region_list(ctx, p["regions"], RegionCatalog.default(), fail)
    try:
        beside = fleet_beside(regions, time_scale=p["time_scale"], host=p["host"])
        observer = running.enter_context(beside)
    except DeploymentHalted as e:
        raise click.ClickException(str(e)) from None
    fleet = observer.fleet
    click.echo(f"Fleet: {fleet.gateway_url}/dashboard#token={fleet.admin_token}", err=True)
    return observer
