"""A rollout's plan: the strategy and its settings (waves, a canary's share, a bake), checked when
built and against the regions, and the steady-state hypothesis a bake (and an experiment) checks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sandbox.core.checks import Range
from sandbox.core.faults import Failure
from sandbox.core.models import Model
from sandbox.errors import InvalidDeployment

STRATEGIES = ("sequential", "waves", "canary")


DEFAULT_BAKE_S = 120.0


DEFAULT_CANARY_PERCENT = 10.0


MAX_BAKE_S = 86_400.0


def _check_bounds(settings: SteadyState | RolloutPlan, owner: str = "") -> None:
    """Every bounded setting that is given, within its bounds (stored as a float)."""
    for name, bounds in settings.BOUNDS.items():
        value = getattr(settings, name)
        if value is None:
            continue
        problem = bounds.problem(value)
        if problem:
            raise InvalidDeployment.about(name, problem, owner)
        object.__setattr__(settings, name, float(value))


NO_LATENCY = "no request succeeded: no latency to measure"


@dataclass(frozen=True)
class SteadyState:
    """The hypothesis an experiment and a bake check (None: not checked)."""

    max_error_rate: float | None = None
    max_p99_ms: float | None = None

    BOUNDS: ClassVar[dict[str, Range]] = {
        "max_error_rate": Range(0, 1),
        "max_p99_ms": Range(0, low_open=True),
    }

    def __post_init__(self) -> None:
        _check_bounds(self, "steady state ")

    def probes(
        self, error_rate: float | None, p99_ms: float | None, unsent: str
    ) -> list[dict[str, Any]]:
        """Each bounded probe: its tolerance, the value and whether it held; where nothing was
        measured, `held` is None and `why` says so (`unsent`: why there is no error rate)."""
        checks: list[dict[str, Any]] = []
        for probe, tolerance, value, missing in (
            ("error_rate", self.max_error_rate, error_rate, unsent),
            ("p99_ms", self.max_p99_ms, p99_ms, unsent if error_rate is None else NO_LATENCY),
        ):
            if tolerance is None:
                continue
            check = {"probe": probe, "tolerance": tolerance, "value": value}
            held = None if value is None else value <= tolerance
            checks.append(check | {"held": held} | ({"why": missing} if held is None else {}))
        return checks


def verdict(checks: list[dict[str, Any]]) -> bool | None:
    """False when a probe failed; True when there were probes and every one held; None when
    the evidence is missing (inconclusive)."""
    if any(c["held"] is False for c in checks):
        return False
    return True if checks and all(c["held"] for c in checks) else None


BAKE_HYPOTHESIS = SteadyState(max_error_rate=0.01)  # a bake's default: at most 1% failed


WAVES_EXAMPLE = '"us-east-1;eu-west-1,ap-south-1" or [["us-east-1"], ["eu-west-1", "ap-south-1"]]'


def parse_waves(text: str) -> tuple[tuple[str, ...], ...]:
    """`"us-east-1,eu-west-1;ap-south-1"`: waves separated by `;`, regions by `,`."""
    waves = tuple(tuple(r.strip() for r in wave.split(",")) for wave in text.split(";"))
    for number, wave in enumerate(waves, 1):
        if not all(wave):
            reason = (
                f"{text!r}: wave {number} has an empty region name (a doubled, leading or "
                'trailing "," or ";"); write e.g. "us-east-1;eu-west-1,ap-south-1"'
            )
            raise InvalidDeployment.about("waves", reason)
    return waves


def _waves(given: object) -> tuple[tuple[str, ...], ...] | None:
    """Waves as text (`parse_waves`) or lists of region names, checked; None: not given."""
    if given is None:
        return None
    if isinstance(given, str):
        return parse_waves(given)
    waves = list(given) if isinstance(given, list | tuple) else []
    if not waves or not all(
        isinstance(wave, list | tuple)
        and bool(wave)
        and all(isinstance(r, str) and r.strip() for r in wave)
        for wave in waves
    ):
        reason = f"expected waves of region names, such as {WAVES_EXAMPLE}; got {given!r}"
        raise InvalidDeployment.about("waves", reason)
    return tuple(tuple(wave) for wave in waves)


@dataclass(frozen=True)
class RolloutPlan:
    """How the new version reaches the regions: the strategy and its settings (None: default)."""

    strategy: str = "sequential"
    waves: tuple[tuple[str, ...], ...] | None = None  # as given (text or lists), kept as tuples
    canary_percent: float | None = None
    bake_s: float | None = None

    @property
    def percent(self) -> float:
        """The canary's share of a wave's traffic, in percent (100 without a canary)."""
        if self.strategy != "canary":
            return 100.0
        return DEFAULT_CANARY_PERCENT if self.canary_percent is None else self.canary_percent

    @property
    def bake(self) -> float:
        """Seconds each wave bakes (0 for `sequential`)."""
        if self.strategy == "sequential":
            return 0.0
        return DEFAULT_BAKE_S if self.bake_s is None else self.bake_s

    BOUNDS: ClassVar[dict[str, Range]] = {
        "canary_percent": Range(0, 100, low_open=True, high_open=True),
        "bake_s": Range(0, MAX_BAKE_S),
    }
    FITS: ClassVar[dict[str, tuple[str, ...]]] = {  # the strategies each setting applies to
        "waves": ("waves", "canary"),
        "canary_percent": ("canary",),
        "bake_s": ("waves", "canary"),
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "waves", _waves(self.waves))
        if self.strategy not in STRATEGIES:
            reason = f"expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            raise InvalidDeployment.about("strategy", reason)
        for name, fits in self.FITS.items():
            if getattr(self, name) is not None and self.strategy not in fits:
                reason = (
                    f"applies to strategy {' or '.join(fits)}, not {self.strategy}; "
                    "remove it or change the strategy"
                )
                raise InvalidDeployment.about(name, reason)
        _check_bounds(self)

    def check(self, regions: Sequence[str]) -> None:
        """Refuse waves that do not fit the regions; say what to write."""
        listed = [r for wave in self.waves or () for r in wave]
        for region in listed:
            if region not in regions:
                reason = f"{region!r} is not one of the regions ({', '.join(regions)})"
                raise InvalidDeployment.about("waves", reason)
        twice = sorted({r for r in listed if listed.count(r) > 1})
        if twice:
            raise InvalidDeployment.about("waves", f"list {', '.join(twice)} more than once")
        missing = [r for r in regions if r not in listed]
        if self.waves and missing:
            reason = f"{', '.join(missing)} in no wave: put every region in one of the waves"
            raise InvalidDeployment.about("waves", reason)

    def layout(self, regions: Sequence[str]) -> list[list[str]]:
        """The waves, in order: as given, or the strategy's default (canary and sequential:
        one region per wave; waves: the first region, then all the others)."""
        if self.waves:
            return [list(w) for w in self.waves]
        if self.strategy == "waves" and len(regions) > 1:
            return [[regions[0]], list(regions[1:])]
        return [[r] for r in regions]


def check_versions(previous: Model, model: Model, where: str = "the new model") -> None:
    """A rollout replaces one version of a model by another of the same name."""
    if model.name != previous.name:
        raise InvalidDeployment(
            f"{where} is {model.name!r}, not a version of {previous.name!r}: a rollout "
            f"replaces one version of a model by another (e.g. model_v1 1.0.0 by model_v1_1)"
        )
    if model.version == previous.version:
        raise InvalidDeployment(
            f"{where} is version {model.version} of {model.name}, which the regions already "
            "serve; roll out another version"
        )


def check_failures(failures: Iterable[Failure], regions: Sequence[str], plan: RolloutPlan) -> None:
    """Each failure in one of the regions; a bake failure only where the plan bakes."""
    for failure in failures:
        if failure.region not in regions:
            raise InvalidDeployment(
                f"failure in {failure.region!r}: not one of the regions ({', '.join(regions)})"
            )
        if failure.stage == "bake" and not plan.bake:
            raise InvalidDeployment(
                f"{failure.region}:bake: this rollout has no bake to catch it ({plan.strategy}"
                f"{', bake_s 0' if plan.strategy != 'sequential' else ''}); use strategy waves "
                "or canary with a bake above 0 s"
            )
