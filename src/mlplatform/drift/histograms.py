"""Reference and current distributions on shared bins, small enough to plot and to keep.

Numeric: equal-width bins over the central 99% of both samples (the 0.5% and 99.5%
quantiles of each, the wider of the two), values beyond clipped into the outer bins.
Categorical: the categories most frequent in either sample, then ``(other)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mlplatform.drift.binning import sorted_quantile
from mlplatform.drift.result import Histogram
from mlplatform.drift.samples import CategoricalSample, NumericSample

__all__ = ["categorical_histogram", "numeric_histogram"]

NUMERIC_BINS = 30
TOP_CATEGORIES = 12
_TAILS = np.array([0.005, 0.995])


def numeric_histogram(sample: NumericSample, bins: int = NUMERIC_BINS) -> Histogram | None:
    ref, cur = sample.reference.values, sample.finite
    if ref.size == 0 or cur.size == 0:
        return None
    low_r, high_r = sorted_quantile(ref, _TAILS)
    low_c, high_c = sorted_quantile(cur, _TAILS)
    low, high = float(min(low_r, low_c)), float(max(high_r, high_c))
    if not high > low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    return Histogram(
        reference=_shares(ref, edges),
        current=_shares(cur, edges),
        edges=tuple(float(e) for e in edges),
    )


def _shares(sorted_values: NDArray[np.float64], edges: NDArray[np.float64]) -> tuple[float, ...]:
    inner = np.searchsorted(sorted_values, edges[1:-1], side="left")
    counts = np.diff(np.concatenate(([0], inner, [sorted_values.size])))
    return tuple(float(c) for c in counts / sorted_values.size)


def categorical_histogram(sample: CategoricalSample, top: int = TOP_CATEGORIES) -> Histogram:
    ref = sample.reference_counts / max(int(sample.reference_counts.sum()), 1)
    cur = sample.current_counts / max(int(sample.current_counts.sum()), 1)
    order = np.argsort(-np.maximum(ref, cur), kind="stable")
    shown, rest = order[:top], order[top:]
    labels = [sample.labels[i] for i in shown]
    ref_shares = [float(ref[i]) for i in shown]
    cur_shares = [float(cur[i]) for i in shown]
    if rest.size:
        labels.append("(other)")
        ref_shares.append(float(ref[rest].sum()))
        cur_shares.append(float(cur[rest].sum()))
    return Histogram(tuple(ref_shares), tuple(cur_shares), labels=tuple(labels))
