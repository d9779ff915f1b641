"""Checking command lines: region lists, failures, weights and folders, and the deploy request.

Every check fails as a click usage error (exit status 2) that says what to type instead.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from sandbox.errors import SandboxError
from sandbox.faults import Failure, parse_failure
from sandbox.flow import check_leave_out
from sandbox.models import Model, bundled_models, load_model
from sandbox.regions import RegionCatalog
from sandbox.rollout import RolloutPlan, check_failures, check_versions, parse_waves


class Finite(click.FloatRange):
    """A number in a range that also refuses nan and infinity."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


@dataclass(frozen=True)
class DeployRequest:
    """A `mrsandbox deploy` command line, checked and ready to run."""

    regions: list[str]
    model: Model
    on_failure: str
    max_retries: int
    failures: list[Failure]
    seed: int
    fmt: str
    tracker: str
    catalog: RegionCatalog
    live: bool
    time_scale: float
    processes: bool
    leave_out: tuple[str, ...] = ()
    plan: RolloutPlan = field(default_factory=RolloutPlan)
    previous: Model | None = None  # set: a rollout of `model` over this version
    sources: tuple[str, str] = ("", "")  # the MODEL and previous words as typed or found

    @property
    def rollout(self) -> bool:
        """Whether this command line rolls `model` out over a fleet serving `previous`."""
        return self.previous is not None

    def flow_settings(self) -> dict[str, Any]:
        """The keyword arguments of `run_deployment` that this command line sets."""
        return {
            "on_failure": self.on_failure,
            "max_retries": self.max_retries,
            "failures": self.failures,
            "seed": self.seed,
            "catalog": self.catalog,
            "leave_out": self.leave_out,
        }


_JUNK = "[]'\" "


def _pieces(text: str) -> list[str]:
    """Region names in what a user typed, whatever the separators, brackets and quotes."""
    return [p.strip(_JUNK) for p in text.replace(" ", ",").split(",") if p.strip(_JUNK)]


def is_model_name(word: str) -> bool:
    """A bundled model's name or a path to a .json artifact."""
    return word in bundled_models() or word.endswith(".json")


def _suggest(ctx: click.Context, regions: Sequence[str], model: str | None) -> str:
    """The command line as it should have been typed, other options kept."""
    names = ",".join(dict.fromkeys(regions)) or "us-east-1,eu-west-1"
    words = ["mrsandbox", "deploy", "--regions", names, model or "MODEL"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("regions", "region"):
            continue
        value = ctx.params.get(param.name)
        if value in (None, (), False, param.get_default(ctx)):
            continue
        if param.is_flag:
            words.append(param.opts[0])
            continue
        for v in value if param.multiple else (value,):
            words += [param.opts[0], str(v)]
    return shlex.join(words)


# Every mistake a `deploy` command line can have, by the name a `Mistake` carries; "usage" is
# click's own (an unknown option, a missing value).
MISTAKE_NAMES = (
    *("spaces", "brackets", "singular_flag", "flag_twice", "both_flags", "no_regions"),
    *("empty_region", "repeated_region", "unknown_region", "extra_args", "no_model"),
    *("unknown_model", "invalid_value", "usage"),
)


class Mistake(click.BadParameter):
    """A usage error that names the learner's mistake (`mistake`, e.g. `spaces`), so that a
    quiz can judge a command line by what the real parser says about it."""

    def __init__(
        self, message: str, ctx: click.Context, mistake: str, param_hint: str | None = None
    ) -> None:
        if mistake not in MISTAKE_NAMES:
            raise ValueError(f"unknown mistake name {mistake!r}")
        super().__init__(message, ctx, param_hint=param_hint)
        self.mistake = mistake

    def format_message(self) -> str:
        return super().format_message() if self.param_hint else self.message


_MESSAGES = {
    "brackets": "--regions takes a plain comma-separated list, without brackets",
    "spaces": "regions must be separated by commas, not spaces",
}


@contextmanager
def blaming(ctx: click.Context, hint: str, mistake: str = "invalid_value") -> Iterator[None]:
    """Turn a `SandboxError` raised inside into a usage error (exit status 2) on `hint`."""
    try:
        yield
    except SandboxError as e:
        raise Mistake(str(e), ctx, mistake, param_hint=hint) from None


def catalog_with(ctx: click.Context, extra_files: Sequence[str]) -> RegionCatalog:
    catalog = RegionCatalog.default()
    for path in extra_files:
        with blaming(ctx, "'--extra-regions'"):
            catalog.load_file(path)
    return catalog


def regions_and_model(ctx: click.Context, catalog: RegionCatalog) -> tuple[list[str], str]:
    """The region list and the MODEL word, or a usage error that shows the fixed command."""
    p = ctx.params
    args: list[str] = list(p["args"])
    model = args[-1] if args and args[-1] not in catalog else None
    extras = args[:-1] if model is not None else args
    given, single = list(p["regions"]), list(p["region"])

    def fail(message: str, wanted: Sequence[str], mistake: str) -> click.UsageError:
        return Mistake(f"{message}: {_suggest(ctx, wanted, model)}", ctx, mistake)

    typed = [r for text in given + single + extras for r in _pieces(text)]
    if given and single:
        message = "use --regions (comma-separated) or --region (one region), not both"
        raise fail(message, typed, "both_flags")
    if len(given) > 1 or len(single) > 1:
        flag = "--regions" if given else "--region"
        message = f"{flag} is given more than once; list every region in one --regions"
        raise fail(message, typed, "flag_twice")
    if single and (len(_pieces(single[0])) > 1 or extras):
        raise fail(
            "--region takes a single region; for several regions use --regions with a "
            "comma-separated list",
            typed,
            "singular_flag",
        )
    text = (given or single or [None])[0]
    if text is None:
        message = "missing --regions: name the regions, separated by commas, e.g."
        raise fail(message, typed, "no_regions")
    if any(c in text + "".join(args) for c in "[]"):
        raise fail(_MESSAGES["brackets"], typed, "brackets")
    spaced = extras or any(" " in r.strip() for r in text.split(","))
    if spaced and not any(is_model_name(e) for e in extras):
        raise fail(_MESSAGES["spaces"], typed, "spaces")
    if extras:
        message = f"deploy takes one MODEL, got {len(args)}: {' '.join(args)}"
        raise Mistake(message, ctx, "extra_args")
    if not model:
        raise Mistake(
            "missing MODEL: name a bundled model "
            f"({', '.join(bundled_models())}) or a path to a .json artifact after the regions",
            ctx,
            "no_model",
        )
    return region_list(ctx, text, catalog, fail), model


Fix = Callable[[str, Sequence[str], str], click.UsageError]


def region_list(ctx: click.Context, text: str, catalog: RegionCatalog, fail: Fix) -> list[str]:
    """Split a --regions value; refuse brackets, spaces, empty names, repeats, unknown names."""
    typed = _pieces(text)
    if any(c in text for c in "[]"):
        raise fail(_MESSAGES["brackets"], typed, "brackets")
    if any(" " in r.strip() for r in text.split(",")):
        raise fail(_MESSAGES["spaces"], typed, "spaces")
    regions = [r.strip() for r in text.split(",")]
    if not any(regions):
        raise fail("--regions is empty: name at least one region, e.g.", [], "no_regions")
    if not all(regions):
        message = f"--regions {text!r} has an empty name (a doubled, leading or trailing comma)"
        raise fail(message, typed, "empty_region")
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        message = f"--regions lists {', '.join(twice)} more than once; list each region once"
        raise fail(message, typed, "repeated_region")
    for region in regions:
        with blaming(ctx, "'--regions'", "unknown_region"):
            catalog.check(region)
    return regions


def _failures(ctx: click.Context, regions: Sequence[str]) -> list[Failure]:
    failures: dict[tuple[str, str], Failure] = {}
    for spec in ctx.params["fails"]:
        with blaming(ctx, "'--fail'"):
            failure = parse_failure(spec)
        if failure.region not in regions:
            message = f"{spec!r}: {failure.region} is not one of --regions ({', '.join(regions)})"
            raise click.BadParameter(message, ctx, param_hint="'--fail'")
        key = (failure.region, failure.stage)
        if key in failures:
            message = f"{spec!r}: {':'.join(key)} is already given; one --fail per region and stage"
            raise click.BadParameter(message, ctx, param_hint="'--fail'")
        failures[key] = failure
    return list(failures.values())


def build_request(ctx: click.Context) -> DeployRequest:
    """Turn the parsed options into a `DeployRequest`, or fail with a usage error saying the fix."""
    p = ctx.params
    catalog = catalog_with(ctx, p["extra_regions"])
    regions, model = regions_and_model(ctx, catalog)
    with blaming(ctx, "'MODEL'", "unknown_model"):
        loaded = load_model(model)
    with blaming(ctx, "'--leave-out'"):
        check_leave_out(p["leave_out"], regions)
    for flag, name in (("--time-scale", "time_scale"), ("--processes", "processes")):
        given = ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        if given and not p["live"]:
            raise click.UsageError(f"{flag} applies to live fleets only: add --live", ctx)
    plan = _plan(ctx, regions)
    previous, previous_source = _previous(ctx, loaded, plan)
    failures = _failures(ctx, regions)
    if previous is None and any(f.stage == "bake" for f in failures):
        message = "a bake failure needs a rollout: add --strategy waves or canary (or --previous)"
        raise click.BadParameter(message, ctx, param_hint="'--fail'")
    if previous is not None:
        for flag, name, message in (
            ("--leave-out", "leave_out", "leaves a call out of the lesson's flow"),
            ("--on-failure", "on_failure", "chooses what the lesson's flow does on a failure"),
        ):
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
                message += "; a rollout retries (--max-retries), then rolls back: drop it"
                raise click.BadParameter(message, ctx, param_hint=f"'{flag}'")
        with blaming(ctx, "'--fail'"):
            check_failures(failures, regions, plan)
    return DeployRequest(
        regions,
        loaded,
        p["on_failure"],
        p["max_retries"],
        failures,
        p["seed"],
        p["fmt"],
        p["tracker"],
        catalog,
        p["live"],
        p["time_scale"],
        p["processes"],
        p["leave_out"],
        plan,
        previous,
        (model, previous_source),
    )


_HINTS = {"waves": "'--waves'", "canary_percent": "'--canary-percent'", "bake_s": "'--bake-s'"}


def _plan(ctx: click.Context, regions: Sequence[str]) -> RolloutPlan:
    """--strategy, --waves, --canary-percent and --bake-s as a checked `RolloutPlan`."""
    p = ctx.params
    waves = ()
    if p["waves"] is not None:
        with blaming(ctx, "'--waves'"):
            waves = parse_waves(p["waves"])
    plan = RolloutPlan(p["strategy"], waves, p["canary_percent"], p["bake_s"])
    try:
        plan.check(regions)
    except SandboxError as e:
        hint = next((h for key, h in _HINTS.items() if str(e).startswith(key)), "'--strategy'")
        raise Mistake(str(e), ctx, "invalid_value", param_hint=hint) from None
    return plan


def _previous(ctx: click.Context, model: Model, plan: RolloutPlan) -> tuple[Model | None, str]:
    """The version a rollout replaces and how to load it: --previous, else the bundled model of
    the same name with the highest version below MODEL's; None for the lesson's flow."""
    given = ctx.params["previous"]
    if given is None and plan.strategy == "sequential":
        return None, ""
    if given is not None:
        with blaming(ctx, "'--previous'"):
            previous = load_model(given)
            check_versions(previous, model, f"MODEL {ctx.params['args'][-1]}")
        return previous, given
    bundled = [(load_model(name), name) for name in bundled_models()]
    earlier = [
        (m, name)
        for m, name in bundled
        if m.name == model.name and _order(m.version) < _order(model.version)
    ]
    if not earlier:
        message = (
            f"a {plan.strategy} rollout replaces a version the regions serve, and no earlier "
            f"version of {model.name} than {model.version} is bundled: give --previous "
            "(a bundled name or a .json artifact of the same model), e.g. "
            "--previous model_v1 with MODEL model_v1_1"
        )
        raise click.UsageError(message, ctx)
    return max(earlier, key=lambda pair: _order(pair[0].version))


def _order(version: str) -> tuple[int | str, ...]:
    """`1.10.0` after `1.9.0`: dotted numbers compared as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in version.split("."))


def pairs(ctx: click.Context, flag: str, text: str | None) -> dict[str, float]:
    """`--weights us-east-1=80,eu-west-1=20` as a dict."""
    pairs: dict[str, float] = {}
    for item in (text or "").split(",") if text else []:
        name, _, value = item.partition("=")
        if name.strip() in pairs:
            message = f"{name.strip()} is given twice; give each region one weight"
            raise click.BadParameter(message, ctx, param_hint=f"'{flag}'")
        try:
            pairs[name.strip()] = float(value)
        except ValueError:
            message = f"{item!r}: expected REGION=WEIGHT, e.g. us-east-1=80"
            raise click.BadParameter(message, ctx, param_hint=f"'{flag}'") from None
    return pairs


def out_folder(ctx: click.Context, out: str | None) -> Path | None:
    """The --out folder, created; a usage error when it cannot be."""
    if out is None:
        return None
    if not out.strip():
        raise click.BadParameter("is empty; name a folder to write into", ctx, param_hint="'--out'")
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        message = f"{out} exists and is not a folder; name a folder to write into"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    except OSError as e:
        message = f"cannot create the folder {out}: {e.strerror}; name a folder to write into"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    return folder
