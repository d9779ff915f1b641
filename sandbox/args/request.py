"""What a `mrsandbox deploy` command line asks for, checked: the regions, the model, the failure
policy, the failures, and for a rollout its plan and the version it replaces. Each check fails as
a usage error (exit status 2) that names the flag and says what to type instead."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from sandbox.args.common import (
    REGION_LIST_MESSAGES,
    Mistake,
    blaming,
    catalog_with,
    region_list,
    region_words,
)
from sandbox.core.faults import Failure, parse_failure
from sandbox.core.models import Model, bundled_models, load_model
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidModel, SandboxError
from sandbox.flow.deployment import Deployment
from sandbox.flow.plan import RolloutPlan, check_failures, check_versions
from sandbox.flow.sample import check_leave_out, run_deployment


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

    def run(self) -> Deployment:
        """The lesson's flow as this command line asks for it: on simulated regions, or on a
        live fleet that is stopped when the flow ends."""
        settings = self.flow_settings()
        if not self.live:
            return run_deployment(self.regions, self.model, **settings)
        from sandbox.live.fleet import LiveFleet

        fleet = LiveFleet(
            self.regions,
            catalog=self.catalog,
            time_scale=self.time_scale,
            seed=self.seed,
            processes=self.processes,
        )
        with fleet:
            try:
                return run_deployment(self.regions, self.model, backend=fleet, **settings)
            except InvalidModel as e:  # a region refused the artifact, saying why
                raise click.BadParameter(str(e), param_hint="'MODEL'") from None

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
        message = "a bake failure needs a rollout with a bake: add --strategy waves or canary"
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


_HINTS = {  # each plan setting's flag
    "strategy": "'--strategy'",
    "waves": "'--waves'",
    "canary_percent": "'--canary-percent'",
    "bake_s": "'--bake-s'",
}


def _plan(ctx: click.Context, regions: Sequence[str]) -> RolloutPlan:
    """--strategy, --waves, --canary-percent and --bake-s as a checked `RolloutPlan`."""
    p = ctx.params
    try:
        plan = RolloutPlan(p["strategy"], p["waves"], p["canary_percent"], p["bake_s"])
        plan.check(regions)
    except SandboxError as e:
        hint = _HINTS.get(e.field or "", "'--strategy'")
        raise Mistake(e.reason or str(e), ctx, "invalid_value", param_hint=hint) from None
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


def regions_and_model(ctx: click.Context, catalog: RegionCatalog) -> tuple[list[str], str]:
    """The region list and the MODEL word, or a usage error that shows the fixed command."""
    p = ctx.params
    args: list[str] = list(p["args"])
    model = args[-1] if args and args[-1] not in catalog else None
    extras = args[:-1] if model is not None else args
    given, single = list(p["regions"]), list(p["region"])

    def fail(message: str, wanted: Sequence[str], mistake: str) -> click.UsageError:
        return Mistake(f"{message}: {_suggest(ctx, wanted, model)}", ctx, mistake)

    typed = [r for text in given + single + extras for r in region_words(text)]
    if given and single:
        message = "use --regions (comma-separated) or --region (one region), not both"
        raise fail(message, typed, "both_flags")
    if len(given) > 1 or len(single) > 1:
        flag = "--regions" if given else "--region"
        message = f"{flag} is given more than once; list every region in one --regions"
        raise fail(message, typed, "flag_twice")
    if single and (len(region_words(single[0])) > 1 or extras):
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
        raise fail(REGION_LIST_MESSAGES["brackets"], typed, "brackets")
    spaced = extras or any(" " in r.strip() for r in text.split(","))
    if spaced and not any(is_model_name(e) for e in extras):
        raise fail(REGION_LIST_MESSAGES["spaces"], typed, "spaces")
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
