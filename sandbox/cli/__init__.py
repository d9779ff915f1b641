"""The command line, `mrsandbox`: a module per command over the parts below it."""

from sandbox.cli.main import main, run

__all__ = ["main", "run"]
