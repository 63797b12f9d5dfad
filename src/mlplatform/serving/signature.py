"""The inputs a model accepts, read from its MLflow signature, and the checks of a request.

A request's rows become a ``Block``: a 2-D float64 array when every input is numeric (the fast
path, one ``np.asarray`` per request), else a DataFrame. Anything that does not fit the
signature raises ``InferenceInputError`` naming the input, row, shape or dtype that is wrong;
the message goes back to the client with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from mlplatform.errors import InferenceInputError
from mlplatform.serving.tensors import V2_DTYPES, decode_tensor, json_kind, v2_datatype

__all__ = ["Block", "InputField", "InputSchema", "block_rows", "concat_blocks"]

Block: TypeAlias = "np.ndarray[Any, Any] | pd.DataFrame"

_NUMERIC_V2 = {name for name in V2_DTYPES if name != "BYTES"}
_MLFLOW_TO_V2 = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


@dataclass(frozen=True)
class InputField:
    """One input: a column of a column signature, or the single tensor of a tensor one."""

    name: str
    datatype: str  # V2 datatype
    required: bool = True

    @property
    def numeric(self) -> bool:
        return self.datatype in _NUMERIC_V2


@dataclass(frozen=True)
class InputSchema:
    """What a model accepts: ``width`` values per row, named by ``fields`` when the signature
    is column-based (``tensor`` False) or one tensor ``[-1, width]`` when it is tensor-based.
    ``as_frame`` makes every block a DataFrame, even of numbers (entity keys: an int64 id
    stays exact instead of passing through float64)."""

    fields: tuple[InputField, ...]
    width: int
    tensor: bool
    as_frame: bool = False

    @property
    def numeric(self) -> bool:
        """Blocks are float64 arrays (every input a number, ``as_frame`` not set)."""
        return not self.as_frame and all(f.numeric for f in self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @classmethod
    def from_mlflow(cls, signature: Any, example: pd.DataFrame | None = None) -> InputSchema:
        """The schema of an MLflow ``ModelSignature`` (or, without one, of an input example)."""
        inputs = getattr(signature, "inputs", None)
        if inputs is not None and inputs.is_tensor_spec():
            spec = inputs.inputs[0]
            shape = tuple(spec.shape)
            width = int(np.prod([d for d in shape[1:] if d > 0])) if len(shape) > 1 else 1
            datatype = v2_datatype(np.dtype(spec.type))
            return cls((InputField(spec.name or "input-0", datatype),), width, tensor=True)
        if inputs is not None:
            fields = tuple(
                InputField(
                    str(col.name),
                    _MLFLOW_TO_V2.get(str(getattr(col.type, "name", col.type)), "BYTES"),
                    bool(getattr(col, "required", True)),
                )
                for col in inputs.inputs
            )
            return cls(fields, len(fields), tensor=False)
        if example is not None:
            fields = tuple(
                InputField(str(name), v2_datatype(dtype)) for name, dtype in example.dtypes.items()
            )
            return cls(fields, len(fields), tensor=False)
        raise InferenceInputError(
            "the model has no signature and no input example",
            "Log the model with a signature (mlflow.models.infer_signature).",
            status=500,
        )

    # ---- V1: {"instances": [...]} -------------------------------------------------------

    def from_v1(self, body: Any) -> Block:
        """The rows of a V1 body: ``instances`` (or ``inputs``) as a list of rows, each a
        list of values in signature order or an object keyed by input name."""
        if not isinstance(body, dict):
            raise InferenceInputError(
                f"the request body is a JSON {json_kind(body)}, not an object",
                'Send {"instances": [[...], ...]}.',
            )
        rows = body.get("instances", body.get("inputs"))
        if rows is None:
            raise InferenceInputError(
                'the request has no "instances"',
                'Send {"instances": [[...], ...]} (one list of values per row).',
            )
        if isinstance(rows, dict) and not self.tensor:
            return _with_rows(self._from_columns({k: (v, None) for k, v in rows.items()}))
        if not isinstance(rows, list) or not rows:
            raise InferenceInputError(
                '"instances" must be a non-empty list of rows',
                f"Each row is a list of {self.width} values or an object keyed by input name.",
            )
        if isinstance(rows[0], dict):
            rows = [self._row_from_object(i, row) for i, row in enumerate(rows)]
        return self._from_rows(rows, "instances")

    def _row_from_object(self, index: int, row: Any) -> list[Any]:
        if not isinstance(row, dict):
            raise InferenceInputError(f"row {index} is a JSON {json_kind(row)}, not an object")
        try:
            values = [row[name] for name in self.names]
        except KeyError as exc:
            raise InferenceInputError(
                f"row {index} has no input {exc.args[0]!r}",
                f"The model expects: {', '.join(self.names)}.",
                status=422,
            ) from None
        if len(row) != self.width:
            unknown = sorted(set(row) - set(self.names))
            raise InferenceInputError(
                f"row {index} has unknown input(s) {', '.join(map(repr, unknown))}",
                f"The model expects: {', '.join(self.names)}.",
                status=422,
            )
        return values

    def _from_rows(self, rows: Sequence[Any], where: str) -> Block:
        if self.numeric:
            try:
                array = np.asarray(rows)
            except (ValueError, TypeError):
                array = np.asarray([], dtype=object)
            if array.dtype.kind not in "fiu" or array.ndim != 2 or array.shape[1] != self.width:
                problem = self._row_problem(rows, where)
                if problem is not None:
                    raise problem
                array = np.asarray(rows, dtype=np.float64)  # nulls of optional inputs: NaN
            return np.ascontiguousarray(array, dtype=np.float64)
        checked = [self._check_row(i, row, where) for i, row in enumerate(rows)]
        return self._frame(pd.DataFrame(checked, columns=list(self.names)))

    def _check_row(self, index: int, row: Any, where: str) -> Sequence[Any]:
        if not isinstance(row, list | tuple) or len(row) != self.width:
            problem = self._row_problem([row], where, offset=index)
            raise problem or InferenceInputError(f"{where}[{index}] is not a row")
        for field, value in zip(self.fields, row, strict=True):
            _check_value(field, value, index)
        return row

    def _row_problem(
        self, rows: Sequence[Any], where: str, offset: int = 0
    ) -> InferenceInputError | None:
        """The first problem in ``rows``: not a list, wrong length, or a bad value."""
        names = f" ({', '.join(self.names)})" if not self.tensor else ""
        for i, row in enumerate(rows, start=offset):
            if not isinstance(row, list | tuple):
                return InferenceInputError(
                    f"{where}[{i}] is a JSON {json_kind(row)}, not a list of values",
                    f"Each row is a list of {self.width} values{names}.",
                    status=422,
                )
            if len(row) != self.width:
                return InferenceInputError(
                    f"{where}[{i}] has {len(row)} values; the model expects {self.width}{names}",
                    status=422,
                )
            for field, value in zip(self._fields_for_row(), row, strict=True):
                _check_value(field, value, i)
        return None

    def _fields_for_row(self) -> tuple[InputField, ...]:
        if self.tensor:
            return tuple(InputField(f"{self.fields[0].name}[{j}]", self.fields[0].datatype)
                         for j in range(self.width))  # fmt: skip
        return self.fields

    # ---- V2: {"inputs": [{"name", "shape", "datatype", "data"}]} ----------------------

    def from_v2(self, inputs: Any, binary: Mapping[str, bytes] | None = None) -> Block:
        """The rows of V2 ``inputs``: one tensor ``[N, width]`` (any name), or one input per
        column of shape ``[N]`` or ``[N, 1]``. ``binary`` holds the raw bytes of inputs sent
        with the binary data extension."""
        if not isinstance(inputs, list) or not inputs:
            raise InferenceInputError(
                '"inputs" must be a non-empty list of tensors',
                'Send {"inputs": [{"name": ..., "shape": [N, F], "datatype": "FP64", '
                '"data": [...]}]}.',
            )
        tensors = {}
        for i, tensor in enumerate(inputs):
            name, array = decode_tensor(i, tensor, binary or {})
            tensors[name] = array
        if len(tensors) == 1 and (self.tensor or next(iter(tensors)) not in self.names):
            ((name, array),) = tensors.items()
            return _with_rows(self._from_tensor(name, array))
        return _with_rows(self._from_columns({k: (v, k) for k, v in tensors.items()}))

    def _from_tensor(self, name: str, array: np.ndarray[Any, Any]) -> Block:
        if array.ndim == 1 and self.width == array.shape[0]:
            array = array.reshape(1, -1)
        if array.ndim != 2 or array.shape[1] != self.width:
            names = "" if self.tensor else f" ({', '.join(self.names)})"
            raise InferenceInputError(
                f"input {name!r} has shape {list(array.shape)}; the model expects "
                f"[N, {self.width}]{names}",
                "Send one tensor of shape [rows, features], or one input per column.",
                status=422,
            )
        if self.numeric:
            booleans = all(f.datatype == "BOOL" for f in self.fields)
            if array.dtype.kind not in ("fiub" if booleans else "fiu"):
                raise InferenceInputError(
                    f"input {name!r} is {v2_datatype(array.dtype)}; the model expects numbers",
                    status=422,
                )
            return np.ascontiguousarray(array, dtype=np.float64)
        return self._from_rows(array.tolist(), f"input {name!r}")

    def _from_columns(self, columns: Mapping[str, tuple[Any, str | None]]) -> Block:
        if self.tensor:
            raise InferenceInputError(
                f"the model takes one tensor; the request has inputs {', '.join(columns)}",
                status=422,
            )
        unknown = [name for name in columns if name not in self.names]
        if unknown:
            raise InferenceInputError(
                f"unknown input(s) {', '.join(map(repr, unknown))}",
                f"The model expects: {', '.join(self.names)}.",
                status=422,
            )
        missing = [f.name for f in self.fields if f.required and f.name not in columns]
        if missing:
            raise InferenceInputError(
                f"missing input(s) {', '.join(map(repr, missing))}",
                f"The model expects: {', '.join(self.names)}.",
                status=422,
            )
        arrays: dict[str, Any] = {}
        lengths = set()
        for field in self.fields:
            if field.name not in columns:
                continue
            values, _ = columns[field.name]
            try:
                array = np.asarray(values, dtype=object if not field.numeric else None)
            except (ValueError, TypeError):
                raise InferenceInputError(
                    f"input {field.name!r} is not a regular array", status=422
                ) from None
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise InferenceInputError(
                    f"input {field.name!r} has shape {list(array.shape)}; a column is [N]",
                    status=422,
                )
            for i, value in enumerate(array.tolist()):
                _check_value(field, value, i)
            arrays[field.name] = array
            lengths.add(len(array))
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in arrays.items())
            raise InferenceInputError(
                f"inputs have different numbers of rows ({sizes})",
                "Every column needs one value per row.",
                status=422,
            )
        frame = pd.DataFrame(arrays, columns=[f.name for f in self.fields])
        if self.numeric:
            return np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
        return self._frame(frame)

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        for field in self.fields:
            if field.numeric and field.name in frame:
                frame[field.name] = frame[field.name].astype(V2_DTYPES[field.datatype])
        return frame

    # ---- to the model -------------------------------------------------------------------

    def model_input(self, block: Block, *, feature_names: bool) -> Any:
        """What ``predict`` gets: the array, or a DataFrame when the model was fitted on
        named columns (scikit-learn's ``feature_names_in_``)."""
        if isinstance(block, pd.DataFrame):
            return block
        if self.tensor or not feature_names:
            return block
        frame = pd.DataFrame(block, columns=list(self.names), copy=False)
        ints = [f.name for f in self.fields if f.datatype not in ("FP16", "FP32", "FP64")]
        return frame.astype(dict.fromkeys(ints, np.int64)) if ints else frame

    def frame(self, block: Block) -> pd.DataFrame:
        """The rows as a DataFrame with the signature's column names (for sampling)."""
        if isinstance(block, pd.DataFrame):
            return block
        names = list(self.names) if not self.tensor else [f"f{j}" for j in range(self.width)]
        return pd.DataFrame(block, columns=names)

    def metadata(self) -> list[dict[str, Any]]:
        """The V2 model metadata ``inputs``."""
        if self.tensor:
            field = self.fields[0]
            return [{"name": field.name, "datatype": field.datatype, "shape": [-1, self.width]}]
        return [{"name": f.name, "datatype": f.datatype, "shape": [-1]} for f in self.fields]


def concat_blocks(blocks: Sequence[Block]) -> Block:
    if len(blocks) == 1:
        return blocks[0]
    if isinstance(blocks[0], pd.DataFrame):
        return pd.concat([b for b in blocks if isinstance(b, pd.DataFrame)], ignore_index=True)
    return np.concatenate(blocks)


def block_rows(block: Block) -> int:
    return len(block)


def _with_rows(block: Block) -> Block:
    if len(block) == 0:
        raise InferenceInputError(
            "the request has no rows",
            "Send at least one row: a V2 tensor of shape [N, F] or columns of shape [N], N > 0.",
            status=422,
        )
    return block


def _check_value(field: InputField, value: Any, row: int) -> None:
    if value is None:
        if field.required:
            raise InferenceInputError(
                f"input {field.name!r} row {row} is null",
                "Send a value for every required input.",
                status=422,
            )
        return
    if field.numeric:
        boolean = isinstance(value, bool | np.bool_)
        ok = (isinstance(value, int | float | np.number) and not boolean) or (
            field.datatype == "BOOL" and boolean
        )
        if not ok:
            raise InferenceInputError(
                f"input {field.name!r} row {row}: expected {field.datatype}, "
                f"got {json_kind(value)} {str(value)[:40]!r}",
                status=422,
            )
        if field.datatype.startswith(("INT", "UINT")) and float(value) != int(value):
            raise InferenceInputError(
                f"input {field.name!r} row {row}: {value!r} is not an integer ({field.datatype})",
                status=422,
            )
    elif not isinstance(value, str | bytes):  # a number or list in a string column
        raise InferenceInputError(
            f"input {field.name!r} row {row}: expected a string ({field.datatype}), "
            f"got {json_kind(value)} {str(value)[:40]!r}",
            status=422,
        )
