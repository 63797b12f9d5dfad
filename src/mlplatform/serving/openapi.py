"""The OpenAPI 3.0 description of the model server (``GET /openapi.json``).

It documents the KServe V1 and V2 (Open Inference Protocol) REST endpoints the server
implements, with every status it may answer; schemathesis fuzzes the server against it.
"""

from __future__ import annotations

from typing import Any

from mlplatform.serving.signature import InputSchema

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
_V2_REQUEST = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "items": _TENSOR, "minItems": 1},
        "outputs": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
}
_V2_RESPONSE = {
    "type": "object",
    "required": ["model_name", "outputs"],
    "properties": {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "id": {"type": "string"},
        "outputs": {"type": "array", "items": _TENSOR},
    },
}
_V1_ROW: dict[str, Any] = {"oneOf": [{"type": "array"}, {"type": "object"}]}
_JSON_TYPES = {"BOOL": "boolean", "BYTES": "string"}
_V1_RESPONSE = {
    "type": "object",
    "required": ["predictions"],
    "properties": {
        "predictions": {"type": "array"},
        "probabilities": {"type": "array", "items": {"type": "array"}},
        "classes": {"type": "array"},
    },
}
_V1_PARAMETERS = {"type": "object", "properties": {"probabilities": {"type": "boolean"}}}
_READY = {"type": "object", "properties": {"ready": {"type": "boolean"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "malformed request (not JSON, or not the protocol's shape)",
        404: "unknown model or route",
        405: "method not allowed",
        413: "request body too large",
        422: "the inputs do not fit the model signature",
        429: "queue full; retry after the Retry-After seconds",
        500: "the model failed on this request",
        503: "not ready, or queued past the deadline; retry after Retry-After",
    }
    return {str(code): _json(_ERROR, text[code]) for code in codes}


def _get(summary: str, schema: dict[str, Any], *errors: int) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": _json(schema, "OK"),
                                                      **_errors(*errors)}}}  # fmt: skip


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
# The binary tensor data extension: the JSON part's length in a header, raw tensors after it
_BINARY_LENGTH = "Inference-Header-Content-Length"
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _post(
    summary: str, request: dict[str, Any], response: dict[str, Any], *, binary: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"application/json": {"schema": request}}
    answer = _json(response, "predictions")
    operation: dict[str, Any] = {"summary": summary}
    if binary:
        body["application/octet-stream"] = _BINARY
        answer["content"]["application/octet-stream"] = _BINARY
        answer["headers"] = {_BINARY_LENGTH: {"schema": {"type": "integer", "minimum": 0}}}
        operation["parameters"] = [
            {
                "name": _BINARY_LENGTH,
                "in": "header",
                "required": False,
                "description": "length of the JSON part of a body with binary tensors",
                "schema": {"type": "integer", "minimum": 0},
            }
        ]
    errors = _errors(400, 404, 413, 422, 429, 500, 503)
    for code in ("429", "503"):
        errors[code]["headers"] = _RETRY_AFTER
    operation["requestBody"] = {"required": True, "content": body}
    operation["responses"] = {"200": answer, **errors}
    return {"post": operation}


def _v1_request(schema: InputSchema | None) -> dict[str, Any]:
    """A V1 body; with the model's input schema its rows are exactly what the model takes."""
    row = _V1_ROW if schema is None else _v1_row(schema)
    return {
        "type": "object",
        "required": ["instances"],
        "properties": {
            "instances": {"type": "array", "items": row, "minItems": 1},
            "parameters": _V1_PARAMETERS,
        },
    }


def _v1_row(schema: InputSchema) -> dict[str, Any]:
    """A row: ``width`` values in signature order, or (column signatures) an object."""
    values: dict[str, Any] = {"type": "array", "minItems": schema.width, "maxItems": schema.width}
    if schema.numeric:
        types = {_json_type(f.datatype) for f in schema.fields}
        values["items"] = {"type": types.pop() if len(types) == 1 else "number"}
    if schema.tensor:
        return values
    named = {
        "type": "object",
        "required": [f.name for f in schema.fields if f.required],
        "properties": {
            f.name: {"type": _json_type(f.datatype), "nullable": not f.required}
            for f in schema.fields
        },
        "additionalProperties": False,
    }
    return {"oneOf": [values, named]}


def _json_type(datatype: str) -> str:
    return _JSON_TYPES.get(datatype, "integer" if "INT" in datatype else "number")


def openapi_document(model: str, inputs: InputSchema | None = None) -> dict[str, Any]:
    """The OpenAPI document of a server serving ``model``, whose rows are described by
    ``inputs`` (the primary variant's signature) when it is known."""
    any_object = {"type": "object"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"mlplatform model server: {model}",
            "version": "1",
            "description": "KServe V1 and V2 (Open Inference Protocol) REST APIs.",
        },
        "paths": {
            "/": _get("liveness", any_object),
            "/v2/health/live": _get("server live", any_object),
            "/v2/health/ready": _get("server ready", _READY, 503),
            "/v2": _get("server metadata", any_object),
            "/v1/models": _get("models served", any_object),
            f"/v1/models/{model}": _get("model ready (V1)", _READY, 503),
            f"/v2/models/{model}": _get("model metadata", any_object, 503),
            f"/v2/models/{model}/ready": _get("model ready", _READY, 503),
            f"/v1/models/{model}:predict": _post("predict (V1)", _v1_request(inputs), _V1_RESPONSE),
            f"/v2/models/{model}/infer": _post(
                "infer (V2)", _V2_REQUEST, _V2_RESPONSE, binary=True
            ),
        },
    }
