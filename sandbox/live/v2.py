"""The Open Inference Protocol (KServe V2, REST): a region's routes, its inference requests and
answers, and the metadata documents.

A model takes one input tensor, `input`: N rows of its features (FP32, FP64 or INT64; shape
[N, features]; `data` row-major, flat or as N rows) and answers one output tensor, `predictions`
(FP64, shape [N]). Triton's binary tensor extension (what tritonclient's HTTP client sends by
default) is spoken both ways: a body whose first `Inference-Header-Content-Length` bytes are the
JSON request and whose rest are the inputs' little-endian bytes (`binary_data_size`); outputs
asked for with `binary_data` (or the request's `binary_data_output`) answered the same way.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from sandbox.core.models import Model
from sandbox.live.forms import MAX_INSTANCES
from sandbox.live.http import BadRequest, header, parse_json, plain_body

INPUT, OUTPUT = "input", "predictions"
DATATYPES = {"FP32": "f", "FP64": "d", "INT64": "q"}  # input datatype -> struct code
HEADER_LENGTH = "Inference-Header-Content-Length"  # the binary tensor extension's header
EXTENSIONS = ["binary_tensor_data"]
# KServe's V2 client also names the model in the body (`model_name`), as the path does
REQUEST_FIELDS = ("id", "parameters", "inputs", "outputs", "model_name")
TENSOR_FIELDS = ("name", "shape", "datatype", "parameters", "data")
INT64 = 2**63


class Inference(NamedTuple):
    """An inference request, read: its id (echoed), its rows, and whether the predictions go
    back as binary data."""

    id: str | None
    rows: list[list[float]]
    binary: bool


def release() -> str:
    """The sandbox's installed version ("unknown" in a source tree never installed)."""
    try:
        return version("multiregion-sandbox")
    except PackageNotFoundError:
        return "unknown"


def server_metadata(name: str) -> dict[str, Any]:
    """The server metadata document of a server called `name`."""
    return {"name": name, "version": release(), "extensions": EXTENSIONS}


def model_metadata(model: Model, versions: list[str]) -> dict[str, Any]:
    """The model metadata document of `model`, served beside `versions`."""
    return {
        "name": model.name,
        "versions": versions,
        "platform": f"mrsandbox_{model.kind}",
        "inputs": [{"name": INPUT, "datatype": "FP64", "shape": [-1, model.n_features]}],
        "outputs": [{"name": OUTPUT, "datatype": "FP64", "shape": [-1]}],
    }


def read_inference(body: bytes, header_length: str | None, model: Model) -> Inference:
    """An inference request's body for `model` (`header_length`: the binary extension's header,
    if sent), or `BadRequest` naming the field at fault."""
    binary = b""
    if header_length is not None:
        size = _count(header_length, len(body))
        if size is None:
            raise BadRequest(
                f"{HEADER_LENGTH}: expected the JSON header's length in bytes, 0 to {len(body)}; "
                f"got {header_length!r}"
            )
        body, binary = body[:size], body[size:]
    try:
        doc = parse_json(body)
    except BadRequest as e:
        if header_length is None:
            raise BadRequest(
                f"{e}; a body of JSON then binary tensors needs the JSON's length in bytes in "
                f"the {HEADER_LENGTH} header"
            ) from None
        raise BadRequest(
            f"{HEADER_LENGTH}: the JSON request, the body's first {header_length} bytes, does not "
            f"parse ({e}); send the JSON's length in bytes, the tensors' bytes after it"
        ) from None
    if not isinstance(doc, dict):
        raise BadRequest('expected an inference request: {"inputs": [{"name": ...}, ...]}')
    _known(doc, REQUEST_FIELDS, "", "an inference request")
    if doc.get("model_name", model.name) != model.name:
        raise BadRequest(
            f"model_name: the path names {model.name!r}; got {_short(doc['model_name'])}"
        )
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise BadRequest(f"id: expected a string, got {_short(request_id)}")
    parameters = _parameters(doc.get("parameters", {}), "parameters")
    inputs = doc.get("inputs")
    usage = f'[{{"name": "{INPUT}", "shape": [N, {model.n_features}], "datatype": "FP64", ...}}]'
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise BadRequest(f"inputs: expected one input tensor, {usage}; got {_short(inputs)}")
    rows = _rows(inputs[0], "inputs[0]", model, binary)
    return Inference(request_id, rows, _binary_output(doc.get("outputs"), parameters))


def answer(
    inference: Inference, model: Model, predictions: list[float]
) -> tuple[bytes, dict[str, str]]:
    """The inference response's body and headers: JSON, or JSON then the predictions' bytes."""
    output: dict[str, Any] = {"name": OUTPUT, "datatype": "FP64", "shape": [len(predictions)]}
    raw = b""
    if inference.binary:
        raw = struct.pack(f"<{len(predictions)}d", *predictions)
        output["parameters"] = {"binary_data_size": len(raw)}
    else:
        output["data"] = predictions
    doc: dict[str, Any] = {"model_name": model.name, "model_version": model.version}
    if inference.id is not None:
        doc["id"] = inference.id
    head = json.dumps(doc | {"outputs": [output]}).encode()
    if not raw:
        return head, {"Content-Type": "application/json"}
    headers = {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(head))}
    return head + raw, headers


def region_routes(
    region: str,
    lookup: Callable[[str, str | None], Model],
    versions: Callable[[], list[str]],
    predict: Callable[[Model, list[Any], str], list[float]],
) -> Blueprint:
    """A region's V2 routes: `lookup(name, version)` finds a served model (or raises a 404),
    `versions()` lists the versions served, `predict(model, rows, field)` serves predictions."""
    routes = Blueprint("v2", __name__)

    @routes.get("/v2/health/live")
    def live() -> ResponseReturnValue:
        return jsonify(live=True)

    @routes.get("/v2/health/ready")
    def ready() -> ResponseReturnValue:
        if not versions():
            return jsonify(error=f"{region} serves no model yet", ready=False), 503
        return jsonify(ready=True)

    @routes.get("/v2")
    def server() -> ResponseReturnValue:
        return jsonify(server_metadata(f"mrsandbox region {region}"))

    @routes.get("/v2/models/<name>")
    @routes.get("/v2/models/<name>/versions/<version>")
    def metadata(name: str, version: str | None = None) -> ResponseReturnValue:
        return jsonify(model_metadata(lookup(name, version), versions()))

    @routes.get("/v2/models/<name>/ready")
    @routes.get("/v2/models/<name>/versions/<version>/ready")
    def model_ready(name: str, version: str | None = None) -> ResponseReturnValue:
        return jsonify(name=lookup(name, version).name, ready=True)

    @routes.post("/v2/models/<name>/infer")
    @routes.post("/v2/models/<name>/versions/<version>/infer")
    def infer(name: str, version: str | None = None) -> ResponseReturnValue:
        model = lookup(name, version)
        body = plain_body()
        inference = read_inference(body, header(HEADER_LENGTH), model)
        content, headers = answer(inference, model, predict(model, inference.rows, "inputs[0]"))
        response = Response(content, headers=headers)
        response.headers["X-Model-Version"] = model.version
        return response

    return routes


def _rows(tensor: object, where: str, model: Model, binary: bytes) -> list[list[float]]:
    """The rows of the input tensor `tensor`, its data inline or in `binary`."""
    if not isinstance(tensor, dict):
        raise BadRequest(f"{where}: expected a tensor object, got {_short(tensor)}")
    _known(tensor, TENSOR_FIELDS, f"{where}.", "a tensor")
    for key in ("name", "shape", "datatype"):
        if key not in tensor:
            raise BadRequest(f"{where}: missing field {key!r}")
    if tensor["name"] != INPUT:
        raise BadRequest(
            f"{where}.name: {model.name} takes one input, {INPUT!r}; got {tensor['name']!r}"
        )
    datatype = tensor["datatype"]
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise BadRequest(
            f"{where}.datatype: expected one of {', '.join(DATATYPES)}; got {_short(datatype)}"
        )
    shape = tensor["shape"]
    features = model.n_features
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(_count(size, MAX_INSTANCES) is not None for size in shape)
        or shape[0] < 1
        or shape[1] != features
    ):
        raise BadRequest(
            f"{where}.shape: expected [N, {features}], N rows of 1 to {MAX_INSTANCES} of "
            f"{features} features; got {_short(shape)}"
        )
    count = shape[0] * features
    size = _parameters(tensor.get("parameters", {}), f"{where}.parameters").get("binary_data_size")
    if size is not None:
        values = _unpacked(size, binary, datatype, count, where)
    elif "data" in tensor:
        values = _values(tensor["data"], datatype, count, features, where)
    else:
        raise BadRequest(f"{where}: missing field 'data' (or parameters.binary_data_size)")
    return [values[row : row + features] for row in range(0, count, features)]


def _values(data: object, datatype: str, count: int, width: int, where: str) -> list[float]:
    """`count` values of `datatype` from a tensor's `data`: flat, or rows of `width`."""
    values = _flat(data, width, f"{where}.data")
    if len(values) != count:
        raise BadRequest(f"{where}.data: {len(values)} values do not fill the shape ({count})")
    for index, value in enumerate(values):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if datatype == "INT64" and (not whole or not -INT64 <= value < INT64):
            raise BadRequest(f"{where}.data[{index}]: expected an INT64, got {_short(value)}")
        if not whole and (isinstance(value, bool) or not isinstance(value, float)):
            raise BadRequest(f"{where}.data[{index}]: expected a number, got {_short(value)}")
    if datatype == "FP32":  # what the model sees of an FP32 tensor: each value as a float32
        try:
            return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}f", *values)))
        except (OverflowError, struct.error):  # a float, or an int, beyond FP32
            raise BadRequest(f"{where}.data: a value is out of FP32's range") from None
    return values


def _flat(data: object, width: int, where: str) -> list[Any]:
    """The values of `data` in row-major order: flat, or rows of `width` values (the tensor's
    shape nests two deep)."""
    if not isinstance(data, list):
        raise BadRequest(f"{where}: expected a list of values (flat or rows), got {_short(data)}")
    if not any(isinstance(item, list) for item in data):
        return data
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width or any(isinstance(v, list) for v in row):
            raise BadRequest(
                f"{where}[{index}]: expected a row of {width} values (or all of them flat), "
                f"got {_short(row)}"
            )
    return [value for row in data for value in row]


def _unpacked(size: object, binary: bytes, datatype: str, count: int, where: str) -> list[float]:
    """`count` values of `datatype` from the binary part of the body (one input: all of it)."""
    code = DATATYPES[datatype]
    expected = count * struct.calcsize(code)
    if size != expected or len(binary) != expected:
        raise BadRequest(
            f"{where}.parameters.binary_data_size: {count} {datatype} values take {expected} "
            f"bytes; got binary_data_size {_short(size)} and {len(binary)} bytes after the header"
        )
    values = list(struct.unpack(f"<{count}{code}", binary))
    bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
    if bad is not None:
        raise BadRequest(f"{where}: value {bad} is not a finite number ({values[bad]})")
    return values


def _binary_output(outputs: object, parameters: dict[str, Any]) -> bool:
    """Whether the predictions are asked for as binary data."""
    binary = parameters.get("binary_data_output") is True
    if outputs is None:
        return binary
    if not isinstance(outputs, list) or not outputs:
        raise BadRequest(f"outputs: expected a list of requested outputs, got {_short(outputs)}")
    for index, output in enumerate(outputs):
        where = f"outputs[{index}]"
        if not isinstance(output, dict) or output.get("name") != OUTPUT:
            name = output.get("name") if isinstance(output, dict) else output
            raise BadRequest(
                f"{where}.name: the model answers one output, {OUTPUT!r}; got {name!r}"
            )
        _known(output, ("name", "parameters"), f"{where}.", "a requested output")
        asked = _parameters(output.get("parameters", {}), f"{where}.parameters")
        if "classification" in asked:  # tritonclient's class_count
            raise BadRequest(
                f"{where}.parameters.classification: class labels are not served (extensions: "
                f"{', '.join(EXTENSIONS)}); ask for {OUTPUT!r} without it"
            )
        binary = asked.get("binary_data", binary) is True
    return binary


def _parameters(parameters: object, where: str) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        raise BadRequest(f"{where}: expected an object, got {_short(parameters)}")
    return parameters


def _known(doc: dict[str, Any], known: tuple[str, ...], prefix: str, what: str) -> None:
    unknown = next((key for key in doc if key not in known), None)
    if unknown is not None:
        raise BadRequest(f"unknown field {prefix}{unknown}: {what} has {', '.join(known)}")


def _count(value: object, most: int) -> int | None:
    """`value` as a whole number from 0 to `most` (a header's digits too), else None."""
    if isinstance(value, str):
        value = int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        return None
    return value


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
