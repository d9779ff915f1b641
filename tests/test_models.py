"""Tests for sandbox.core.models: bundled artifacts, predictions, every way an artifact is bad."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.models import (
    MAX_ARTIFACT_BYTES,
    MODEL_NAME,
    TOLERANCE,
    VERSION,
    Model,
    bundled_models,
    load_model,
    parse_model,
    predictions_match,
)
from sandbox.errors import InvalidModel, SandboxError

ROOT = Path(__file__).resolve().parents[1]


def linear(weights: tuple[float, ...] = (2.0, -1.0), bias: float = 0.5) -> Model:
    return Model("lin", "0.1", "linear", weights, bias, ((0.0,) * len(weights),), (bias,))


def valid_doc() -> dict[str, Any]:
    """A small valid linear artifact: 2*x0 - x1 + 0.5."""
    return {
        "name": "toy",
        "version": "0.1.0",
        "kind": "linear",
        "features": ["a", "b"],
        "weights": [2.0, -1.0],
        "bias": 0.5,
        "smoke": {"instances": [[0, 0], [3, 4], [1, 1]], "predictions": [0.5, 2.5, 1.5]},
    }


def edited(path: str, value: Any) -> dict[str, Any]:
    """valid_doc() with the field at dotted `path` set to `value` (or deleted if value is ...)."""
    doc = valid_doc()
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return doc


def write(tmp_path: Path, text: str, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- bundled artifacts -------------------------------------------------------------------


def test_bundled_models_are_discovered() -> None:
    assert bundled_models() == ["model_v1", "model_v1_1", "model_v2"]


@pytest.mark.parametrize("name", ["model_v1", "model_v2"])
def test_bundled_model_loads_and_passes_its_smoke_set(name: str) -> None:
    model = load_model(name)
    assert model.name == name
    assert model.kind == "logistic"
    assert model.features == ("tenure_months", "monthly_spend", "support_tickets")
    assert model.n_features == 3
    assert len(model.smoke_instances) >= 5
    assert predictions_match(model.smoke_predictions, model.predict(model.smoke_instances))


def test_model_v2_is_a_new_version_of_model_v1() -> None:
    v1, v2 = load_model("model_v1"), load_model("model_v2")
    assert (v1.version, v2.version) == ("1.0.0", "2.0.0")
    assert v1.weights != v2.weights
    assert v1.smoke_instances == v2.smoke_instances


def test_bundled_files_equal_what_make_models_writes(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "make_models.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    names = ["model_v1.json", "model_v1_1.json", "model_v2.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    data = files("sandbox").joinpath("data")
    for name in names:
        assert (tmp_path / name).read_bytes() == data.joinpath(name).read_bytes(), name


# --- predictions -------------------------------------------------------------------------


def test_linear_predict_by_hand() -> None:
    model = linear()
    assert model.predict([[3, 4], [0.0, 0.0], (-1.5, 2)]) == [2.5, 0.5, -4.5]
    assert model.predict([]) == []


def test_logistic_predict_by_hand() -> None:
    model = Model("log", "1", "logistic", (1.0,), 0.0, ((0.0,),), (0.5,))
    got = model.predict([[0.0], [math.log(3.0)], [-math.log(3.0)], [1000.0], [-1000.0]])
    assert predictions_match(got, [0.5, 0.75, 0.25, 1.0, 0.0])  # no overflow at the extremes


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([[1.0, 2.0], [1.0]], "instance 1: expected 2 finite numbers, got a list of 1 value"),
        ([[1.0, 2.0, 3.0]], "instance 0: expected 2 finite numbers, got a list of 3 values"),
        ([[1.0, True]], "instance 0: value 1: expected a finite number, got true"),
        ([[1.0, "2"]], "instance 0: value 1: expected a finite number, got '2'"),
        ([[math.nan, 1.0]], "instance 0: value 0: expected a finite number, got nan"),
        ([[1.0, math.inf]], "instance 0: value 1: expected a finite number, got inf"),
        ([[1.0, 2.0], "ab"], "instance 1: expected 2 finite numbers, got 'ab'"),
        ([[1.0, 2.0], 3.0], "instance 1: expected 2 finite numbers, got 3.0"),
        ("ab", "expected a list of instances, each 2 finite numbers"),
    ],
)
def test_predict_rejects_bad_instances(instances: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        linear().predict(instances)


def test_predict_message_names_the_features() -> None:
    model = parse_model(valid_doc(), "toy")
    with pytest.raises(ValueError, match=r"instance 0: expected 2 finite numbers \(a, b\)"):
        model.predict([[1.0]])


def test_predictions_match() -> None:
    assert predictions_match([0.5, 1.0], [0.5 + TOLERANCE / 2, 1.0])
    assert not predictions_match([0.5, 1.0], [0.5 + 2 * TOLERANCE, 1.0])
    assert not predictions_match([0.5], [0.5, 1.0])
    assert predictions_match([0.5], [0.6], tol=0.2)
    assert not predictions_match([0.5], [math.nan])


# --- loading and round trips -------------------------------------------------------------


def test_parse_valid_doc() -> None:
    model = parse_model(valid_doc(), "toy.json")
    assert model == Model(
        name="toy",
        version="0.1.0",
        kind="linear",
        weights=(2.0, -1.0),
        bias=0.5,
        smoke_instances=((0.0, 0.0), (3.0, 4.0), (1.0, 1.0)),
        smoke_predictions=(0.5, 2.5, 1.5),
        features=("a", "b"),
    )


def test_features_are_optional() -> None:
    model = parse_model(edited("features", ...), "toy.json")
    assert model.features == ()
    assert "features" not in model.to_dict()


def test_load_from_path(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(valid_doc()))
    expected = parse_model(valid_doc(), "toy")
    assert load_model(path) == expected
    assert load_model(str(path)) == expected


def test_load_a_bundled_artifact_by_its_path() -> None:
    path = ROOT / "sandbox" / "data" / "model_v1.json"
    assert load_model(path) == load_model("model_v1")


def test_to_dict_round_trips_with_keys_in_artifact_order() -> None:
    model = load_model("model_v2")
    doc = model.to_dict()
    assert list(doc) == ["name", "version", "kind", "features", "weights", "bias", "smoke"]
    assert list(doc["smoke"]) == ["instances", "predictions"]
    assert parse_model(doc, "dict") == model
    assert parse_model(json.loads(json.dumps(doc)), "json") == model


# --- bad documents -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "version", "kind", "weights", "bias", "smoke"])
def test_missing_field(field: str) -> None:
    with pytest.raises(InvalidModel, match=f"^toy\\.json: missing field '{field}'$"):
        parse_model(edited(field, ...), "toy.json")


@pytest.mark.parametrize("field", ["instances", "predictions"])
def test_missing_smoke_field(field: str) -> None:
    with pytest.raises(InvalidModel, match=rf"^toy\.json: missing field 'smoke\.{field}'$"):
        parse_model(edited(f"smoke.{field}", ...), "toy.json")


BAD_FIELDS = [
    ("name", 3, "'name': expected a non-empty string, got 3"),
    ("name", "", "'name': expected a non-empty string, got ''"),
    ("name", "  ", "'name': expected a non-empty string, got '  '"),
    ("name", "my model", "'name': expected at most 128 letters, digits, '.', '_' and '-'"),
    ("name", "модель", "'name': expected .* \\(it goes in URLs\\), got 'модель'"),
    ("name", "..", "'name': expected .*, starting with a letter or digit .*, got '..'"),
    ("name", "v1:predict", "'name': expected .* got 'v1:predict'"),
    ("name", "a/b", "'name': expected .* got 'a/b'"),
    ("name", "m" * 129, "'name': expected at most 128 letters, .* got 'mmm"),
    ("version", ".", "'version': expected .*, starting with a letter or digit .*, got '.'"),
    ("version", ["1"], "'version': expected a non-empty string, got a list of 1 value"),
    ("version", None, "'version': expected a non-empty string, got null"),
    ("version", "1.0 beta", "'version': expected letters, digits, '.', '_', '\\+' and '-'"),
    ("version", "1/2", "'version': expected .* \\(it goes in URLs\\), got '1/2'"),
    ("kind", "tree", "'kind': expected 'linear' or 'logistic', got 'tree'"),
    ("weights", [], "'weights': expected a non-empty list of finite numbers, got an empty list"),
    ("weights", "abc", "'weights': expected a non-empty list of finite numbers, got 'abc'"),
    ("weights", {"a": 1}, "'weights': expected a non-empty list of finite numbers, got an object"),
    ("weights.1", "abc", r"'weights\[1\]': expected a finite number, got 'abc'"),
    ("weights.0", True, r"'weights\[0\]': expected a finite number, got true"),
    ("weights.0", 10**400, r"'weights\[0\]': expected a finite number, got 1000"),
    ("bias", False, "'bias': expected a finite number, got false"),
    ("bias", "0.5", "'bias': expected a finite number, got '0.5'"),
    ("bias", math.nan, "'bias': expected a finite number, got nan"),
    ("features", ["a"], "'features': expected a list of 2 names, one per weight"),
    ("features", "ab", "'features': expected a list of 2 names, one per weight, got 'ab'"),
    ("features.1", 7, r"'features\[1\]': expected a non-empty string, got 7"),
    ("features.1", "a", r"'features\[1\]': expected a name not used before, got 'a'"),
    ("smoke", [], "'smoke': expected an object with 'instances' and 'predictions'"),
    ("smoke.instances", [], r"'smoke\.instances': expected a non-empty list of instances"),
    ("smoke.instances", 5, r"'smoke\.instances': expected a non-empty list of instances, got 5"),
    (
        "smoke.instances.1",
        [3],
        r"'smoke\.instances\[1\]': expected a list of 2 finite numbers, got a list of 1 value",
    ),
    ("smoke.instances.1", 3, r"'smoke\.instances\[1\]': expected a list of 2 finite numbers"),
    ("smoke.instances.2.0", True, r"'smoke\.instances\[2\]\[0\]': expected a finite number"),
    ("smoke.instances.2.1", "x", r"'smoke\.instances\[2\]\[1\]': expected a finite number"),
    (
        "smoke.predictions",
        [0.5, 2.5],
        r"'smoke\.predictions': expected a list of 3 finite numbers, one per instance",
    ),
    ("smoke.predictions", 0.5, r"'smoke\.predictions': expected a list of 3 finite numbers"),
    (
        "smoke.predictions.2",
        "abc",
        r"'smoke\.predictions\[2\]': expected a finite number, got 'abc'",
    ),
    ("smoke.predictions.0", True, r"'smoke\.predictions\[0\]': expected a finite number, got true"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_FIELDS)
def test_bad_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidModel, match=r"^toy\.json: field " + message):
        parse_model(edited(path, value), "toy.json")


def test_stale_smoke_set_loads_and_fails_verification(tmp_path: Path) -> None:
    """Retrained weights with the old smoke set: loading is fine, verification catches it."""
    from sandbox import run_deployment

    doc = load_model("model_v1").to_dict()
    doc["weights"][2] += 0.01
    model = load_model(write(tmp_path, json.dumps(doc)))
    assert not predictions_match(model.smoke_predictions, model.predict(model.smoke_instances))
    d = run_deployment(["us-east-1"], model, on_failure="stop")
    assert d.verification_status == {"us-east-1": "failed"}
    assert d.outcome == "stopped"


def test_unknown_field_is_named() -> None:
    doc = valid_doc()
    doc["wieghts"] = doc.pop("weights")
    message = (
        r"^toy\.json: unknown field 'wieghts' \(known fields: name, version, kind, features, "
        r"weights, bias, smoke\)$"
    )
    with pytest.raises(InvalidModel, match=message):
        parse_model(doc, "toy.json")


def test_several_unknown_fields_and_unknown_smoke_field() -> None:
    doc = valid_doc()
    doc.update(author="me", notes="x")
    with pytest.raises(InvalidModel, match="unknown fields 'author', 'notes' "):
        parse_model(doc, "toy.json")
    doc = edited("smoke.instnaces", [[0, 0]])
    with pytest.raises(InvalidModel, match=r"unknown field 'smoke\.instnaces' \(known fields: in"):
        parse_model(doc, "toy.json")


@pytest.mark.parametrize("doc", [[], "model", None, 3])
def test_top_level_must_be_an_object(doc: object) -> None:
    with pytest.raises(InvalidModel, match=r"^toy\.json: expected a JSON object at the top level"):
        parse_model(doc, "toy.json")


# --- bad files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid", "invalid", "field"),
    [
        ('"bias": 0.5', '"bias": NaN', "bias"),
        ('"weights": [2.0', '"weights": [Infinity', "weights[0]"),
        ('"predictions": [0.5', '"predictions": [-Infinity', "smoke.predictions[0]"),
    ],
)
def test_non_finite_literals_are_rejected_naming_the_field(
    tmp_path: Path, valid: str, invalid: str, field: str
) -> None:
    text = json.dumps(valid_doc())
    assert valid in text
    path = write(tmp_path, text.replace(valid, invalid))
    literal = invalid.rsplit(" ", 1)[-1].lstrip("[")
    message = f"model.json: field '{field}': expected a finite number, got {literal}"
    with pytest.raises(InvalidModel, match=re.escape(message)):
        load_model(path)


def test_bad_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "name": "toy",\n  "version": 1.0.0\n}\n')
    with pytest.raises(InvalidModel, match=r"model\.json: not valid JSON: .* \(line 3, column"):
        load_model(path)


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, '{"name": "a", "name": "b"}')
    with pytest.raises(InvalidModel, match="not valid JSON: duplicate key 'name'"):
        load_model(path)


def test_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(InvalidModel, match=r"model\.json: not UTF-8 text"):
        load_model(path)


def test_huge_file_is_rejected_before_parsing(tmp_path: Path) -> None:
    text = json.dumps(valid_doc())
    path = write(tmp_path, " " * (MAX_ARTIFACT_BYTES + 1 - len(text)) + text)
    with pytest.raises(InvalidModel, match=r"model\.json: larger than 1 MiB"):
        load_model(path)
    exactly_at_limit = write(tmp_path, " " * (MAX_ARTIFACT_BYTES - len(text)) + text, "ok.json")
    assert load_model(exactly_at_limit).name == "toy"


def test_unknown_model_name() -> None:
    message = (
        "unknown model 'model_v3': use a bundled model (model_v1, model_v1_1, model_v2) "
        "or a path to a .json artifact"
    )
    with pytest.raises(InvalidModel, match=f"^{re.escape(message)}$"):
        load_model("model_v3")


def test_missing_path_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(InvalidModel, match=r"nope\.json: cannot read the artifact"):
        load_model(missing)
    with pytest.raises(InvalidModel, match="not a regular file"):
        load_model(tmp_path)


def test_a_pipe_or_a_device_is_refused_without_reading_it(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "model.json"
    os.mkfifo(pipe)  # opening it to read would wait for a writer forever
    with pytest.raises(InvalidModel, match="not a regular file"):
        load_model(pipe)
    with pytest.raises(InvalidModel, match="not a regular file"):
        load_model("/dev/zero")


def test_invalid_model_is_a_sandbox_value_error() -> None:
    with pytest.raises(ValueError, match="missing field") as caught:
        parse_model({}, "x")
    assert isinstance(caught.value, SandboxError)


# --- properties --------------------------------------------------------------------------

small = st.floats(min_value=-2.5, max_value=2.5)  # keeps |w.x + b| <= 27.5 for up to 4 features
wide = st.floats(min_value=-1e6, max_value=1e6)
label = st.text(min_size=1, max_size=12).filter(str.strip)


@st.composite
def models(
    draw: st.DrawFn,
    values: st.SearchStrategy[float] = wide,
    kinds: tuple[str, ...] = ("linear", "logistic"),
) -> Model:
    """Valid models: random weights and smoke instances, smoke predictions from predict."""
    n = draw(st.integers(min_value=1, max_value=4))
    vector = st.tuples(*[values] * n)
    names = st.one_of(st.just([]), st.lists(label, min_size=n, max_size=n, unique=True))
    model = Model(
        name=draw(st.from_regex(MODEL_NAME, fullmatch=True)),
        version=draw(st.from_regex(VERSION, fullmatch=True)),
        kind=draw(st.sampled_from(kinds)),
        weights=draw(vector),
        bias=draw(values),
        smoke_instances=tuple(draw(st.lists(vector, min_size=1, max_size=5))),
        smoke_predictions=(),
        features=tuple(draw(names)),
    )
    return replace(model, smoke_predictions=tuple(model.predict(model.smoke_instances)))


@given(models())
def test_parse_of_to_dict_is_the_same_model(model: Model) -> None:
    assert parse_model(model.to_dict(), "generated") == model
    assert parse_model(json.loads(json.dumps(model.to_dict())), "generated") == model


@given(
    models(values=small, kinds=("logistic",)),
    st.lists(st.lists(small, min_size=4, max_size=4), max_size=5),
)
def test_logistic_predictions_are_probabilities(model: Model, rows: list[list[float]]) -> None:
    instances = [row[: model.n_features] for row in rows]
    predictions = model.predict(instances)
    assert len(predictions) == len(instances)
    assert all(0.0 < p < 1.0 for p in predictions)


def test_a_prediction_that_overflows_is_refused_not_answered_as_infinity():
    from sandbox.core.models import Model

    linear = Model("huge", "1", "linear", (1e308, 1e308), 0.0, ((1.0, 1.0),), (2e308,))
    with pytest.raises(ValueError, match="instance 0: the prediction is not a finite number"):
        linear.predict([[1e308, 1e308]])
    assert linear.predict([[1.0, -1.0]]) == [0.0]
