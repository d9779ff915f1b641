"""Command lines as users type them: the `mrsandbox deploy` line (which the quizzes judge by) and
the checks every command shares."""

from sandbox.args.deploy import parse_deploy_args
from sandbox.args.request import DeployRequest

__all__ = ["DeployRequest", "parse_deploy_args"]
