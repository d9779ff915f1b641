"""OpenAPI 3.1 documents of a region's API and the gateway's, served at `/openapi.json`.

A document describes the server as it stands: the models it serves are the values its `{name}`
takes and their versions its `{version}`, a prediction's body is the served model's rows, and a
region's faults are the kinds it takes. The schemas are `sandbox.live.schemas`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.core.faults import KINDS
from sandbox.core.models import MODEL_NAME, VERSION, Model
from sandbox.live import v2
from sandbox.live.schemas import (
    ARTIFACT,
    BODY_ERRORS,
    ERRORS,
    FAULTED,
    GATEWAY_ANSWER,
    JSON,
    NULLABLE_STRING,
    REGION_ANSWER,
    SCHEMAS,
    STRING,
    STRINGS,
    TEXT_METRICS,
    Schema,
    an_object,
    answers,
    fault_schema,
    inference,
    prediction,
    ref,
)

OPENAPI = "3.1.0"


class Document:
    """An OpenAPI document being built: `op` adds one operation."""

    def __init__(
        self,
        title: str,
        description: str,
        models: list[Model],
        versions: list[str],
        kinds: Iterable[str] = KINDS,
    ) -> None:
        any_name: Schema = {"type": "string", "pattern": f"^{MODEL_NAME.pattern}$"}
        version: Schema = {"type": "string", "pattern": f"^{VERSION.pattern}$"}
        name = any_name
        if models:
            name = name | {"enum": sorted({model.name for model in models})}
            version = version | {"enum": sorted(versions)}
        model = models[0] if len(models) == 1 else None  # the bodies of several are generic
        self.doc: Schema = {
            "openapi": OPENAPI,
            "info": {
                "title": title,
                "version": v2.release(),
                "description": description,
            },
            "paths": {},
            "components": {
                "schemas": SCHEMAS
                | {
                    "ModelName": name,
                    "AnyModelName": any_name,
                    "Version": version,
                    "Fault": {"oneOf": [fault_schema(kind) for kind in kinds]},
                    "Artifact": ARTIFACT,
                    "InferenceRequest": inference(model),
                }
                | prediction(model),
                "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
            },
        }

    def op(
        self,
        method: str,
        path: str,
        summary: str,
        answer: Schema | dict[str, Schema],
        *statuses: int,
        body: Schema | None = None,
        headers: Schema | None = None,
        admin: bool = False,
        ok: int = 200,
    ) -> None:
        """`method path` answering `answer` (a schema, or responses as they are) with `ok`, or
        a JSON error with one of `statuses` (a status `answer` has too: either body)."""
        if "type" in answer or "$ref" in answer or "oneOf" in answer:
            content = {JSON: {"schema": answer}}
            answer = {str(ok): {"description": "OK", "content": content}}
            if headers:
                answer[str(ok)]["headers"] = headers
        responses: dict[str, Schema] = {str(s): ERRORS[s] for s in statuses} | answer
        for status in answer.keys() & {str(s) for s in statuses}:
            given = responses[status]
            either = {"anyOf": [given["content"][JSON]["schema"], ref("Error")]}
            responses[status] = {
                "description": f"{given['description']}; or an error (a fault)",
                "content": {JSON: {"schema": either}},
            }
        operation: Schema = {
            "summary": summary,
            "operationId": f"{method} {path}",
            "responses": responses,
        }
        parameters = [
            {"name": p, "in": "path", "required": True, "schema": ref(schema)}
            for p, schema in PARAMETERS_OF[method == "PUT"].items()
            if f"{{{p}}}" in path
        ]
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
        if admin:
            operation["security"] = [{"admin": []}]
        self.doc["paths"].setdefault(path, {})[method.lower()] = operation


PARAMETERS_OF = {  # a path parameter's schema: a name deployed, or (PUT) a name to deploy
    False: {"name": "ModelName", "version": "Version"},
    True: {"name": "AnyModelName", "version": "Version"},
}


def _protocols(d: Document, gateway: bool) -> None:
    """The KServe V1, TensorFlow Serving and Open Inference Protocol routes both serve."""
    faulted = () if gateway else FAULTED
    lost = (404, 503) if gateway else (404, *FAULTED)  # a model no healthy region serves
    predicted = GATEWAY_ANSWER if gateway else REGION_ANSWER
    d.op("GET", "/", "Liveness (KServe V1)", ref("Alive"), *faulted)
    d.op("GET", "/v1/models", "The models served", ref("Models"), *faulted)
    for at in ("", "/versions/{version}"):
        path = f"/v1/models/{{name}}{at}"
        d.op("GET", path, "A model's status (readiness)", ref("ModelStatus"), *lost)
        d.op(
            "GET",
            f"{path}/metadata",
            "TensorFlow Serving's metadata",
            ref("TensorFlowMetadata"),
            *lost,
        )
        d.op(
            "GET",
            f"/v2/models/{{name}}{at}",
            "A model's metadata (V2)",
            ref("ModelMetadata"),
            *lost,
        )
        d.op(
            "GET",
            f"/v2/models/{{name}}{at}/ready",
            "A model's readiness (V2)",
            ref("ModelReady"),
            *lost,
        )
    for at, pinned in (("", ""), ("/versions/{version}", " with one version")):
        d.op(
            "POST",
            f"/v1/models/{{name}}{at}:predict",
            f"Predict{pinned} (KServe V1, TensorFlow Serving)",
            ref("Predictions"),
            404,
            *BODY_ERRORS,
            503,
            *faulted,
            body=ref("Predict"),
            headers=predicted,
        )
        d.op(
            "POST",
            f"/v2/models/{{name}}{at}/infer",
            f"Infer{pinned} (the Open Inference Protocol)",
            ref("InferenceResponse"),
            404,
            *BODY_ERRORS,
            503,
            *faulted,
            body=ref("InferenceRequest"),
            headers=predicted,
        )
    d.op("POST", "/v1/models/{name}:explain", "Explain: not served", {}, 404, 501, *faulted)
    d.op("GET", "/v2/health/live", "Liveness (V2)", ref("Live"), *faulted)
    d.op(
        "GET",
        "/v2/health/ready",
        "Readiness (V2)",
        answers(ref("Ready"), {200: "Ready", 503: "Not ready"}),
        *faulted,
    )
    d.op("GET", "/v2", "Server metadata (V2)", ref("ServerMetadata"), *faulted)
    d.op("GET", "/metrics", "Prometheus metrics", TEXT_METRICS)
    d.op("GET", "/openapi.json", "This document", {"type": "object"})


def region_document(
    region: str, models: list[Model], versions: list[str], kinds: Iterable[str]
) -> Schema:
    """The document of `region`'s API, serving `models` (at `versions`), taking faults of
    `kinds`."""
    d = Document(
        f"mrsandbox region {region}",
        "A region's model server: KServe V1 and TensorFlow Serving's REST API, the Open "
        "Inference Protocol (V2), deployments, metrics and the admin API of its faults. "
        "Injected faults hold or fail every route but /metrics, /admin/faults and this one.",
        models,
        versions,
        kinds,
    )
    _protocols(d, gateway=False)
    healthz = an_object(
        {"status": STRING, "region": STRING, "model": NULLABLE_STRING, "version": NULLABLE_STRING},
        ("status", "region", "model", "version"),
    )
    d.op(
        "GET",
        "/healthz",
        "Health: 200 while a model is served",
        answers(healthz, {200: "Serving", 503: "No model"}),
        *FAULTED,
    )
    d.op(
        "PUT",
        "/v1/models/{name}",
        "Deploy an artifact (201 new, 200 replaced)",
        answers(ref("ModelStatus"), {201: "Deployed", 200: "Replaced"}),
        401,
        404,  # a name no route takes
        *BODY_ERRORS,
        *FAULTED,
        body=ref("Artifact"),
        admin=True,
    )
    d.op(
        "DELETE",
        "/v1/models/{name}",
        "Undeploy the model",
        ref("ModelStatus"),
        401,
        404,
        *FAULTED,
        admin=True,
    )
    d.op(
        "DELETE",
        "/v1/models/{name}/versions/{version}",
        "Withdraw a version",
        ref("ModelStatus"),
        401,
        404,
        *FAULTED,
        admin=True,
    )
    faults = {"type": "array", "items": ref("Fault")}
    d.op("GET", "/admin/faults", "The active faults", ref("Faults"), 401, admin=True)
    d.op(
        "PUT",
        "/admin/faults",
        "Replace the faults",
        ref("Faults"),
        401,
        *BODY_ERRORS,
        body=faults,
        admin=True,
    )
    d.op(
        "PATCH",
        "/admin/faults",
        "Add faults",
        ref("Faults"),
        401,
        *BODY_ERRORS,
        body=faults,
        admin=True,
    )
    d.op("DELETE", "/admin/faults", "Clear the faults", ref("Faults"), 401, admin=True)
    return d.doc


def gateway_document(models: list[Model], versions: list[str], clients: list[str]) -> Schema:
    """The document of the gateway's API, for a fleet that deployed `models` (its regions serving
    `versions`), whose users are near `clients` (the catalogue's regions)."""
    d = Document(
        "mrsandbox gateway",
        "The fleet's front door: predictions routed by `X-Client-Region` to a healthy region "
        "(retried on failure, split between versions in a rollout), the models' status answered "
        "by a healthy region, the routing and health view, and metrics. The dashboard's routes "
        "(/dashboard...) are not described here.",
        models,
        versions,
    )
    _protocols(d, gateway=True)
    client = {
        "name": "X-Client-Region",
        "in": "header",
        "required": True,
        "description": "The region the user is near (a catalogue region).",
        "schema": {"enum": clients},
    }
    for path, item in d.doc["paths"].items():
        if path.endswith((":predict", "/infer")):
            item["post"]["parameters"].append(client)
    healthz = an_object(
        {"status": STRING, "healthy_regions": STRINGS}, ("status", "healthy_regions")
    )
    d.op(
        "GET",
        "/healthz",
        "Health: 200 while a region is healthy",
        answers(healthz, {200: "A region is healthy", 503: "No healthy region"}),
    )
    routing = an_object(
        {
            "policy": NULLABLE_STRING,
            "retries": {"type": ["integer", "null"]},
            "order": STRINGS,
            "weights": {"type": "object"},
            "regions": STRINGS,
            "health": {"type": "object"},
            "choices": {"type": "object"},
            "split": {"type": "object"},
            "dns_ttl_s": {"type": ["number", "null"]},
        },
        ("policy", "retries", "order", "weights", "regions", "health", "choices", "split"),
    )
    d.op("GET", "/routing", "The routing policy, health view and choices", routing)
    return d.doc
