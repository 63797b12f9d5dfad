"""What a table is for: its label column, the learning task, and the columns that are not features.

``task="auto"`` decides from the label: text, categorical and boolean labels are
classification; numbers are classification when they are whole and take at most
``MAX_AUTO_CLASSES`` distinct values, else regression. Classification with two classes is
``binary``, with more ``multiclass``. Every step that needs the task resolves it with
``resolve_task`` from the rows it sees, and says what it chose (``log_params``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlplatform.errors import ConfigError, DataValidationError

__all__ = [
    "MAX_AUTO_CLASSES",
    "TASKS",
    "is_classification",
    "parse_id_columns",
    "require_target",
    "resolve_task",
]

TASKS = ("auto", "binary", "multiclass", "regression")
MAX_AUTO_CLASSES = 20
"""Whole-number labels with at most this many distinct values are classes under ``auto``."""


def is_classification(task: str) -> bool:
    """``binary`` and ``multiclass`` are classification; ``regression`` is not."""
    return task in ("binary", "multiclass")


def require_target(data: pd.DataFrame, target: str, where: str = "the data") -> None:
    """Raise unless ``target`` is a column of ``data`` and at least one other column is.

    Raises:
        DataValidationError: the label column is missing (the hint lists the columns), or it
            is the only column.
    """
    if target not in data.columns:
        raise DataValidationError(
            f"target column {target!r} is not in {where}",
            f"Pass -p target=<one of: {', '.join(map(str, data.columns))}>.",
        )
    if len(data.columns) < 2:
        raise DataValidationError(
            f"{where} has no feature columns besides the target {target!r}",
            "Check the data source (-p source=...): it needs at least one feature column.",
        )


def resolve_task(labels: pd.Series, task: str = "auto") -> str:
    """``binary``, ``multiclass`` or ``regression`` for these labels.

    Raises:
        ConfigError: ``task`` is not one of ``TASKS``.
        DataValidationError: the labels cannot be learned as ``task`` (text labels for
            regression, one class only, a binary task with more than two classes).
    """
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}", f"Pass -p task=<one of: {'|'.join(TASKS)}>.")
    known = labels.dropna()
    if task == "auto":
        task = _auto(known)
    if task == "regression":
        _require_numeric(known)
        return task
    classes = known.nunique()
    if classes < 2:
        raise DataValidationError(
            f"the label {labels.name!r} has {classes} class(es): nothing to learn",
            "Check -p target=... names the label column, and that the data has every class.",
        )
    if task == "binary" and classes > 2:
        raise DataValidationError(
            f"task 'binary' needs 2 classes, the label {labels.name!r} has {classes}",
            "Pass -p task=multiclass (or -p task=auto).",
        )
    return task


def _auto(labels: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(labels.dtype) or pd.api.types.is_bool_dtype(labels.dtype):
        return "binary" if labels.nunique() == 2 else "multiclass"
    values = labels.to_numpy(dtype="float64")
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if whole and labels.nunique() <= MAX_AUTO_CLASSES:
        return "binary" if labels.nunique() == 2 else "multiclass"
    return "regression"


def _require_numeric(labels: pd.Series) -> None:
    if pd.api.types.is_numeric_dtype(labels.dtype) and not pd.api.types.is_bool_dtype(labels.dtype):
        return
    raise DataValidationError(
        f"task 'regression' needs a numeric label, {labels.name!r} is {labels.dtype}",
        "Pass -p task=auto (it picks classification for this label), or -p target=<a numeric "
        "column>.",
    )


def parse_id_columns(text: str, columns: pd.Index, target: str) -> list[str]:
    """``"customer_id, order_id"`` -> the names, checked against the table's columns.

    Raises:
        DataValidationError: a name is not a column, or names the target.
    """
    names = [n.strip() for n in text.split(",") if n.strip()]
    missing = [n for n in names if n not in columns]
    if missing:
        choices = ", ".join(str(c) for c in columns if c != target)
        raise DataValidationError(
            f"id column(s) {', '.join(map(repr, missing))} not in the data",
            f"Pass -p id_columns=<comma-separated, from: {choices}>, or -p id_columns= for none.",
        )
    if target in names:
        raise DataValidationError(
            f"the target {target!r} cannot also be an id column",
            f"Pass -p id_columns={','.join(n for n in names if n != target)}.",
        )
    return names
