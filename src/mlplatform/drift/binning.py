"""Bins on reference quantiles, and counts read off sorted samples.

A numeric column's bins are fixed when its profile is built: ``bins`` bins whose interior
edges are the reference quantiles ``1/bins, ..., (bins-1)/bins`` (numpy's linear
interpolation), duplicate edges dropped (a column with few distinct values gets fewer
bins). The outer bins are open: every finite value falls in one. Bins are closed on the
left: bin ``i`` holds ``edges[i-1] <= x < edges[i]``.

Because both samples are kept sorted, a count per bin is one ``searchsorted`` per edge.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["bin_counts", "histogram_on_sorted", "quantile_edges", "sorted_quantile"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def quantile_edges(sorted_values: FloatArray, bins: int) -> FloatArray:
    """Interior bin edges at the quantiles of a sorted sample, without duplicates."""
    if sorted_values.size == 0 or bins < 2:
        return np.empty(0, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.unique(sorted_quantile(sorted_values, levels))


def sorted_quantile(sorted_values: FloatArray, levels: FloatArray) -> FloatArray:
    """``np.quantile(values, levels)`` (linear method) for an already sorted sample."""
    position = levels * (sorted_values.size - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, sorted_values.size - 1)
    frac = position - low
    lo_v, hi_v = sorted_values[low], sorted_values[high]
    step = hi_v - lo_v
    # numpy's lerp: from the nearer end, so that a quantile never leaves [lo_v, hi_v]
    return np.where(frac >= 0.5, hi_v - step * (1 - frac), lo_v + step * frac)


def bin_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts of a sorted sample in the ``len(edges) + 1`` bins the edges make."""
    inner = np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate(([0], inner, [sorted_values.size]))
    return np.diff(bounds).astype(np.int64)


def histogram_on_sorted(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """``np.histogram(values, edges)[0]`` for a sorted sample (last bin closed on the right).

    Values outside ``[edges[0], edges[-1]]`` are not counted, as numpy.
    """
    left = np.searchsorted(sorted_values, edges[:-1], side="left")
    right = np.append(
        np.searchsorted(sorted_values, edges[1:-1], side="left"),
        np.searchsorted(sorted_values, edges[-1], side="right"),
    )
    return (right - left).astype(np.int64)
