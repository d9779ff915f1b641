"""The `mrsandbox` command: one group, a module per command, each module imported only when its
command runs or shows its help, so that `mrsandbox --help` starts without them."""

from __future__ import annotations

import importlib

import click

from sandbox.cli.interrupts import Stoppable

# Each command: where it lives (module:attribute) and its line in `mrsandbox --help`.
COMMANDS = {
    "class": ("sandbox.cli.classroom:class_group", "A live class: a quiz in students' browsers."),
    "deploy": ("sandbox.cli.deploy:deploy", "Deploy MODEL to regions, simulated or live."),
    "experiment": ("sandbox.cli.experiment:experiment", "Run a failure-injection SCENARIO."),
    "lesson": ("sandbox.cli.lesson:lesson", "The lesson of a `mrsandbox deploy` run."),
    "quiz": ("sandbox.cli.quiz:quiz", "Quizzes whose answer keys come from the sandbox."),
    "regions": ("sandbox.cli.regions:regions_command", "List the region catalogue."),
    "serve": ("sandbox.cli.serve:serve", "Serve live regions and the gateway until Ctrl-C."),
    "sweep": ("sandbox.cli.experiment:sweep", "Run SCENARIO for every combination of --vary."),
}


class LazyGroup(Stoppable):
    """The `mrsandbox` group: a command's module is imported when the command is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name][0].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from `COMMANDS`, no command imported."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, line) in sorted(COMMANDS.items())])


# Subcommands inherit the group's settings (`-h` too).
@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="multiregion-sandbox")
def main() -> None:
    """Learn and test multi-region deployment of ML models on one laptop."""


def run() -> None:
    """Entry point for `python -m sandbox`."""
    main(prog_name="mrsandbox")
