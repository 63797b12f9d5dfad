"""Current data prepared against the reference, once per column, for any set of tests.

A numeric column is sorted once (NaN sort last, infinities sit at the ends), which gives
its finite values as a view plus the missing and infinite counts for free. A categorical
column is counted and aligned with the reference's categories; labels the reference never
saw come after them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlplatform.drift.columns import category_counts, column_kind, numeric_values
from mlplatform.drift.profile import CategoricalProfile, ColumnProfile, NumericProfile
from mlplatform.errors import DriftSchemaError

__all__ = ["CategoricalSample", "NumericSample", "Sample", "SortBuffer", "prepare"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class NumericSample:
    """A numeric column of the current data: ``finite`` values sorted, and what was left out."""

    reference: NumericProfile
    finite: FloatArray
    rows: int
    missing: int
    infinite: int


@dataclass(frozen=True, eq=False)
class CategoricalSample:
    """Counts of the reference and the current data over the same labels.

    ``labels`` are the reference's categories, then ``unseen`` ones (current only).
    """

    reference: CategoricalProfile
    labels: tuple[str, ...]
    reference_counts: IntArray
    current_counts: IntArray
    unseen: tuple[str, ...]
    rows: int
    missing: int


Sample = NumericSample | CategoricalSample


class SortBuffer:
    """Scratch space for sorting one column after another without fresh memory each time.

    A sample prepared with it is valid until the next column is prepared with it.
    """

    def __init__(self) -> None:
        self._data = np.empty(0)

    def sorted_copy(self, values: FloatArray) -> FloatArray:
        if self._data.size < values.size:
            self._data = np.empty(values.size)
        out = self._data[: values.size]
        np.copyto(out, values)
        out.sort()
        return out


def prepare(
    reference: ColumnProfile, series: pd.Series, buffer: SortBuffer | None = None
) -> Sample:
    """The current column ``series`` prepared for comparison with ``reference``.

    Raises:
        DriftSchemaError: the reference column is numeric and ``series`` holds non-numbers.
    """
    if isinstance(reference, NumericProfile):
        return _numeric(reference, series, buffer or SortBuffer())
    return _categorical(reference, series)


def _numeric(reference: NumericProfile, series: pd.Series, buffer: SortBuffer) -> NumericSample:
    values = buffer.sorted_copy(_as_numbers(reference, series))
    first_nan = int(np.searchsorted(values, np.nan, side="left"))
    head = values[:first_nan]
    neg = int(np.searchsorted(head, -np.inf, side="right"))
    pos = first_nan - int(np.searchsorted(head, np.inf, side="left"))
    return NumericSample(
        reference=reference,
        finite=values[neg : first_nan - pos],
        rows=len(series),
        missing=len(series) - first_nan,
        infinite=neg + pos,
    )


def _as_numbers(reference: NumericProfile, series: pd.Series) -> FloatArray:
    if column_kind(series) == "numeric":
        return numeric_values(series)
    if bool(series.isna().all()):
        return np.full(len(series), np.nan)  # an all-missing column of any dtype
    sample = ", ".join(repr(v) for v in series.dropna().unique()[:3])
    raise DriftSchemaError(
        f"column {reference.name!r} is numeric in the reference ({reference.dtype}) but "
        f"{series.dtype} in the current data (values like {sample})",
        "Cast the column to numbers in the current data (or fix its source); a numeric "
        "reference cannot be compared with text.",
    )


def _categorical(reference: CategoricalProfile, series: pd.Series) -> CategoricalSample:
    counted = category_counts(series)
    position = {label: i for i, label in enumerate(reference.categories)}
    known = len(reference.categories)
    unseen = tuple(label for label in counted.labels if label not in position)
    for offset, label in enumerate(unseen):
        position[label] = known + offset
    current = np.zeros(known + len(unseen), dtype=np.int64)
    if counted.labels:
        index = np.fromiter((position[label] for label in counted.labels), dtype=np.int64)
        current[index] = counted.counts
    ref_counts = np.concatenate((reference.counts, np.zeros(len(unseen), dtype=np.int64)))
    return CategoricalSample(
        reference=reference,
        labels=reference.categories + unseen,
        reference_counts=ref_counts,
        current_counts=current,
        unseen=unseen,
        rows=len(series),
        missing=counted.missing,
    )
