"""`python -m sandbox` runs the `mrsandbox` command."""

from sandbox.cli import run

run()
