"""A V1 prediction's request forms (TensorFlow Serving's REST API, which KServe V1 follows) and
its metadata.

A body holds `instances` (the row form: each instance a list of the model's feature values in
order, or an object keyed by its feature names), answered `{"predictions": [...]}`, or `inputs`
(the columnar form: the same list, or an object of one list per feature name), answered
`{"outputs": [...]}`; `signature_name` may name the one signature, `serving_default`, or be
empty, which TensorFlow Serving takes for the default (the metadata's `model_spec` names it so).
The values themselves are the model's to check (`Model.predict`, `Model.rows`).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sandbox.core.models import Model
from sandbox.live.http import BadRequest

MAX_INSTANCES = 1000  # instances in one prediction, in any form or protocol
SIGNATURE = "serving_default"  # the one signature of every model
FIELDS = ("signature_name", "instances", "inputs")
USAGE = '{"instances": [[...], ...]} or {"inputs": ...}, with an optional "signature_name"'


class Form(NamedTuple):
    """What a prediction asks: its instances, the field they came from (errors name it) and the
    key of the answer."""

    instances: list[Any]
    field: str  # "instances" or "inputs"
    answer: str  # "predictions" or "outputs"


def read_predict(body: object, model: Model) -> Form:
    """The instances of a prediction's JSON body for `model`, or `BadRequest` naming the field."""
    if not isinstance(body, dict):
        raise BadRequest(f"expected {USAGE}")
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise BadRequest(f"unknown field {extra[0]!r}: expected {USAGE}")
    signature = body.get("signature_name", SIGNATURE)
    if signature not in (SIGNATURE, ""):  # empty: the default, as TensorFlow Serving takes it
        raise BadRequest(
            f'signature_name: {model.name} has one signature, "{SIGNATURE}" (or "" for it); '
            f"got {json.dumps(signature)}"
        )
    if ("instances" in body) == ("inputs" in body):
        which = "both" if "inputs" in body else "neither"
        raise BadRequest(f"got {which} of instances and inputs: expected {USAGE}")
    if "instances" in body:
        form = Form(body["instances"], "instances", "predictions")
    elif isinstance(body["inputs"], dict):
        try:
            form = Form(model.rows(body["inputs"], "inputs"), "inputs", "outputs")
        except ValueError as e:
            raise BadRequest(str(e)) from None
    else:
        form = Form(body["inputs"], "inputs", "outputs")
    if not isinstance(form.instances, list) or not 1 <= len(form.instances) <= MAX_INSTANCES:
        raise BadRequest(f"{form.field}: expected a list of 1 to {MAX_INSTANCES} instances")
    return form


def metadata(model: Model) -> dict[str, Any]:
    """TensorFlow Serving's model metadata: the signature's inputs (one per feature, or one
    `instances` tensor for a model without feature names) and its output, `predictions`."""
    if model.features:
        inputs = {feature: _tensor(feature, -1) for feature in model.features}
    else:
        inputs = {"instances": _tensor("instances", -1, model.n_features)}
    signature = {
        "inputs": inputs,
        "outputs": {"predictions": _tensor("predictions", -1)},
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": model.name, "signature_name": "", "version": model.version},
        "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}}},
    }


def _tensor(name: str, *dims: int) -> dict[str, Any]:
    shape = {"dim": [{"size": str(size), "name": ""} for size in dims], "unknown_rank": False}
    return {"dtype": "DT_DOUBLE", "tensor_shape": shape, "name": name}
