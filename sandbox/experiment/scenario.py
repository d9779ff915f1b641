"""Scenario files: an experiment's fleet, users, faults and steady-state hypothesis, in TOML.

Everything is validated up front; every error names the file, the key path and the fix
(`faults[0].start_s: expected a number >= 0, got -5`), and unknown keys are errors too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

from sandbox.core.checks import SEEDS, TIME_SCALES, Range
from sandbox.core.documents import Doc, bundled_names, read_toml, show
from sandbox.core.faults import Failure, Fault, parse_failure, parse_fault
from sandbox.core.health import HealthPolicy, OutlierPolicy
from sandbox.core.models import Model, bundled_models, load_model
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import RoutingPolicy
from sandbox.core.workload import Clients
from sandbox.errors import InvalidDeployment, InvalidFault, InvalidScenario, SandboxError
from sandbox.flow.deployment import POLICIES, RETRIES
from sandbox.flow.plan import RolloutPlan, SteadyState, check_failures, check_versions
from sandbox.sim import Service

MODES = ("sim", "live")
LIVE_ONLY = ("time_scale", "processes")  # keys that only a live run reads
DURATIONS = Range(0, 30 * 24 * 3600.0, low_open=True)  # seconds a scenario may run


@dataclass(frozen=True)
class ScheduledFault:
    """A fault of the shared vocabulary, in `region`, from `start_s` on."""

    region: str
    start_s: float
    fault: Fault

    @property
    def end_s(self) -> float | None:
        return None if self.fault.duration_s is None else self.start_s + self.fault.duration_s


@dataclass(frozen=True)
class RolloutSpec:
    """A new version of the model rolled out over the running fleet, `start_s` after the users
    start; `failures` as `deployment.failures`, plus `REGION:bake`."""

    model: str
    plan: RolloutPlan
    start_s: float
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file."""

    name: str
    seed: int
    duration_s: float
    mode: str
    time_scale: float
    processes: bool
    model: str
    regions: tuple[str, ...]
    on_failure: str
    max_retries: int
    failures: tuple[Failure, ...]
    routing: RoutingPolicy
    health: HealthPolicy
    outlier: OutlierPolicy
    service: Service
    clients: tuple[Clients, ...]
    faults: tuple[ScheduledFault, ...]
    steady_state: SteadyState
    rollout: RolloutSpec | None
    source: str
    document: Mapping[str, Any]


def _region(doc: Doc, key: str, catalog: RegionCatalog, known: tuple[str, ...] = ()) -> str:
    name = doc.text(key)
    try:
        catalog.check(name)
    except SandboxError as e:
        raise doc.fail(doc.path(key), str(e)) from None
    if known and name not in known:
        raise doc.fail(
            doc.path(key), f"{name!r} is not one of deployment.regions ({', '.join(known)})"
        )
    return name


DEPLOYMENT_KEYS = ("model", "regions", "on_failure", "max_retries", "failures")
TOP_KEYS = (
    "processes",
    "name",
    "seed",
    "duration_s",
    "mode",
    "time_scale",
    "deployment",
    "routing",
    "health",
    "service",
    "clients",
    "faults",
    "steady_state",
    "rollout",
)
ROLLOUT_KEYS = ("model", "strategy", "waves", "canary_percent", "bake_s", "start_s", "failures")
HEALTH_KEYS = (  # the [health] table: the probes' settings and passive outlier detection's
    *(f.name for f in fields(HealthPolicy)),
    *(f.name for f in fields(OutlierPolicy)),
)


def _regions(top: Doc, catalog: RegionCatalog) -> tuple[str, ...]:
    raw = top.sub("deployment", DEPLOYMENT_KEYS).table.get("regions")
    if not isinstance(raw, list) or not raw:
        message = f"expected a non-empty list of region names, got {show(raw)}"
        raise top.fail("deployment.regions", message)
    keys = tuple(f"[{i}]" for i in range(len(raw)))
    doc = top.child(dict(zip(keys, raw, strict=True)), "deployment.regions", keys)
    regions = tuple(_region(doc, key, catalog) for key in keys)
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        raise top.fail("deployment.regions", f"lists {', '.join(twice)} more than once")
    return regions


def _routing(top: Doc, regions: tuple[str, ...]) -> RoutingPolicy:
    doc = top.sub("routing", ("policy", "retries", "order", "weights", "dns_ttl_s"))
    given = {key: doc.table[key] for key in ("retries", "weights", "dns_ttl_s") if doc.has(key)}
    if doc.has("policy"):
        given["name"] = doc.table["policy"]
    if doc.has("order"):
        order = doc.table["order"]
        given["order"] = tuple(order) if isinstance(order, list) else order
    policy = doc.build(RoutingPolicy, (), **given)
    try:
        policy.check(list(regions))
    except InvalidDeployment as e:
        raise doc.fail(doc.path(e.field or "policy"), e.reason) from None
    return policy


def _health(top: Doc) -> tuple[HealthPolicy, OutlierPolicy]:
    doc = top.sub("health", HEALTH_KEYS)
    health = doc.build(HealthPolicy, [f.name for f in fields(HealthPolicy)])
    return health, doc.build(OutlierPolicy, [f.name for f in fields(OutlierPolicy)])


def _clients(top: Doc, catalog: RegionCatalog) -> tuple[Clients, ...]:
    clients = []
    for i, table in enumerate(top.tables("clients")):
        doc = top.child(table, f"clients[{i}]", ("region", "rate_per_s"))
        rate = doc.number("rate_per_s", None, Clients.RATE)
        clients.append(Clients(_region(doc, "region", catalog), rate))
    if not clients:
        raise top.fail("clients", "expected at least one [[clients]] table: region, rate_per_s")
    return tuple(clients)


def _faults(
    top: Doc, catalog: RegionCatalog, regions: tuple[str, ...], duration: float, mode: str
) -> tuple[ScheduledFault, ...]:
    faults: list[ScheduledFault] = []
    for i, table in enumerate(top.tables("faults")):
        where = f"faults[{i}]"
        if not isinstance(table, dict):
            raise top.fail(where, f"expected a table, got {show(table)}")
        placed = {k: table[k] for k in ("region", "start_s") if k in table}
        doc = top.child(placed, where, ("region", "start_s"))
        region = _region(doc, "region", catalog, regions)
        start = doc.number("start_s", None, Range(0, duration))
        try:
            fault = parse_fault({k: v for k, v in table.items() if k not in placed}, where)
        except InvalidFault as e:
            raise InvalidScenario(f"{top.source}: {e}") from None
        if fault.kind == "crash" and not (mode == "live" and top.table.get("processes") is True):
            message = 'crash is a real process kill: set mode = "live" and processes = true'
            raise top.fail(f"{where}.kind", message)
        if fault.kind == "deploy_failures" or (fault.kind == "bad_model" and fault.count):
            what = "kind" if fault.kind == "deploy_failures" else "count"
            message = (
                f"a {fault.kind} fault{' with a count' if what == 'count' else ''} acts on "
                "deployments, and none happens after time 0: put it in deployment.failures "
                '(e.g. "eu-west-1:verify"), or give bad_model no count to spoil every answer'
            )
            raise top.fail(f"{where}.{what}", message)
        scheduled = ScheduledFault(region, start, fault)
        for j, other in enumerate(faults):
            if (
                other.region == region
                and other.fault.key == fault.key
                and _overlap(other, scheduled)
            ):
                message = (
                    f"overlaps faults[{j}], a {fault.kind} fault in {region} too: the later one "
                    "would end the earlier; start it after the other ends, or merge them"
                )
                raise top.fail(f"{where}.start_s", message)
        faults.append(scheduled)
    return tuple(faults)


def _overlap(a: ScheduledFault, b: ScheduledFault) -> bool:
    a_end = math.inf if a.end_s is None else a.end_s
    b_end = math.inf if b.end_s is None else b.end_s
    return a.start_s < b_end and b.start_s < a_end


def _model(doc: Doc, default: str | None = "model_v1") -> tuple[str, Model]:
    """A bundled model's name, or an artifact's path (relative to the scenario file's folder),
    and the model it loads."""
    name = doc.text("model", default)
    scenario_file = Path(doc.source)
    looks_like_a_path = name.endswith(".json") or "/" in name
    relative = looks_like_a_path and not Path(name).is_absolute()
    if name not in bundled_models() and relative and scenario_file.is_file():
        name = str(scenario_file.parent / name)
    try:
        return name, load_model(name)
    except SandboxError as e:
        raise doc.fail(doc.path("model"), str(e)) from None


def _failures(doc: Doc, regions: tuple[str, ...], bake: bool = False) -> tuple[Failure, ...]:
    """`failures` of a table: teaching faults, as `mrsandbox deploy --fail` takes them."""
    raw = doc.table.get("failures", [])
    where = doc.path("failures")
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        message = f'expected a list such as ["eu-west-1:verify"], got {show(raw)}'
        raise doc.fail(where, message)
    failures = []
    for i, text in enumerate(raw):
        try:
            failure = parse_failure(text)
        except InvalidFault as e:
            raise doc.fail(f"{where}[{i}]", str(e)) from None
        if failure.region not in regions:
            message = f"{failure.region!r} is not one of deployment.regions"
            raise doc.fail(f"{where}[{i}]", message)
        if failure.stage == "bake" and not bake:
            message = "a bake failure belongs to a rollout: put it in rollout.failures"
            raise doc.fail(f"{where}[{i}]", message)
        failures.append(failure)
    return tuple(failures)


def _rollout(
    top: Doc, regions: tuple[str, ...], previous: Model, duration: float
) -> tuple[RolloutSpec, Model] | None:
    """The `[rollout]` table: the new version and how it reaches the regions."""
    if not top.has("rollout"):
        return None
    doc = top.sub("rollout", ROLLOUT_KEYS)
    model, new = _model(doc, None)
    try:
        check_versions(previous, new, "it")
    except SandboxError as e:
        raise doc.fail(
            "rollout.model", f"{e} (deployment.model is what the regions serve first)"
        ) from None
    plan = doc.build(RolloutPlan, ("strategy", "waves", "canary_percent", "bake_s"))
    try:
        plan.check(regions)
    except InvalidDeployment as e:
        raise doc.fail(doc.path(e.field or "waves"), e.reason or str(e)) from None
    start = doc.number("start_s", 0.0, Range(0, duration))
    failures = _failures(doc, regions, bake=True)
    try:
        check_failures(failures, regions, plan)
    except InvalidDeployment as e:
        raise doc.fail("rollout.failures", str(e)) from None
    return RolloutSpec(model, plan, start, failures), new


def _check_versions(top: Doc, faults: tuple[ScheduledFault, ...], served: dict[str, str]) -> None:
    """A fault's `version` names a version the run serves (`served`: version -> the key that
    loads it), or it would hit nothing."""
    for i, fault in enumerate(faults):
        version = fault.fault.version
        if version is not None and version not in served:
            known = " or ".join(f"{v} ({where})" for v, where in served.items())
            message = f"{version!r} is not a version this run serves: {known}"
            raise top.fail(f"faults[{i}].version", message)


def parse_scenario(document: object, source: str, catalog: RegionCatalog | None = None) -> Scenario:
    """Validate a decoded scenario document; `source` names the file in messages."""
    catalog = catalog or RegionCatalog.default()
    top = Doc(document, "", source, TOP_KEYS, InvalidScenario)
    mode = top.text("mode", "sim", MODES)
    for key in LIVE_ONLY:
        if mode == "sim" and top.has(key):
            raise top.fail(key, 'only for mode = "live"; remove it or set mode = "live"')
    processes = top.table.get("processes", False)
    if not isinstance(processes, bool):
        raise top.fail("processes", f"expected true or false, got {show(processes)}")
    regions = _regions(top, catalog)
    deployment = top.sub("deployment", DEPLOYMENT_KEYS)
    model, previous = _model(deployment)
    health, outlier = _health(top)
    service = top.sub("service", tuple(Service.BOUNDS))
    duration = top.number("duration_s", None, DURATIONS)
    steady = top.sub("steady_state", tuple(SteadyState.BOUNDS))
    faults = _faults(top, catalog, regions, duration, mode)
    rolled = _rollout(top, regions, previous, duration)
    served = {previous.version: "deployment.model"}
    served |= {rolled[1].version: "rollout.model"} if rolled else {}
    _check_versions(top, faults, served)
    return Scenario(
        name=top.text("name"),
        seed=int(top.number("seed", 0, SEEDS)),
        duration_s=duration,
        mode=mode,
        time_scale=top.number("time_scale", 1.0, TIME_SCALES),
        processes=processes,
        model=model,
        regions=regions,
        on_failure=deployment.text("on_failure", "retry", POLICIES),
        max_retries=int(deployment.number("max_retries", 2, RETRIES)),
        failures=_failures(deployment, regions),
        routing=_routing(top, regions),
        health=health,
        outlier=outlier,
        service=service.build(Service, Service.BOUNDS),
        clients=_clients(top, catalog),
        faults=faults,
        steady_state=steady.build(SteadyState, SteadyState.BOUNDS),
        rollout=rolled[0] if rolled else None,
        source=source,
        document=dict(top.table),
    )


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    return bundled_names(files("sandbox") / "data" / "scenarios")


def load_scenario(
    name_or_path: str | os.PathLike[str],
    catalog: RegionCatalog | None = None,
    *,
    mode: str | None = None,
) -> Scenario:
    """Load a scenario file by path, or a bundled scenario by name; `mode` runs it in that mode
    whatever the file says (checked as if the file said so; `sim` sets the file's live-only
    settings aside)."""
    document, source = read_toml(
        name_or_path, files("sandbox") / "data" / "scenarios", "scenario", InvalidScenario
    )
    if mode is not None:
        document["mode"] = mode
        if mode == "sim":
            document = {k: v for k, v in document.items() if k not in LIVE_ONLY}
    return parse_scenario(document, source, catalog)
