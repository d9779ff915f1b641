"""`mrsandbox --help` lists every command without importing any of them (nor the libraries they
use); each command's own help, which imports it, still shows every option."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from sandbox.cli.main import COMMANDS, main

HEAVY = {"simpy", "numpy", "matplotlib", "flask", "requests", "waitress", "tqdm", "jinja2"}
# `mrsandbox --help` in a fresh interpreter; the modules it imported go to stderr as JSON.
TOP_HELP = """
import json, sys
from sandbox.cli import main
try:
    main(["--help"], prog_name="mrsandbox")
except SystemExit as e:
    print(json.dumps({"status": e.code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def test_top_help_lists_every_command_and_imports_none_of_them():
    done = subprocess.run([sys.executable, "-c", TOP_HELP], capture_output=True, text=True)
    seen = json.loads(done.stderr)
    assert seen["status"] == 0
    rows = done.stdout.split("Commands:\n", 1)[1].splitlines()
    assert [row.split()[0] for row in rows] == sorted(COMMANDS)
    modules = set(seen["modules"])
    assert not modules & HEAVY, f"`mrsandbox --help` imported {sorted(modules & HEAVY)}"
    ours = {m for m in modules if m.startswith("sandbox.")}
    assert ours <= {
        "sandbox.errors",
        "sandbox.lazy",
        "sandbox.cli",
        "sandbox.cli.main",
        "sandbox.cli.interrupts",
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_where_the_list_says_and_its_help_shows_every_option(name, invoke):
    command = main.get_command(click.Context(main), name)
    assert isinstance(command, click.Command) and command.name == name
    shown = invoke(name, "--help")
    assert shown.exit_code == 0, shown.output
    flags = {
        f for p in command.params if isinstance(p, click.Option) and not p.hidden for f in p.opts
    }
    assert all(f in shown.output for f in flags)
    for sub in getattr(command, "commands", {}):  # a group: its commands are listed
        assert sub in shown.output


def test_an_unknown_command_is_a_usage_error(invoke):
    result = invoke("deplyo")
    assert result.exit_code == 2
    assert "No such command 'deplyo'" in result.output
