"""What a request asks the model to answer with, and the answer's tensors.

Every model answers with ``output-0``: its predictions, in the datatype they have (FP64 for a
regressor, BYTES for string class labels, INT64 for integer ones, BOOL for booleans). A
classifier also has ``probabilities``: FP64 ``[rows, classes]``, computed only when a request
names it (V2: ``"outputs": [{"name": "probabilities"}]``, with ``output-0`` beside it to get
both; V1: ``"parameters": {"probabilities": true}``). The class labels, in column order, are
the tensor's ``parameters.classes`` (V2) or the answer's ``classes`` (V1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlplatform.errors import InferenceInputError, ServingError
from mlplatform.serving.batcher import BatchResult
from mlplatform.serving.loader import LoadedModel
from mlplatform.serving.tensors import json_kind, tensor_bytes, v2_datatype

__all__ = [
    "OUTPUT_NAME",
    "PROBABILITIES",
    "Requested",
    "metadata_outputs",
    "requested_v2",
    "v1_answer",
    "v1_probabilities",
    "v2_outputs",
]

OUTPUT_NAME = "output-0"
PROBABILITIES = "probabilities"
_KNOWN = (OUTPUT_NAME, PROBABILITIES)


@dataclass(frozen=True)
class Requested:
    """One output a V2 request asked for, and whether it goes as raw bytes."""

    name: str
    binary: bool


def requested_v2(payload: dict[str, Any]) -> tuple[Requested, ...]:
    """The outputs of a V2 request, in its order (default: ``output-0`` alone).

    Binary: the request's ``parameters.binary_data_output``, overridden per output by its
    ``parameters.binary_data`` (the binary tensor data extension).

    Raises:
        InferenceInputError: ``outputs`` or a ``parameters`` is malformed (400), names an
            unknown output (422), or names one twice (400).
    """
    default = _flag(_parameters(payload, '"parameters"'), "binary_data_output", False)
    if "id" in payload and not isinstance(payload["id"], str):
        raise InferenceInputError(
            f'"id" must be a string, not a {json_kind(payload["id"])}',
            'Send a string request id, or leave "id" out.',
        )
    outputs = payload.get("outputs", [])
    if outputs == []:
        return (Requested(OUTPUT_NAME, default),)
    if not isinstance(outputs, list):
        raise InferenceInputError(
            '"outputs" must be a list of {"name": ...} objects',
            f'Name the outputs you want: {", ".join(map(repr, _KNOWN))}; or leave "outputs" out.',
        )
    found: list[Requested] = []
    for out in outputs:
        name = out.get("name") if isinstance(out, dict) else None
        if name not in _KNOWN:
            raise InferenceInputError(
                f"unknown output {name!r}",
                f"This server's outputs are {OUTPUT_NAME!r} (predictions) and "
                f"{PROBABILITIES!r} (class probabilities of a classifier).",
                status=422,
            )
        if any(r.name == name for r in found):
            raise InferenceInputError(f"output {name!r} is requested twice")
        where = f"output {name!r}"
        found.append(Requested(name, _flag(_parameters(out, where), "binary_data", default)))
    return tuple(found)


def v1_probabilities(body: Any) -> bool:
    """Whether a V1 body asks for class probabilities: ``"parameters": {"probabilities":
    true}`` (the V2 request's ``parameters`` object, in a V1 body).

    Raises:
        InferenceInputError: ``parameters`` is not an object, or ``probabilities`` not a
            boolean (400).
    """
    if not isinstance(body, dict):
        return False  # from_v1 says what is wrong with the body
    return _flag(_parameters(body, '"parameters"'), PROBABILITIES, False)


def v2_outputs(
    result: BatchResult, requested: tuple[Requested, ...]
) -> tuple[list[dict[str, Any]], bytes]:
    """The answer's output tensors, and the raw bytes that follow the JSON (binary ones)."""
    tensors: list[dict[str, Any]] = []
    raw: list[bytes] = []
    for want in requested:
        array, parameters = _output(result, want.name)
        tensor: dict[str, Any] = {
            "name": want.name,
            "shape": list(array.shape),
            "datatype": v2_datatype(array.dtype),
        }
        if want.binary:
            data = tensor_bytes(array)
            raw.append(data)
            parameters = {**parameters, "binary_data_size": len(data)}
        else:
            tensor["data"] = array.reshape(-1)
        if parameters:
            tensor["parameters"] = parameters
        tensors.append(tensor)
    return tensors, b"".join(raw)


def v1_answer(result: BatchResult) -> dict[str, Any]:
    """A V1 answer: ``predictions``, and ``probabilities`` with ``classes`` when asked."""
    answer: dict[str, Any] = {"predictions": result.outputs}
    if result.probabilities is not None and result.model.probabilities is not None:
        answer[PROBABILITIES] = result.probabilities
        answer["classes"] = result.model.probabilities.labels
    return answer


def metadata_outputs(model: LoadedModel) -> list[dict[str, Any]]:
    """The V2 metadata ``outputs``: predictions, and a classifier's probabilities."""
    outputs = [
        {"name": OUTPUT_NAME, "datatype": model.output_datatype, "shape": list(model.output_shape)}
    ]
    if model.probabilities is not None:
        classes = len(model.probabilities.classes)
        outputs.append({"name": PROBABILITIES, "datatype": "FP64", "shape": [-1, classes]})
    return outputs


def _output(result: BatchResult, name: str) -> tuple[np.ndarray[Any, Any], dict[str, Any]]:
    if name == OUTPUT_NAME:
        return result.outputs, {}
    probabilities = result.model.probabilities
    if result.probabilities is None or probabilities is None:  # the service asked for them
        raise ServingError(f"model {result.model.name!r} gave no probabilities")
    return result.probabilities, {"classes": probabilities.labels}


def _parameters(holder: dict[str, Any], where: str) -> dict[str, Any]:
    if "parameters" not in holder:
        return {}
    parameters = holder["parameters"]
    if not isinstance(parameters, dict):
        raise InferenceInputError(
            f"{where}: parameters must be a JSON object, not a {json_kind(parameters)}"
        )
    return parameters


def _flag(parameters: dict[str, Any], key: str, default: bool) -> bool:
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        raise InferenceInputError(
            f"parameter {key!r} must be true or false, not {json_kind(value)} {value!r}"
        )
    return value
