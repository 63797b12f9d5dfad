"""Columns of a table as the statistics need them: float64 values, or category counts.

Kinds follow the dtype: numbers (bool excluded) are ``numeric``; bool, string, object and
categorical columns are ``categorical``; dates, durations and complex numbers are not
supported (say which columns to use, or cast them). A numeric column can be declared
categorical (integer codes, say); a category's label is ``str(value)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["CategoryCounts", "Kind", "category_counts", "column_kind", "numeric_values"]

Kind = Literal["numeric", "categorical"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CategoryCounts:
    """Distinct non-missing labels with their counts, and the number of missing values."""

    labels: tuple[str, ...]
    counts: NDArray[np.int64]
    missing: int


def column_kind(series: pd.Series, categorical: Iterable[str] = ()) -> Kind | None:
    """``numeric``, ``categorical``, or ``None`` for a dtype drift cannot compare."""
    dtype = series.dtype
    if str(series.name) in set(categorical):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_complex_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
    ):
        return None
    return "categorical"


def numeric_values(series: pd.Series) -> FloatArray:
    """The column as float64, missing values (None, NA, NaN) as NaN. No copy when possible."""
    if series.dtype == np.float64:
        return np.asarray(series.to_numpy(), dtype=np.float64)
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def category_counts(series: pd.Series) -> CategoryCounts:
    """Counts per label (``str`` of the value), in first-seen order of pandas' counting."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _from_codes(series)
    counts = series.value_counts(dropna=True, sort=False)
    missing = int(len(series) - int(counts.sum()))
    labels = tuple(_label(v) for v in counts.index)
    merged = _merge_equal_labels(labels, np.asarray(counts.to_numpy(), dtype=np.int64))
    return CategoryCounts(merged[0], merged[1], missing)


def _from_codes(series: pd.Series) -> CategoryCounts:
    codes = np.asarray(series.cat.codes.to_numpy(), dtype=np.int64)
    categories = series.cat.categories
    tally = np.bincount(codes + 1, minlength=len(categories) + 1)
    present = np.flatnonzero(tally[1:])
    labels = tuple(_label(categories[int(i)]) for i in present)
    merged = _merge_equal_labels(labels, np.asarray(tally[1:][present], dtype=np.int64))
    return CategoryCounts(merged[0], merged[1], int(tally[0]))


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 and 1 are one category (CSV reads codes either way)
    if isinstance(value, np.generic):
        return _label(value.item())
    return str(value)


def _merge_equal_labels(
    labels: tuple[str, ...], counts: NDArray[np.int64]
) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """Values that print alike (1 and "1") are one category: add their counts up."""
    if len(set(labels)) == len(labels):
        return labels, counts
    merged: dict[str, int] = {}
    for label, count in zip(labels, counts.tolist(), strict=True):
        merged[label] = merged.get(label, 0) + int(count)
    return tuple(merged), np.array(list(merged.values()), dtype=np.int64)
