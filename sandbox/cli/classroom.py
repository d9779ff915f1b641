"""`mrsandbox class serve`: a live class, students answering in their browsers."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from sandbox.args.common import blaming


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
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port."
)
@click.pass_context
def serve(ctx: click.Context, **p: Any) -> None:
    """Serve a class until Ctrl-C or SIGTERM (exit 0, every answer kept).

    Prints one JSON line on stdout when ready: {"url": ..., "instructor_token": ...}; the
    students' page (URL/class) and the instructor's board go to stderr.
    """
    from sandbox.classroom.app import class_app
    from sandbox.classroom.room import Room
    from sandbox.classroom.store import Store
    from sandbox.live.server import ServerThread, exposed

    with blaming(ctx, "'--db'"):
        store = Store(p["db"])
    try:
        with blaming(ctx, "'--set'"):
            room = Room(store, p["set_name"], p["count"])
        try:
            server = ServerThread(class_app(room), p["port"], p["host"])
        except (OSError, ValueError) as e:
            reason = (getattr(e, "strerror", None) or str(e)).rstrip(".")
            message = f"cannot listen on {p['host']}:{p['port']}: {reason}"
            raise click.BadParameter(message, ctx, param_hint="'--host' or '--port'") from None
        warning = exposed(p["host"])
        if warning:
            click.echo(f"Warning: {warning}", err=True)
        stop = threading.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
        server.start()
        try:
            click.echo(json.dumps({"url": server.url, "instructor_token": room.instructor_token}))
            click.echo(f"Students: {server.url}/class", err=True)
            click.echo(
                f"Instructor: {server.url}/class/board#token={room.instructor_token}", err=True
            )
            stop.wait()
            click.echo("Class stopped; every answer is kept in " + str(store.path), err=True)
        finally:
            server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        store.close()
