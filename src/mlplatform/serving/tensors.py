"""V2 (Open Inference Protocol) tensors: datatypes, decoding a request's input tensors (JSON
``data`` or the binary tensor data extension) and encoding an answer's tensor as bytes.

Every malformed tensor raises ``InferenceInputError`` naming the input and what is wrong.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mlplatform.errors import InferenceInputError

__all__ = [
    "V2_DTYPES",
    "decode_tensor",
    "json_kind",
    "split_binary",
    "tensor_bytes",
    "v2_datatype",
]

V2_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}


def v2_datatype(dtype: np.dtype[Any]) -> str:
    """The V2 datatype of a numpy dtype (strings and objects are BYTES)."""
    if dtype.kind in "USO":
        return "BYTES"
    for name, candidate in V2_DTYPES.items():
        if candidate == dtype:
            return name
    return "FP64"


def decode_tensor(
    index: int, tensor: Any, binary: Mapping[str, bytes]
) -> tuple[str, np.ndarray[Any, Any]]:
    if not isinstance(tensor, dict):
        raise InferenceInputError(f"inputs[{index}] is a JSON {json_kind(tensor)}, not a tensor")
    for key in ("name", "shape", "datatype"):
        if key not in tensor:
            raise InferenceInputError(
                f'inputs[{index}] has no "{key}"',
                'A V2 tensor has "name", "shape", "datatype" and "data".',
            )
    name, shape, datatype = tensor["name"], tensor["shape"], tensor["datatype"]
    if not isinstance(name, str):
        raise InferenceInputError(f"inputs[{index}].name must be a string, not {name!r}")
    if not isinstance(tensor.get("parameters", {}), dict):
        raise InferenceInputError(
            f"input {name!r}: parameters must be a JSON object, not a "
            f"{json_kind(tensor['parameters'])}"
        )
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InferenceInputError(
            f"input {name!r}: shape {shape!r} is not a list of non-negative integers"
        )
    if datatype not in V2_DTYPES:
        raise InferenceInputError(
            f"input {name!r}: unknown datatype {datatype!r}",
            f"Use one of {', '.join(V2_DTYPES)}.",
            status=422,
        )
    count = math.prod(shape)  # Python ints: a huge shape cannot wrap around
    if name in binary:
        return name, _reshape(name, shape, _decode_binary(name, shape, datatype, binary[name]))
    if "data" not in tensor:
        raise InferenceInputError(f'input {name!r} has no "data"')
    try:
        flat = np.asarray(tensor["data"], dtype=object if datatype == "BYTES" else None)
    except (ValueError, TypeError):
        raise InferenceInputError(
            f"input {name!r}: data is not a regular array", status=422
        ) from None
    if flat.size != count:
        raise InferenceInputError(
            f"input {name!r}: shape {shape} needs {count} values, got {flat.size}",
            status=422,
        )
    if datatype != "BYTES":
        if flat.dtype.kind not in ("b" if datatype == "BOOL" else "fiu") and flat.size:
            raise InferenceInputError(
                f"input {name!r}: datatype {datatype} but the data holds "
                f"{json_kind(flat.reshape(-1)[0])} values",
                status=422,
            )
        if datatype != "BOOL" and datatype.startswith(("INT", "UINT")) and flat.dtype.kind == "f":
            raise InferenceInputError(
                f"input {name!r}: datatype {datatype} but the data holds fractions",
                status=422,
            )
    return name, _reshape(name, shape, flat)


def _reshape(name: str, shape: list[int], flat: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``flat`` (which holds exactly prod(shape) values) in ``shape``."""
    try:
        return flat.reshape(shape)
    except (ValueError, OverflowError):  # e.g. [2**70, 0]: no values, but no such array
        raise InferenceInputError(
            f"input {name!r}: shape {shape} is too large", status=422
        ) from None


def _decode_binary(name: str, shape: list[int], datatype: str, raw: bytes) -> np.ndarray[Any, Any]:
    """The values of an input sent with the binary data extension: little-endian numbers,
    or for BYTES each element as a 4-byte little-endian length and then its bytes."""
    count = math.prod(shape)
    if datatype == "BYTES":
        values = _split_bytes(name, raw)
        if len(values) != count:
            raise InferenceInputError(
                f"input {name!r}: shape {shape} needs {count} BYTES elements, got {len(values)}",
                status=422,
            )
        return np.asarray(values, dtype=object)
    dtype = V2_DTYPES[datatype].newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise InferenceInputError(
            f"input {name!r}: shape {shape} needs {count * dtype.itemsize} bytes of "
            f"{datatype}, got {len(raw)}",
            status=422,
        )
    array = np.frombuffer(raw, dtype=dtype)
    if dtype.kind == "f" and np.isinf(array).any():  # JSON cannot carry them either
        raise InferenceInputError(f"input {name!r} holds an infinite value", status=422)
    return array


def _split_bytes(name: str, raw: bytes) -> list[str]:
    values: list[str] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InferenceInputError(
                f"input {name!r}: BYTES element {len(values)} has a cut-off length prefix",
                "Each BYTES element is a 4-byte little-endian length, then that many bytes.",
            )
        (size,) = struct.unpack_from("<I", raw, offset)
        start, offset = offset + 4, offset + 4 + size
        if offset > len(raw):
            raise InferenceInputError(
                f"input {name!r}: BYTES element {len(values)} says {size} bytes; "
                f"{len(raw) - start} are left",
                "Each BYTES element is a 4-byte little-endian length, then that many bytes.",
            )
        try:
            values.append(raw[start:offset].decode("utf-8"))
        except UnicodeDecodeError:
            raise InferenceInputError(
                f"input {name!r}: BYTES element {len(values)} is not UTF-8 text",
                "This model takes strings; send them UTF-8 encoded.",
                status=422,
            ) from None
    return values


def json_kind(value: Any) -> str:
    if isinstance(value, np.generic):  # an element of a numpy array
        value = value.item()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def split_binary(
    length: str | None, body: bytes, loads: Callable[[bytes], Any]
) -> tuple[Any, dict[str, bytes]]:
    """The JSON part (parsed with ``loads``) and the raw input tensors of a request;
    ``length`` is its ``Inference-Header-Content-Length`` header (None: all JSON)."""
    if length is None:
        return loads(body), {}
    if not length.isdigit() or int(length) > len(body):
        raise InferenceInputError(
            f"Inference-Header-Content-Length {length!r} does not fit a {len(body)}-byte body"
        )
    cut = int(length)
    payload = loads(body[:cut])
    binary: dict[str, bytes] = {}
    offset = cut
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    for tensor in inputs if isinstance(inputs, list) else []:
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is None:
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(body):
            raise InferenceInputError(
                f"input {tensor.get('name')!r}: binary_data_size {size!r} runs past the body"
            )
        binary[str(tensor.get("name"))] = body[offset : offset + size]
        offset += size
    return payload, binary


def tensor_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """A tensor's values in the binary data extension's layout (row-major, little-endian;
    BYTES as a 4-byte length then the UTF-8 bytes of each element)."""
    if array.dtype.kind in "USO":
        parts = []
        for value in array.reshape(-1).tolist():
            data = value if isinstance(value, bytes) else str(value).encode()
            parts += [struct.pack("<I", len(data)), data]
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
