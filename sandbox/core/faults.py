"""Faults: one vocabulary for the HTTP admin API, the simulated regions and scenario files.

A fault is an object with a `kind` and that kind's parameters, optionally a `duration_s` after
which it ends on its own (the words are Toxiproxy's, Chaos Mesh's and AWS FIS's):

    latency          latency_ms, jitter_ms    every request waits latency_ms +/- jitter_ms (uniform)
    error_rate       error_rate               each prediction fails with 503 at this probability
    outage           -                        health, model and prediction routes answer 503
    timeout          timeout_ms               every request is held timeout_ms, then fails (504)
    bad_model        count                    predictions are wrong (the next `count` deployments)
    deploy_failures  count                    deployments fail (the next `count` of them)
    crash            -                        the region's process is killed (process mode only)

`latency`, `error_rate` and `timeout` also take a `version`: the fault then hits only the
predictions that model version serves (a bad release that passes its smoke test and fails on
real traffic), and is kept beside a fault of the same kind for the whole region.

`Failure` is the teaching shorthand of `mrsandbox deploy --fail REGION:deploy|verify|bake[:COUNT]`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from sandbox.core.checks import Range, is_number
from sandbox.core.models import VERSION, VERSION_RULE
from sandbox.errors import InvalidDeployment, InvalidFault

STAGES = ("deploy", "verify", "bake")
SYNTAX = "REGION:deploy[:COUNT], REGION:verify[:COUNT] or REGION:bake"
VERSIONED = frozenset({"latency", "error_rate", "timeout"})  # kinds a `version` may scope
EVERY = 1_000  # the count of a failure given without one: every deployment
BAKE_ERROR_RATE = 0.5  # what a `REGION:bake` failure makes the new version fail

PARAMETERS = {  # each parameter's range, whatever the kind
    "latency_ms": Range(0, 60_000),
    "jitter_ms": Range(0, 60_000),
    "error_rate": Range(0, 1),
    "timeout_ms": Range(1, 60_000),
    "count": Range(1, 1_000, whole=True),
    "duration_s": Range(0.001, 86_400),
}
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind -> (required, optional)
    "latency": (("latency_ms",), ("jitter_ms",)),
    "error_rate": (("error_rate",), ()),
    "outage": ((), ()),
    "timeout": (("timeout_ms",), ()),
    "bad_model": ((), ("count",)),
    "deploy_failures": ((), ("count",)),
    "crash": ((), ()),
}
BAD_OFFSET = 1.0  # what a bad model adds to every prediction


@dataclass(frozen=True)
class Fault:
    """One fault: its kind, that kind's parameters, and how long it lasts (None: until cleared).
    A fault checks itself when built: its kind, the parameters that kind takes, their ranges."""

    kind: str
    latency_ms: float | None = None
    jitter_ms: float | None = None
    error_rate: float | None = None
    timeout_ms: float | None = None
    count: int | None = None
    duration_s: float | None = None
    version: str | None = None  # only predictions served by this model version

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise InvalidFault.about(
                "kind", f"expected one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        required, optional = KINDS[self.kind]
        allowed = (*required, *optional, "duration_s")
        for name, bounds in PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                if name in required:
                    reason = f"required for kind {self.kind!r} ({bounds.describe()})"
                    raise InvalidFault.about(name, reason)
                continue
            if name not in allowed:
                reason = f"does not apply to kind {self.kind!r} (it takes {', '.join(allowed)})"
                raise InvalidFault.about(name, reason)
            problem = bounds.problem(value)
            if problem:
                raise InvalidFault.about(name, problem)
        if self.version is not None:
            if self.kind not in VERSIONED:
                reason = f"only {', '.join(sorted(VERSIONED))} faults take a version"
                raise InvalidFault.about("version", reason)
            if not isinstance(self.version, str) or not VERSION.fullmatch(self.version):
                reason = f"expected a model version such as '1.1.0' ({VERSION_RULE}), got "
                reason += repr(self.version)
                raise InvalidFault.about("version", reason)

    @property
    def key(self) -> tuple[str, str | None]:
        """What a newer fault replaces: the same kind with the same version scope."""
        return self.kind, self.version

    def to_dict(self) -> dict[str, Any]:
        """The fault as its JSON object, parameters that are not set left out."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def parse_fault(doc: object, where: str = "fault") -> Fault:
    """A fault from its JSON object; errors name `where`, the field and the allowed range."""
    if not isinstance(doc, Mapping):
        raise InvalidFault(f"{where}: expected an object with a 'kind', got {doc!r}")
    kind = doc.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidFault(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    allowed = {"kind", "duration_s", *KINDS[kind][0], *KINDS[kind][1]}
    allowed |= {"version"} if kind in VERSIONED else set()
    unknown = sorted(str(k) for k in doc if k not in allowed)
    if unknown:
        raise InvalidFault(
            f"{where}: unknown parameter {', '.join(map(repr, unknown))} for kind {kind!r} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    values = {name: _number(name, value) for name, value in doc.items() if name in PARAMETERS}
    try:
        return Fault(kind, **values, version=doc.get("version"))
    except InvalidFault as e:
        raise InvalidFault.about(f"{where}.{e.field}", e.reason) from None


def _number(name: str, value: Any) -> Any:
    """A JSON number as the parameter keeps it: 2.0 is the whole number 2, 1 the float 1.0."""
    if not is_number(value):
        return value
    if PARAMETERS[name].whole:
        return int(value) if float(value).is_integer() else value
    return float(value)


def parse_faults(doc: object, where: str = "faults") -> list[Fault]:
    """Validate a JSON list of fault objects."""
    if not isinstance(doc, list):
        raise InvalidFault(f"{where}: expected a list of fault objects, got {type(doc).__name__}")
    return [parse_fault(item, f"{where}[{i}]") for i, item in enumerate(doc)]


@dataclass(frozen=True)
class Effect:
    """What the active faults do to one request: wait `delay_s`, then answer `status` if set."""

    delay_s: float = 0.0
    status: int | None = None


NO_EFFECT = Effect()


class RegionFaults:
    """The active faults of one region, on a clock of emulated seconds; safe across threads.

    Random draws (jitter, error rate) come from one `random.Random(seed)`.
    """

    def __init__(self, clock: Callable[[], float], seed: int | str = 0) -> None:
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str | None], tuple[Fault, float | None, int | None]] = {}

    def _ends(self, fault: Fault) -> tuple[Fault, float | None, int | None]:
        ends_at = None if fault.duration_s is None else self._clock() + fault.duration_s
        return fault, ends_at, fault.count

    def _prune(self) -> None:
        now = self._clock()
        for key, (_, ends_at, left) in list(self._active.items()):
            if (ends_at is not None and now >= ends_at) or left == 0:
                del self._active[key]

    def replace(self, faults: Iterable[Fault]) -> None:
        """Make `faults` the active set (a later fault of one kind and version wins)."""
        with self._lock:
            self._active = {f.key: self._ends(f) for f in faults}

    def add(self, faults: Iterable[Fault]) -> None:
        """Add `faults`, each replacing an active fault of the same kind and version."""
        with self._lock:
            self._active.update({f.key: self._ends(f) for f in faults})

    def clear(self) -> None:
        """End every fault now."""
        with self._lock:
            self._active.clear()

    def active(self) -> list[dict[str, Any]]:
        """The active faults as JSON objects with `ends_in_s` (None: until cleared)."""
        with self._lock:
            self._prune()
            now = self._clock()
            return [
                fault.to_dict()
                | {"ends_in_s": None if ends_at is None else round(ends_at - now, 3)}
                | ({"count_left": left} if left is not None else {})
                for fault, ends_at, left in self._active.values()
            ]

    def is_active(self, kind: str) -> bool:
        """Whether a fault of `kind` is active now."""
        with self._lock:
            self._prune()
            return any(k == kind for k, _ in self._active)

    def _consume(self, kind: str, counted_only: bool = False) -> bool:
        """Whether `kind` is active (and counted, if asked); a counted fault uses up one."""
        with self._lock:
            self._prune()
            entry = self._active.get((kind, None))
            if entry is None or (counted_only and entry[2] is None):
                return False
            fault, ends_at, left = entry
            if left is not None:
                self._active[kind, None] = (fault, ends_at, left - 1)
            return True

    def deploy_fails(self) -> bool:
        """Called once per deployment: whether it fails."""
        return self._consume("deploy_failures")

    def deploys_bad_build(self) -> bool:
        """Called once per successful deployment: whether a counted bad_model spoils it."""
        return self._consume("bad_model", counted_only=True)

    def serves_bad(self) -> bool:
        """Whether an uncounted bad_model fault spoils every prediction now."""
        if not self._active:  # the common case, without taking the lock
            return False
        with self._lock:
            self._prune()
            entry = self._active.get(("bad_model", None))
            return entry is not None and entry[2] is None

    def effect(self, predict: bool, version: str | None = None) -> Effect:
        """The effect on one request; `predict` requests are also subject to error_rate, and
        to the faults of the model `version` that serves them."""
        if not self._active:  # the common case, without taking the lock
            return NO_EFFECT
        with self._lock:
            self._prune()
            effect = self._effect(predict, None)
            if predict and version is not None and effect.status is None:
                scoped = self._effect(predict, version)
                effect = Effect(effect.delay_s + scoped.delay_s, scoped.status)
            return effect

    def _effect(self, predict: bool, version: str | None) -> Effect:
        active = {k: fault for (k, v), (fault, _, _) in self._active.items() if v == version}
        if "outage" in active:
            return Effect(status=503)
        if "timeout" in active:
            return Effect(delay_s=(active["timeout"].timeout_ms or 0.0) / 1000.0, status=504)
        delay = 0.0
        if "latency" in active:
            f = active["latency"]
            jitter = f.jitter_ms or 0.0
            delay = max(0.0, (f.latency_ms or 0.0) + self._rng.uniform(-jitter, jitter)) / 1000.0
        if (
            predict
            and "error_rate" in active
            and self._rng.random() < (active["error_rate"].error_rate or 0.0)
        ):
            return Effect(delay_s=delay, status=503)
        return Effect(delay_s=delay)


@dataclass(frozen=True)
class Failure:
    """A teaching fault: `region` fails at `stage` for its next `count` deployments (None: all).

    `deploy`: the deployment itself fails (a `deploy_failures` fault). `verify`: the deployment
    succeeds but serves wrong predictions, so its verification fails (a `bad_model` fault).
    `bake`: the new version passes its verification, then fails BAKE_ERROR_RATE of the real
    predictions it serves in the region (an `error_rate` fault of that version), which a
    rollout's bake catches.
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
        if self.stage == "bake" and self.count is not None:
            raise InvalidFault("a bake failure takes no COUNT: write REGION:bake")

    @property
    def spec(self) -> str:
        """`REGION:STAGE[:COUNT]`, as `--fail` takes it (`parse_failure` reads it back)."""
        return f"{self.region}:{self.stage}" + (f":{self.count}" if self.count else "")

    def as_fault(self, version: str | None = None) -> Fault:
        """The fault of the shared vocabulary that realises this failure (`version`: the new
        model version, for a bake failure)."""
        if self.stage == "bake":
            return Fault("error_rate", error_rate=BAKE_ERROR_RATE, version=version)
        if self.stage == "deploy":
            return Fault("deploy_failures", count=self.count)
        return Fault("bad_model", count=self.count or EVERY)  # counted: bad builds, not a region


def parse_failure(text: str) -> Failure:
    """Parse `REGION:deploy[:COUNT]`, `REGION:verify[:COUNT]` or `REGION:bake`."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or parts[1] not in STAGES:
        raise InvalidFault(f"{text!r} is not a failure: expected {SYNTAX}, e.g. eu-west-1:deploy:1")
    count = None
    if len(parts) == 3:
        if not parts[2].isdigit() or int(parts[2]) < 1:
            raise InvalidFault(f"{text!r}: COUNT must be a whole number >= 1, got {parts[2]!r}")
        count = int(parts[2])
        if parts[1] == "bake":
            raise InvalidFault(f"{text!r}: a bake failure takes no COUNT; write {parts[0]}:bake")
    return Failure(parts[0], parts[1], count)


def as_failures(items: Iterable[Failure | str]) -> tuple[Failure, ...]:
    """Failures given as `Failure`s or as `REGION:stage[:COUNT]` text; anything else refused."""
    failures = tuple(parse_failure(f) if isinstance(f, str) else f for f in items)
    for f in failures:
        if not isinstance(f, Failure):
            raise InvalidDeployment(
                f"failures take Failure(region, stage, count) or 'REGION:stage[:COUNT]', got {f!r}"
            )
    return failures


def spoil(predictions: list[float]) -> list[float]:
    """What a bad model serves: every prediction off by BAD_OFFSET."""
    return [p + BAD_OFFSET for p in predictions]
