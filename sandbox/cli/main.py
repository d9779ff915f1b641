"""The `mrsandbox` command: one group, a module per command."""

from __future__ import annotations

import click

from sandbox.args.common import CONTEXT
from sandbox.cli.classroom import class_group
from sandbox.cli.deploy import deploy
from sandbox.cli.experiment import experiment, sweep
from sandbox.cli.interrupts import Stoppable
from sandbox.cli.lesson import lesson
from sandbox.cli.quiz import quiz
from sandbox.cli.regions import regions_command
from sandbox.cli.serve import serve


@click.group(cls=Stoppable, context_settings=CONTEXT)
@click.version_option(package_name="multiregion-sandbox")
def main() -> None:
    """Learn and test multi-region deployment of ML models on one laptop."""


for command in (deploy, serve, experiment, sweep, regions_command, quiz, lesson, class_group):
    main.add_command(command)


def run() -> None:
    """Entry point for `python -m sandbox`."""
    main(prog_name="mrsandbox")
