"""The runs that answer questions: a `mrsandbox deploy` command line run on simulated regions
(with `--leave-out` for a counterfactual), the real parser's verdict on a command line, and the
detection time of an outage in a simulated experiment."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from sandbox.args.common import Mistake
from sandbox.args.deploy import parse_deploy_args, parse_deploy_syntax
from sandbox.args.request import DeployRequest
from sandbox.errors import InvalidQuiz
from sandbox.experiment.sweeps import run_point
from sandbox.flow.deployment import Deployment


def deploy_words(command: str) -> list[str]:
    """The words after `deploy` in `[mrsandbox] deploy ...`."""
    if not isinstance(command, str):
        raise InvalidQuiz(
            f"expected a `mrsandbox deploy ...` command line as text, got {command!r}"
        )
    try:
        words = shlex.split(command)
    except ValueError as e:
        raise InvalidQuiz(f"{command!r} is not a command line: {e}") from None
    if words[:1] == ["mrsandbox"]:
        words = words[1:]
    if words[:1] != ["deploy"]:
        raise InvalidQuiz(f"{command!r}: expected a `mrsandbox deploy ...` command line")
    return words[1:]


def request_of(command: str) -> DeployRequest:
    """What a `mrsandbox deploy` command line asks for; refused with InvalidQuiz for a line the
    parser refuses or one that asks for a live run."""
    try:
        request = parse_deploy_args(deploy_words(command))
    except click.UsageError as e:
        raise InvalidQuiz(f"{command!r}: {e.format_message()}") from None
    if request.live:
        raise InvalidQuiz(f"{command!r}: questions are answered by simulated runs; drop --live")
    return request


def run_command(command: str) -> Deployment:
    """Run a `mrsandbox deploy` command line on simulated regions, as the command would."""
    return request_of(command).run()


@dataclass(frozen=True)
class Verdict:
    """What `mrsandbox deploy` makes of a command line: its regions, or the mistake it names."""

    regions: tuple[str, ...] = ()
    model: str = ""
    mistake: str = ""  # empty when the command line is accepted
    message: str = ""

    @property
    def accepted(self) -> bool:
        return not self.mistake


def judge(command: str, load_model: bool = True) -> Verdict:
    """Parse `command` with the real `mrsandbox deploy` parser.

    With `load_model=False` only the syntax is judged, so a placeholder model name passes.
    """
    words = deploy_words(command)
    try:
        if load_model:
            request = parse_deploy_args(words)
            return Verdict(tuple(request.regions), request.model.name)
        regions, model = parse_deploy_syntax(words)
        return Verdict(tuple(regions), model)
    except Mistake as e:
        return Verdict(mistake=e.mistake, message=e.format_message())
    except click.UsageError as e:
        return Verdict(mistake="usage", message=e.format_message())
    except click.exceptions.Exit:  # --help or --version: shown, nothing deployed
        return Verdict(mistake="usage", message="shows help; deploys nothing")


def detection_s(
    document: Mapping[str, Any], source: str
) -> tuple[float | None, float | None, float | None]:
    """Seconds from the scenario's first fault to its region marked unhealthy by the probes,
    and the bounds the probe timing model gives (None where it expects no detection)."""
    row = run_point(document, source)
    return row["detection_s"], row["expected_detection_low_s"], row["expected_detection_high_s"]
