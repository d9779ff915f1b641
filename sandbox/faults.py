"""Teaching faults for the deployment flow: a region whose deployment or verification fails."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.errors import InvalidFault

STAGES = ("deploy", "verify")
SYNTAX = "REGION:deploy[:COUNT] or REGION:verify[:COUNT]"


@dataclass(frozen=True)
class Failure:
    """A region fails at `stage` for its first `count` deployments (`None`: every time).

    `deploy`: the deployment itself fails. `verify`: the deployment succeeds but the region serves
    wrong predictions, so its verification fails.
    """

    region: str
    stage: str
    count: int | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise InvalidFault(
                f"failure stage must be one of {', '.join(STAGES)}, got {self.stage!r}"
            )
        if self.count is not None and (isinstance(self.count, bool) or self.count < 1):
            raise InvalidFault(f"failure count must be a whole number >= 1, got {self.count!r}")

    def applies(self, attempt: int) -> bool:
        """Whether the region's `attempt`-th deployment (counting from 1) is hit."""
        return self.count is None or attempt <= self.count


def parse_failure(text: str) -> Failure:
    """Parse `REGION:deploy[:COUNT]` or `REGION:verify[:COUNT]`."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or parts[1] not in STAGES:
        raise InvalidFault(f"{text!r} is not a failure: expected {SYNTAX}, e.g. eu-west-1:deploy:1")
    count = None
    if len(parts) == 3:
        if not parts[2].isdigit() or int(parts[2]) < 1:
            raise InvalidFault(f"{text!r}: COUNT must be a whole number >= 1, got {parts[2]!r}")
        count = int(parts[2])
    return Failure(parts[0], parts[1], count)
