"""The JSON Schemas of the region's and the gateway's bodies and answers, for their OpenAPI
documents (`sandbox.live.openapi`): built from the rules the servers check (the fault vocabulary
and its ranges, the model name and version rules, the body limits), so that a schema and its
validation cannot drift apart. A prediction's body is the served model's rows where one model
is served (its feature count and names).
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.core.checks import Range
from sandbox.core.faults import KINDS, PARAMETERS, VERSIONED
from sandbox.core.models import KINDS as MODEL_KINDS
from sandbox.core.models import MODEL_NAME, VERSION, Model
from sandbox.live import v2
from sandbox.live.forms import MAX_INSTANCES, SIGNATURE
from sandbox.live.http import MAX_BODY_BYTES

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def number(bounds: Range) -> Schema:
    """A JSON Schema for the numbers `bounds` allows."""
    schema: Schema = {"type": "integer" if bounds.whole else "number"}
    if bounds.low != -math.inf:
        schema["exclusiveMinimum" if bounds.low_open else "minimum"] = bounds.low
    if bounds.high != math.inf:
        schema["exclusiveMaximum" if bounds.high_open else "maximum"] = bounds.high
    return schema


def fault_schema(kind: str) -> Schema:
    """One fault kind's object: its parameters, their ranges, and `duration_s`; an optional
    parameter may be null (not set: `duration_s` null lasts until cleared)."""
    required, optional = KINDS[kind]
    properties: Schema = {"kind": {"const": kind}}
    properties |= {name: number(PARAMETERS[name]) for name in required}
    properties |= {name: nullable(number(PARAMETERS[name])) for name in (*optional, "duration_s")}
    if kind in VERSIONED:
        version = {"type": "string", "pattern": f"^{VERSION.pattern}$"}
        properties["version"] = nullable(version)
    return {
        "type": "object",
        "properties": properties,
        "required": ["kind", *required],
        "additionalProperties": False,
    }


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def an_object(properties: Schema, required: tuple[str, ...] = (), **more: Any) -> Schema:
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return schema | more


STRING, NUMBER, BOOLEAN = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
STRINGS = {"type": "array", "items": STRING}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
SCHEMAS: dict[str, Schema] = {
    "TensorData": {
        "description": "A tensor's values, row-major: flat, or as rows (shape[0] lists of "
        "shape[1] values).",
        "type": "array",
        "items": {"anyOf": [NUMBER, {"type": "array", "items": NUMBER}]},
    },
    "Error": an_object({"error": STRING}, ("error",)),
    "Alive": an_object({"status": {"const": "alive"}}, ("status",)),
    "Models": an_object({"models": STRINGS}, ("models",)),
    "ModelStatus": an_object(
        {"name": STRING, "version": STRING, "ready": BOOLEAN, "versions": STRINGS},
        ("name", "version", "ready", "versions"),
    ),
    "TensorFlowMetadata": an_object(
        {"model_spec": {"type": "object"}, "metadata": {"type": "object"}},
        ("model_spec", "metadata"),
    ),
    "Predictions": {
        "oneOf": [
            an_object({"predictions": {"type": "array", "items": NUMBER}}, ("predictions",)),
            an_object({"outputs": {"type": "array", "items": NUMBER}}, ("outputs",)),
        ]
    },
    "Live": an_object({"live": BOOLEAN}, ("live",)),
    "Ready": an_object({"ready": BOOLEAN, "error": STRING}, ("ready",)),
    "ServerMetadata": an_object(
        {"name": STRING, "version": STRING, "extensions": STRINGS},
        ("name", "version", "extensions"),
    ),
    "ModelMetadata": an_object(
        {
            "name": STRING,
            "versions": STRINGS,
            "platform": STRING,
            "inputs": {"type": "array", "items": {"type": "object"}},
            "outputs": {"type": "array", "items": {"type": "object"}},
        },
        ("name", "platform", "inputs", "outputs"),
    ),
    "ModelReady": an_object({"name": STRING, "ready": BOOLEAN}, ("name", "ready")),
    "InferenceResponse": an_object(
        {
            "model_name": STRING,
            "model_version": STRING,
            "id": STRING,
            "outputs": {
                "type": "array",
                "items": an_object(
                    {
                        "name": STRING,
                        "shape": {"type": "array", "items": {"type": "integer"}},
                        "datatype": STRING,
                        "data": {"type": "array", "items": NUMBER},
                        "parameters": {"type": "object"},
                    },
                    ("name", "shape", "datatype"),
                ),
            },
        },
        ("model_name", "outputs"),
    ),
    "Faults": an_object(
        {"faults": {"type": "array", "items": an_object({"kind": STRING}, ("kind",))}},
        ("faults",),
    ),
}


def prediction(model: Model | None) -> dict[str, Schema]:
    """A V1 prediction's body (`Predict`): TensorFlow Serving's row form (`instances`) or columnar
    form (`inputs`: the same rows, or one list of values per feature name), with the schemas it
    names: a `Row` of the model's feature values, a `NamedRow` keyed by its feature names, the
    `Rows` of an instance list and the `Columns` of the columnar form."""
    row: Schema = {"type": "array", "items": NUMBER, "minItems": 1}
    named: Schema = {"type": "object", "additionalProperties": NUMBER, "minProperties": 1}
    columns: Schema = {"type": "object", "additionalProperties": {"type": "array"}}
    if model is not None:
        row |= {"minItems": model.n_features, "maxItems": model.n_features}
        named = an_object(dict.fromkeys(model.features, NUMBER), model.features)
        column = {"type": "array", "items": NUMBER, "minItems": 1, "maxItems": MAX_INSTANCES}
        columns = an_object(dict.fromkeys(model.features, column), model.features)
        named["additionalProperties"] = columns["additionalProperties"] = False
    named_too = model is None or bool(model.features)
    shapes = [ref("Row"), ref("NamedRow")] if named_too else [ref("Row")]
    instances = {"type": "array", "items": {"oneOf": shapes}, "minItems": 1}
    instances["maxItems"] = MAX_INSTANCES
    signature = {"enum": [SIGNATURE, ""]}  # empty: the default, as TensorFlow Serving takes it
    inputs = {"oneOf": [ref("Rows"), ref("Columns")]} if named_too else ref("Rows")
    predict = {
        "oneOf": [
            an_object(
                {"instances": ref("Rows"), "signature_name": signature},
                ("instances",),
                additionalProperties=False,
            ),
            an_object(
                {"inputs": inputs, "signature_name": signature},
                ("inputs",),
                additionalProperties=False,
            ),
        ],
        "description": "Every column of the columnar form holds as many values as the first.",
    }
    parts = {"Predict": predict, "Row": row, "Rows": instances, "Columns": columns}
    return parts | ({"NamedRow": named} if named_too else {})


def inference(model: Model | None) -> Schema:
    """An Open Inference Protocol request: one input tensor of the model's rows."""
    # [N, features] as two whole numbers: client generators read `items`, not `prefixItems`
    features = "features" if model is None else f"{model.n_features} features"
    shape: Schema = {"type": "array", "items": {"type": "integer", "minimum": 1}}
    shape |= {"minItems": 2, "maxItems": 2, "description": f"[N rows, {features}]"}
    tensor = an_object(
        {
            "name": {"const": v2.INPUT},
            "shape": shape,
            "datatype": {"enum": list(v2.DATATYPES)},
            "parameters": {"type": "object"},
            "data": ref("TensorData"),
        },
        ("name", "shape", "datatype", "data"),
        additionalProperties=False,
    )
    output = an_object(
        {"name": {"const": v2.OUTPUT}, "parameters": {"type": "object"}},
        ("name",),
        additionalProperties=False,
    )
    return an_object(
        {
            "id": STRING,
            "model_name": ref("ModelName"),  # the path's: one of the models served
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "items": tensor, "minItems": 1, "maxItems": 1},
            "outputs": {"type": "array", "items": output, "minItems": 1},
        },
        ("inputs",),
        additionalProperties=False,
        description="`data` holds shape[0] x shape[1] values, row-major, flat or nested.",
    )


def _error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


ERRORS = {  # every answer a JSON error can carry, by status
    400: _error("The request is malformed; the message names the field and the fix."),
    401: _error("A missing or wrong admin token."),
    404: _error("No such model, version or route."),
    413: _error(f"The body is over {MAX_BODY_BYTES} bytes."),
    415: _error("The body is not sent as `application/json`."),
    501: _error("The model has no explainer."),
    503: _error("Unavailable: an injected fault, no model, or no region answered."),
    504: _error("An injected timeout fault held the request."),
}
BODY_ERRORS = (400, 413, 415)
FAULTED = (503, 504)  # what a region's faults answer on its health, model and prediction routes


def answers(schema: Schema, descriptions: dict[int, str]) -> dict[str, Schema]:
    """Responses of `schema`, one per status, each with its description."""
    return {
        str(status): {"description": text, "content": {JSON: {"schema": schema}}}
        for status, text in descriptions.items()
    }


def header(description: str) -> Schema:
    return {"description": description, "schema": STRING}


REGION_ANSWER = {"X-Model-Version": header("The model version that made the predictions.")}
GATEWAY_ANSWER = REGION_ANSWER | {
    "X-Served-By": header("The region that answered."),
    "X-Attempts": header("How many regions were tried."),
    "X-Tried": header("The regions tried, in order, comma-separated."),
    "X-Fail-Open": header("`true` when no region was healthy and all were tried."),
}
TEXT_METRICS = {
    "200": {
        "description": "Prometheus' text exposition format.",
        "content": {"text/plain": {"schema": STRING}},
    }
}


ARTIFACT: Schema = an_object(
    {
        "name": {"type": "string", "pattern": f"^{MODEL_NAME.pattern}$"},
        "version": {"type": "string", "pattern": f"^{VERSION.pattern}$"},
        "kind": {"enum": list(MODEL_KINDS)},
        "features": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "weights": {"type": "array", "items": NUMBER, "minItems": 1},
        "bias": NUMBER,
        "smoke": an_object(
            {
                "instances": {"type": "array", "items": {"type": "array", "items": NUMBER}},
                "predictions": {"type": "array", "items": NUMBER},
            },
            ("instances", "predictions"),
            additionalProperties=False,
        ),
    },
    ("name", "version", "kind", "weights", "bias", "smoke"),
    additionalProperties=False,
    description="A model artifact, as `sandbox/data/model_v1.json`.",
)
