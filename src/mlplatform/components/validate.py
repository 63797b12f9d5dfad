"""The ``validate`` step: stop bad data before it reaches training, with a readable report.

Schemas are pandera ``DataFrameSchema`` objects. ``infer_schema`` builds one from data known
to be good; ``save_schema``/``load_schema`` keep it as YAML through pandera's own
``to_yaml``/``from_yaml``, which round-trips every check used here (dtype, nullability,
``in_range``, ``isin`` and the registered ``finite`` check). Loading a schema that uses
``finite`` needs this module imported, which ``load_schema`` guarantees.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import extensions
from pandera.errors import SchemaError, SchemaErrors

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.dsl import step

__all__ = [
    "MAX_LEVELS",
    "RANGE_MARGIN",
    "Violation",
    "format_report",
    "infer_schema",
    "load_schema",
    "save_schema",
    "validate",
    "validation_report",
]

RANGE_MARGIN = 0.10
"""Inferred numeric ranges are widened by this fraction of the observed range on each side."""
MAX_LEVELS = 20
"""Text and categorical columns with at most this many distinct values get an ``isin`` check."""

_FINITE = "finite"
_EXAMPLES = 3
_EXAMPLE_WIDTH = 40
_CHECK_LABELS = {
    "column_in_dataframe": "column_in_dataframe (missing column)",
    "column_in_schema": "column_in_schema (unexpected column)",
}


@dataclass(frozen=True)
class Violation:
    """One failed check: the column, the check, how many values fail and a few of them."""

    column: str
    check: str
    failing_count: int
    examples: tuple[str, ...] = ()


def _register_finite_check() -> None:
    if hasattr(pa.Check, _FINITE):
        return

    @extensions.register_check_method(statistics=[], supported_types=pd.Series)
    def finite(series: pd.Series) -> pd.Series:
        return ~pd.Series(np.isinf(series.to_numpy(dtype="float64")), index=series.index)


_register_finite_check()


def _finite() -> pa.Check:
    check: pa.Check = getattr(pa.Check, _FINITE)()
    return check


def infer_schema(df: pd.DataFrame, *, max_null_fraction: float = 0.0) -> pa.DataFrameSchema:
    """Infer a strict schema from data known to be good.

    Every column is required and extra columns are refused (``strict=True``). Each column
    keeps its exact dtype (no coercion: an int column that arrives as float is a violation).
    Numeric columns get ``in_range(min - m, max + m)`` with ``m = RANGE_MARGIN * (max - min)``
    (``RANGE_MARGIN * |value|``, or 1.0, for a constant column), rounded outwards to a step of
    at most ``m / 10`` so the bounds read well; a column that was never negative keeps a
    lower bound of 0. Text and categorical columns with at most
    ``MAX_LEVELS`` values get ``isin`` of the values seen.

    Args:
        df: the good data.
        max_null_fraction: above 0, every column may hold nulls (the fraction is enforced by
            ``validation_report``); at 0, only columns that hold nulls in ``df`` may.

    Returns:
        The schema.
    """
    columns = {
        str(name): pa.Column(
            df[name].dtype,
            _value_checks(df[name]),
            nullable=bool(df[name].isna().any()) or max_null_fraction > 0,
            required=True,
        )
        for name in df.columns
    }
    return pa.DataFrameSchema(columns, strict=True)


def _value_checks(series: pd.Series) -> list[pa.Check]:
    if pd.api.types.is_bool_dtype(series.dtype):
        return []
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _range_checks(series)
    if isinstance(series.dtype, pd.CategoricalDtype):
        levels = list(series.dtype.categories)
    else:
        levels = list(series.dropna().unique())
    if len(levels) <= MAX_LEVELS and all(isinstance(level, str) for level in levels):
        return [pa.Check.isin(sorted(levels))]
    return []


def _range_checks(series: pd.Series) -> list[pa.Check]:
    values = series.dropna().to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [_finite()]
    low, high = float(values.min()), float(values.max())
    margin = RANGE_MARGIN * (high - low) or RANGE_MARGIN * abs(low) or 1.0
    lower = _round_out(low - margin, margin, up=False)
    upper = _round_out(high + margin, margin, up=True)
    return [pa.Check.in_range(max(lower, 0.0) if low >= 0 else lower, upper)]


def _round_out(value: float, margin: float, *, up: bool) -> float:
    """Round away from the data to a step of at most ``margin / 10``, for readable bounds."""
    scale = 10.0 ** (1 - math.floor(math.log10(margin)))
    return (math.ceil if up else math.floor)(value * scale) / scale


def _sanity_schema(df: pd.DataFrame) -> pa.DataFrameSchema:
    """Dtypes as they are, nulls allowed (``validation_report`` limits them), no infinities."""
    columns = {
        str(name): pa.Column(
            df[name].dtype,
            [_finite()] if pd.api.types.is_float_dtype(df[name].dtype) else [],
            nullable=True,
        )
        for name in df.columns
    }
    return pa.DataFrameSchema(columns, strict=True)


def save_schema(schema: pa.DataFrameSchema, path: str | os.PathLike[str]) -> Path:
    """Write ``schema`` as pandera YAML, atomically (``mlplatform.atomicfile``).

    Args:
        schema: the schema to save.
        path: the YAML file to write; parent folders are created.

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, str(schema.to_yaml()))


def load_schema(path: str | os.PathLike[str]) -> pa.DataFrameSchema:
    """Read a schema written by ``save_schema``.

    Raises:
        ConfigError: the file is missing or is not a pandera schema.
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigError(
            f"schema file {str(source)!r} does not exist",
            "Pass -p schema=<path to a saved schema>, or -p schema='' to infer one from the data.",
        )
    try:
        schema = pa.DataFrameSchema.from_yaml(source)
    except Exception as exc:
        raise ConfigError(
            f"schema file {str(source)!r} is not a pandera YAML schema: {exc}",
            "Write schemas with mlplatform.components.save_schema.",
        ) from exc
    if not isinstance(schema, pa.DataFrameSchema):
        raise ConfigError(f"schema file {str(source)!r} does not hold a DataFrameSchema")
    return schema


def validation_report(
    df: pd.DataFrame, schema: pa.DataFrameSchema, max_null_fraction: float
) -> list[Violation]:
    """Every violation of ``schema`` and of the null limit in ``df``, sorted by column.

    Args:
        df: the data to check.
        schema: the schema to validate against (lazily, so every failure is collected).
        max_null_fraction: the largest fraction of nulls any column may hold.

    Returns:
        The violations; empty when the data is valid.
    """
    try:
        schema.validate(df, lazy=True)
        violations = []
    except SchemaErrors as exc:
        violations = _from_failure_cases(exc.failure_cases)
    except SchemaError as exc:
        violations = [Violation("(table)", str(exc).splitlines()[0], 1)]
    violations += _null_fraction_violations(df, max_null_fraction)
    return sorted(violations, key=lambda v: (v.column, v.check))


def _from_failure_cases(cases: pd.DataFrame) -> list[Violation]:
    grouped: dict[tuple[str, str], list[object]] = {}
    for column, check, value in zip(
        cases["column"], cases["check"], cases["failure_case"], strict=True
    ):
        if check in _CHECK_LABELS:
            key, value = (str(value), _CHECK_LABELS[check]), None
        else:
            key = (_text(column, "(table)"), str(check))
        grouped.setdefault(key, []).append(value)
    return [
        Violation(column, check, len(values), _examples(values) if values[0] is not None else ())
        for (column, check), values in grouped.items()
    ]


def _examples(values: list[object]) -> tuple[str, ...]:
    shown = list(dict.fromkeys(_text(v, "null") for v in values))[:_EXAMPLES]
    return tuple(s if len(s) <= _EXAMPLE_WIDTH else s[: _EXAMPLE_WIDTH - 3] + "..." for s in shown)


def _text(value: object, null: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return null
    return str(value)


def _null_fraction_violations(df: pd.DataFrame, max_null_fraction: float) -> list[Violation]:
    if df.empty:
        return []
    nulls = df.isna().sum()
    return [
        Violation(
            str(name),
            f"null_fraction<={max_null_fraction:g}",
            int(count),
            (f"{count / len(df):.1%} null",),
        )
        for name, count in nulls.items()
        if count / len(df) > max_null_fraction
    ]


def format_report(violations: Sequence[Violation]) -> str:
    """Render violations as an aligned plain-text table (column, check, failing, examples)."""
    header = ("column", "check", "failing", "examples")
    rows = [header] + [
        (v.column, v.check, str(v.failing_count), ", ".join(v.examples)) for v in violations
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


@step(outputs=("data", "schema"), data={"schema": "optional"})
def validate(
    data: pd.DataFrame, schema: str = "", max_null_fraction: float = 0.05
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Validate ``data`` against a saved schema, or against a sanity schema inferred from it.

    Args:
        data: the table to check.
        schema: path to a schema written by ``save_schema``. If the file does not exist yet,
            a schema is inferred once from this (first good) data, saved there, and used from
            then on: commit it. Empty: check a sanity schema (dtypes as they are, no infinite
            values, the null limit) inferred from ``data`` each time.
        max_null_fraction: the largest fraction of nulls any column may hold.

    Returns:
        The data, unchanged, and the schema used as a JSON-able dict (pandera's ``to_json``).

    Raises:
        ConfigError: ``max_null_fraction`` is outside [0, 1] or the schema cannot be read.
        DataValidationError: any check failed; ``report`` lists every violation.
    """
    if not 0.0 <= max_null_fraction <= 1.0:
        raise ConfigError(
            f"max_null_fraction must be within [0, 1], got {max_null_fraction}",
            "Pass e.g. -p max_null_fraction=0.05.",
        )
    expected = _expected_schema(data, schema, max_null_fraction)
    violations = validation_report(data, expected, max_null_fraction)
    if violations:
        columns = sorted({v.column for v in violations})
        raise DataValidationError(
            f"data failed validation: {len(violations)} violation(s) in {', '.join(columns)}",
            _hint(schema),
            report=format_report(violations),
        )
    log_metrics({"rows": len(data), "columns": len(data.columns)})
    return data, dict(json.loads(str(expected.to_json())))


def _expected_schema(
    data: pd.DataFrame, schema: str, max_null_fraction: float
) -> pa.DataFrameSchema:
    if not schema:
        return _sanity_schema(data)
    if Path(schema).exists() or "://" in schema:
        return load_schema(schema)
    inferred = infer_schema(data, max_null_fraction=max_null_fraction)
    violations = validation_report(data, inferred, max_null_fraction)
    if violations:
        raise DataValidationError(
            f"cannot infer a schema from data that breaks the null limit ({schema} not written)",
            "Infer the schema from good data, or relax -p max_null_fraction.",
            report=format_report(violations),
        )
    save_schema(inferred, schema)
    log_params({"schema_inferred_to": schema})
    return inferred


def _hint(schema: str) -> str:
    where = f"the schema {schema!r}" if schema else "the step's parameters"
    return (
        f"Fix the data, or {where} if the data is right "
        "(-p max_null_fraction=... relaxes the null limit); nothing was trained."
    )
