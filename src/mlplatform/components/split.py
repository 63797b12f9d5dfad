"""How the table is cut into train and test rows (the ``split`` parameter).

- ``auto`` (default): ``stratified`` for classification, ``random`` for regression;
- ``random``: shuffled with the seed;
- ``stratified``: shuffled, every class in the same proportion on both sides;
- ``time:COLUMN``: ordered by ``COLUMN``, the last ``test_size`` of the rows are the test
  set; nothing is shuffled, so no test row is older than a train row. ``COLUMN`` is not a
  feature (a timestamp seen in training says nothing about later rows).
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from mlplatform.components.tasks import is_classification
from mlplatform.errors import ConfigError, DataValidationError

__all__ = ["SPLITS", "split_frame", "time_column"]

SPLITS = ("auto", "random", "stratified", "time:COLUMN")


def time_column(split: str) -> str | None:
    """The ``COLUMN`` of ``time:COLUMN``, else None (the split is checked by ``split_frame``)."""
    return split[len("time:") :].strip() or None if split.startswith("time:") else None


def split_frame(
    data: pd.DataFrame, *, target: str, task: str, split: str, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test rows of ``data`` (index reset), cut as ``split`` says.

    Raises:
        ConfigError: ``split`` is not one of ``SPLITS``, or ``stratified`` for regression.
        DataValidationError: a class is too rare to stratify, or the time column is missing
            or has no order.
    """
    kind = ("stratified" if is_classification(task) else "random") if split == "auto" else split
    if kind.startswith("time:"):
        return _by_time(data, kind, test_size)
    if kind not in ("random", "stratified"):
        raise ConfigError(
            f"unknown split {split!r}",
            "Pass -p split=<auto|random|stratified|time:COLUMN>, e.g. -p split=random.",
        )
    if kind == "stratified" and not is_classification(task):
        raise ConfigError(
            f"split 'stratified' needs classes, the task is {task!r}", "Pass -p split=random."
        )
    stratify = data[target] if kind == "stratified" else None
    try:
        train, test = train_test_split(
            data, test_size=test_size, random_state=seed, stratify=stratify
        )
    except ValueError as exc:
        raise DataValidationError(
            f"cannot split the data {kind} by {target!r}: {exc}",
            "Every class needs at least 2 rows for -p split=stratified; or pass -p split=random.",
        ) from exc
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _by_time(data: pd.DataFrame, split: str, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    column = time_column(split)
    if column is None or column not in data.columns:
        choices = ", ".join(map(str, data.columns))
        raise DataValidationError(
            f"the time column of split {split!r} is not in the data",
            f"Pass -p split=time:<one of: {choices}>.",
        )
    order = data[column]
    if order.isna().any():
        raise DataValidationError(
            f"the time column {column!r} has {int(order.isna().sum())} missing value(s)",
            "Fill or drop those rows, or pass -p split=random.",
        )
    ordered = data.iloc[order.argsort(kind="stable")]
    cut = len(ordered) - max(1, round(len(ordered) * test_size))
    if cut < 1:
        raise DataValidationError(
            f"too few rows ({len(ordered)}) for a time split", "Ingest more rows."
        )
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)
