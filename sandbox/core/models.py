"""Model artifacts: small linear or logistic models kept as JSON data, checked when loaded.

An artifact holds only names and numbers (never pickle, never code) plus a smoke set: a few
instances with the predictions the model must give on them. Loading checks shapes, types and the
URL-safe name and version; whether a region serves those predictions is `verify_deployment`'s to
find out, so an artifact whose weights no longer match its smoke set loads, then fails it."""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.core.checks import unique_keys
from sandbox.errors import InvalidModel

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

TOLERANCE: float = 1e-6  # absolute tolerance for comparing predictions
MAX_ARTIFACT_BYTES = 1024 * 1024
KINDS = ("linear", "logistic")
FIELDS = ("name", "version", "kind", "features", "weights", "bias", "smoke")
OPTIONAL_FIELDS = ("features",)
SMOKE_FIELDS = ("instances", "predictions")
# Names and versions are URL path segments (as in KServe, Triton, TF Serving), never '..'
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # e.g. model_v1, fraud-detector
MODEL_NAME_RULE = "at most 128 letters, digits, '.', '_' and '-', starting with a letter or digit"
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # e.g. 1.1.0, 2024-06-01, 1.0.0-rc1+build
VERSION_RULE = "letters, digits, '.', '_', '+' and '-', starting with a letter or digit"


@dataclass(frozen=True)
class Model:
    """A linear or logistic model. Build it with parse_model or load_model, which validate it."""

    name: str
    version: str
    kind: str  # "linear" | "logistic"
    weights: tuple[float, ...]
    bias: float
    smoke_instances: tuple[tuple[float, ...], ...]
    smoke_predictions: tuple[float, ...]
    features: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        """How many numbers each instance has."""
        return len(self.weights)

    def predict(self, instances: Sequence[Sequence[float]]) -> list[float]:
        """One prediction per instance: w.x + b, or its sigmoid (a probability) if logistic.

        Raises ValueError naming the instance if one is not n_features finite numbers.
        """
        wanted = f"{self.n_features} finite numbers"
        if self.features:
            wanted += f" ({', '.join(self.features)})"
        if isinstance(instances, str | bytes) or not isinstance(instances, Iterable):
            raise ValueError(f"expected a list of instances, each {wanted}")
        predictions = []
        for index, instance in enumerate(instances):
            if isinstance(instance, Mapping):
                values = self.by_feature(instance, f"instance {index}")
            elif isinstance(instance, str | bytes) or not isinstance(instance, Iterable):
                raise ValueError(f"instance {index}: expected {wanted}, got {_describe(instance)}")
            else:
                values = list(instance)
            if len(values) != self.n_features:
                raise ValueError(f"instance {index}: expected {wanted}, got {_describe(values)}")
            row = []
            for position, value in enumerate(values):
                number = _as_float(value)
                if number is None:
                    raise ValueError(
                        f"instance {index}: value {position}: expected a finite number, "
                        f"got {_describe(value)}"
                    )
                row.append(number)
            z = sum(w * x for w, x in zip(self.weights, row, strict=True)) + self.bias
            prediction = _sigmoid(z) if self.kind == "logistic" else z
            if not math.isfinite(prediction):
                raise ValueError(
                    f"instance {index}: the prediction is not a finite number; send smaller values"
                )
            predictions.append(prediction)
        return predictions

    def by_feature(self, named: Mapping[str, Any], where: str) -> list[Any]:
        """The values of `named`, keyed by the feature names, in order; ValueError starting with
        `where` for a missing or unknown name, listing the names expected."""
        if not self.features:
            raise ValueError(f"{where}: {self.name} names no features; send a list of numbers")
        unknown = [f"unknown feature {key!r}" for key in named if key not in self.features]
        missing = [f"missing feature {f!r}" for f in self.features if f not in named]
        if unknown or missing:
            problem = (unknown or missing)[0]
            raise ValueError(f"{where}: {problem}; expected {', '.join(self.features)}")
        return [named[feature] for feature in self.features]

    def rows(self, columns: Mapping[str, Any], where: str) -> list[list[Any]]:
        """Instances from one list of values per feature name; ValueError naming the feature."""
        values = self.by_feature(columns, where)
        count = len(values[0]) if isinstance(values[0], list) else -1
        for feature, column in zip(self.features, values, strict=True):
            if not isinstance(column, list) or len(column) != count:
                wanted = "one per instance" if count < 0 else f"{count}, as many as the first"
                got = f"expected a list ({wanted}), got {_describe(column)}"
                raise ValueError(f"{where}: feature {feature!r}: {got}")
        return [list(row) for row in zip(*values, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """The artifact's JSON document (features left out when the model has none)."""
        doc: dict[str, Any] = {"name": self.name, "version": self.version, "kind": self.kind}
        if self.features:
            doc["features"] = list(self.features)
        doc["weights"] = list(self.weights)
        doc["bias"] = self.bias
        doc["smoke"] = {
            "instances": [list(instance) for instance in self.smoke_instances],
            "predictions": list(self.smoke_predictions),
        }
        return doc


def bundled_models() -> list[str]:
    """Names of the models shipped in sandbox/data (the model_*.json files), sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _data_dir().iterdir()
        if entry.name.startswith("model_") and entry.name.endswith(".json")
    )


def parse_model(doc: object, source: str) -> Model:
    """Validate a decoded artifact document; `source` (a path or bundled name) starts messages."""
    try:
        return _parse(doc, source)
    except _Problem as problem:
        raise InvalidModel(
            f"{source}: field '{problem.where}': expected {problem.expected}, "
            f"got {_describe(problem.value)}"
        ) from None


def load_model(name_or_path: str | os.PathLike[str]) -> Model:
    """Load a bundled model by name ("model_v1") or an artifact from a .json file path."""
    if isinstance(name_or_path, str):
        bundled = bundled_models()
        if name_or_path in bundled:
            return _load(_data_dir().joinpath(f"{name_or_path}.json"), name_or_path)
        path = Path(name_or_path)
        if path.name == name_or_path and path.suffix != ".json" and not path.is_file():
            raise InvalidModel(
                f"unknown model {name_or_path!r}: use a bundled model ({', '.join(bundled)}) "
                "or a path to a .json artifact"
            )
    path = Path(name_or_path)
    if path.exists() and not path.is_file():
        raise InvalidModel(
            f"{os.fspath(name_or_path)}: not a regular file (a folder, a device or a pipe); "
            "name a .json artifact"
        )
    return _load(path, os.fspath(name_or_path))


def predictions_match(
    expected: Sequence[float], got: Sequence[float], tol: float = TOLERANCE
) -> bool:
    """True if both have the same length and each pair differs by at most `tol`."""
    return len(expected) == len(got) and all(
        abs(e - g) <= tol for e, g in zip(expected, got, strict=True)
    )


class _Problem(Exception):
    """A field that does not hold what it should; parse_model turns it into InvalidModel."""

    def __init__(self, where: str, expected: str, value: object) -> None:
        super().__init__(where)
        self.where, self.expected, self.value = where, expected, value


class _NonFinite:
    """Stands in for a NaN or Infinity literal so validation can name the field holding it."""

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


def _data_dir() -> Traversable:
    return files("sandbox").joinpath("data")


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # this form cannot overflow for very negative z
    return e / (1.0 + e)


def _as_float(value: object) -> float | None:
    """The value as a finite float, or None if it is not a finite real number (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _describe(value: object) -> str:
    """A short description of a value for an error message."""
    if isinstance(value, list | tuple):
        count = len(value)
        return f"a list of {count} value{'s' * (count != 1)}" if count else "an empty list"
    if isinstance(value, dict):
        return "an object"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _load(resource: Traversable, source: str) -> Model:
    try:
        with resource.open("rb") as handle:
            data = handle.read(MAX_ARTIFACT_BYTES + 1)
    except OSError as exc:
        raise InvalidModel(f"{source}: cannot read the artifact: {exc.strerror or exc}") from None
    if len(data) > MAX_ARTIFACT_BYTES:
        raise InvalidModel(
            f"{source}: larger than 1 MiB; a model artifact may be at most "
            f"{MAX_ARTIFACT_BYTES} bytes"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidModel(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        doc = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise InvalidModel(
            f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # a duplicate key, or an integer with too many digits
        reason = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise InvalidModel(f"{source}: not valid JSON: {reason}") from None
    except RecursionError:
        raise InvalidModel(f"{source}: not valid JSON: nested too deeply to parse") from None
    return parse_model(doc, source)


def _check_keys(doc: dict[Any, Any], known: Sequence[str], prefix: str, source: str) -> None:
    """Reject unknown keys (so typos are caught), then report the first missing required one."""
    unknown = [key for key in doc if key not in known]
    if unknown:
        names = ", ".join(repr(f"{prefix}{key}") for key in unknown)
        raise InvalidModel(
            f"{source}: unknown field{'s' if len(unknown) > 1 else ''} {names} "
            f"(known fields: {', '.join(known)})"
        )
    for key in known:
        if key not in doc and key not in OPTIONAL_FIELDS:
            raise InvalidModel(f"{source}: missing field '{prefix}{key}'")


def _text(value: object, where: str, rule: tuple[re.Pattern[str], str] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem(where, "a non-empty string", value)
    if rule is not None and not rule[0].fullmatch(value):
        raise _Problem(where, f"{rule[1]} (it goes in URLs)", value)
    return value


def _number(value: object, where: str) -> float:
    number = _as_float(value)
    if number is None:
        raise _Problem(where, "a finite number", value)
    return number


def _numbers(value: object, where: str, length: int | None = None) -> tuple[float, ...]:
    """A list of finite numbers: non-empty, and exactly `length` long if given."""
    if not isinstance(value, list | tuple) or not value or length not in (None, len(value)):
        count = "a non-empty list of" if length is None else f"a list of {length}"
        raise _Problem(where, f"{count} finite numbers", value)
    return tuple(_number(item, f"{where}[{i}]") for i, item in enumerate(value))


def _parse(doc: object, source: str) -> Model:
    if not isinstance(doc, dict):
        raise InvalidModel(
            f"{source}: expected a JSON object at the top level, got {_describe(doc)}"
        )
    _check_keys(doc, FIELDS, "", source)
    name = _text(doc["name"], "name", (MODEL_NAME, MODEL_NAME_RULE))
    version = _text(doc["version"], "version", (VERSION, VERSION_RULE))
    kind = doc["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise _Problem("kind", " or ".join(repr(k) for k in KINDS), kind)
    weights = _numbers(doc["weights"], "weights")
    bias = _number(doc["bias"], "bias")
    features: tuple[str, ...] = ()
    if "features" in doc:
        raw = doc["features"]
        if not isinstance(raw, list | tuple) or len(raw) != len(weights):
            raise _Problem("features", f"a list of {len(weights)} names, one per weight", raw)
        features = tuple(_text(item, f"features[{i}]") for i, item in enumerate(raw))
        for i, feature in enumerate(features):
            if feature in features[:i]:
                raise _Problem(f"features[{i}]", "a name not used before", feature)

    smoke = doc["smoke"]
    if not isinstance(smoke, dict):
        raise _Problem("smoke", "an object with 'instances' and 'predictions'", smoke)
    _check_keys(smoke, SMOKE_FIELDS, "smoke.", source)
    raw_instances = smoke["instances"]
    if not isinstance(raw_instances, list | tuple) or not raw_instances:
        raise _Problem("smoke.instances", "a non-empty list of instances", raw_instances)
    instances = tuple(
        _numbers(item, f"smoke.instances[{i}]", len(weights))
        for i, item in enumerate(raw_instances)
    )
    raw_predictions = smoke["predictions"]
    if not isinstance(raw_predictions, list | tuple) or len(raw_predictions) != len(instances):
        expected = f"a list of {len(instances)} finite numbers, one per instance"
        raise _Problem("smoke.predictions", expected, raw_predictions)
    predictions = tuple(
        _number(item, f"smoke.predictions[{i}]") for i, item in enumerate(raw_predictions)
    )

    return Model(name, version, kind, weights, bias, instances, predictions, features)


@dataclass
class Serving:
    """What one region serves: its model's current version, the version it replaced (kept for a
    rollback) and which of them are bad builds. The simulated and the live regions both keep one.
    """

    current: Model | None = None
    kept: dict[str, Model] = field(default_factory=dict)
    bad: frozenset[str] = frozenset()

    def deploy(self, model: Model, bad_build: bool = False) -> bool:
        """Serve `model`, keeping the version it replaces when that is another version of the
        same model (deploying the same version again keeps what was kept). True when it
        replaced a model of the same name."""
        current = self.current
        if current is None or current.name != model.name:
            kept = {model.version: model}
        elif current.version != model.version:
            kept = {model.version: model, current.version: current}
        else:
            kept = {
                model.version: model,
                **{v: m for v, m in self.kept.items() if v != model.version},
            }
        bad = self.bad & set(kept) - {model.version}
        self.current, self.kept = model, kept
        self.bad = bad | {model.version} if bad_build else bad
        return current is not None and current.name == model.name

    def withdraw(self, version: str) -> None:
        """Take `version` out; if it was current, the version kept beside it serves again."""
        self.kept = {v: m for v, m in self.kept.items() if v != version}
        if self.current is not None and self.current.version == version:
            self.current = next(iter(self.kept.values()), None)
        self.bad -= {version}

    def clear(self) -> None:
        """Serve nothing."""
        self.current, self.kept, self.bad = None, {}, frozenset()

    def get(self, name: str, version: str | None = None) -> Model | None:
        """Model `name` at `version` (None: the current version), if this region has it."""
        current = self.current
        if current is None or current.name != name:
            return None
        return current if version is None else self.kept.get(version)
