"""KS statistic and Wasserstein-1 distance of two sorted samples, exact, merging little.

Both come from one step function, ``t(x) = m #{ref <= x} - n #{cur <= x}`` (``n``, ``m``
the sample sizes): ``D = max |t| / (n m)`` over the sample values and ``W1 = integral of
|t| dx / (n m)``. The value range is cut into blocks at every ``STRIDE``-th value of either
sample. Just below each edge ``t`` is known exactly (two ``searchsorted`` calls in all),
and inside a block it is bounded by the counts of each sample there:

- a block where ``t`` keeps one sign adds ``|integral of t|`` in closed form, from ``t``
  below its right edge and each sample's distances from its left edge (a block holding one
  value, a tie group, is exact that way);
- a block where ``t`` may change sign, or may exceed the largest ``|t|`` seen below an
  edge, is merged and walked value by value (a stable merge: reference values first on
  ties, so the maximum is read at the ends of tie groups only).

On a shifted column almost every block is closed; on an unshifted one ``t`` wanders
around zero and, at a million values a side, up to a tenth of them are walked (more on
smaller samples, where the bounds are wider against ``t``'s swings). The KS statistic is
an exact integer ratio, as a full merge gives; the area's terms are summed in another
grouping, so it may differ from a full merge's in the last bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlplatform.errors import DriftDataError

__all__ = ["STRIDE", "EcdfDistances", "ecdf_distances"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
STRIDE = 64  # values of each sample per block edge: tighter bounds against more edges
_CHUNK = 1 << 16  # walked values per pass: the working set stays in cache


@dataclass(frozen=True)
class EcdfDistances:
    """The KS statistic (sup |F_ref - F_cur|) and the Wasserstein-1 distance of two samples."""

    ks: float
    wasserstein: float


@dataclass(frozen=True)
class _Blocks:
    """Blocks ``[edges[k], edges[k + 1])``; ``*_lo`` count each sample's values below an edge."""

    edges: FloatArray
    ref_lo: IntArray
    cur_lo: IntArray
    before: IntArray  # t just below each block's left edge
    walk: NDArray[np.bool_]  # blocks to merge value by value
    top: int  # the largest |t| below an edge: attained, so a lower bound of max |t|


def ecdf_distances(
    reference: FloatArray, current: FloatArray, stride: int = STRIDE
) -> EcdfDistances:
    """KS statistic and Wasserstein-1 distance of two sorted, finite, non-empty samples.

    Args:
        reference: sorted finite values, ``n`` of them.
        current: sorted finite values, ``m`` of them.
        stride: every ``stride``-th value of each sample is a block edge.

    Raises:
        DriftDataError: either sample is empty.
    """
    n, m = int(reference.size), int(current.size)
    if n == 0 or m == 0:
        raise DriftDataError("cannot compare an empty sample", "Both samples need values.")
    blocks = _blocks(reference, current, stride)
    high, area = blocks.top, _closed_area(reference, current, blocks)
    for chosen in _walk_groups(blocks):
        walked_high, walked_area = _walk(reference, current, blocks, chosen)
        high, area = max(high, walked_high), area + walked_area
    return EcdfDistances(ks=high / (n * m), wasserstein=area / (float(n) * float(m)))


def _blocks(reference: FloatArray, current: FloatArray, stride: int) -> _Blocks:
    n, m = int(reference.size), int(current.size)
    picked = (reference[::stride], current[::stride], reference[-1:], current[-1:])
    edges = np.unique(np.concatenate(picked))  # the smallest and largest values included
    ref_lo, cur_lo = np.searchsorted(reference, edges), np.searchsorted(current, edges)
    before = m * ref_lo - n * cur_lo  # t just below each edge: at the value before it
    top = int(np.abs(before).max())
    low = m * ref_lo[:-1] - n * cur_lo[1:]  # bounds of t inside each block
    high = m * ref_lo[1:] - n * cur_lo[:-1]
    walk = ((low < 0) & (high > 0)) | (np.maximum(high, -low) > top)
    walk &= ~(_one_value(reference, ref_lo, edges) & _one_value(current, cur_lo, edges))
    return _Blocks(edges, ref_lo, cur_lo, before[:-1], walk, top)


def _one_value(values: FloatArray, lo: IntArray, edges: FloatArray) -> NDArray[np.bool_]:
    """Per block, whether the sample's values in it (if any) all equal its left edge.

    Where both samples' do, ``t`` is constant on the block (its value below the next edge),
    so it needs no walk whatever the bounds say.
    """
    last = values[np.maximum(lo[1:] - 1, 0)]
    return np.asarray((lo[1:] == lo[:-1]) | (last == edges[:-1]), dtype=np.bool_)


def _closed_area(reference: FloatArray, current: FloatArray, blocks: _Blocks) -> float:
    """Sum of |integral of t| over the blocks that are not walked (t keeps its sign there).

    Over ``[e, f)``, ``integral of t = t(f-) (f - e) - m R_ref + n R_cur``, ``R`` a sample's
    sum of ``v - e`` over its values in the block: a block of one tie group is exact.
    """
    closed = ~blocks.walk
    if not closed.any():
        return 0.0
    n, m = int(reference.size), int(current.size)
    at_end = m * blocks.ref_lo[1:] - n * blocks.cur_lo[1:]  # t just below each right edge
    integral = at_end * np.diff(blocks.edges)
    integral -= m * _from_left_edge(reference, blocks.ref_lo, blocks.edges)
    integral += n * _from_left_edge(current, blocks.cur_lo, blocks.edges)
    return float(np.abs(integral[closed]).sum())


def _from_left_edge(values: FloatArray, lo: IntArray, edges: FloatArray) -> FloatArray:
    """Per block, the sum of ``v - edges[k]`` over the sample's values ``v`` in it."""
    counts = np.diff(lo)  # lo[0] is 0: the first edge is the smallest value
    distances = np.subtract(values[: int(lo[-1])], np.repeat(edges[:-1], counts))
    sums = np.zeros(counts.size)
    filled = counts > 0
    if filled.any():  # starts of non-empty blocks only: np.add.reduceat repeats empty ones
        sums[filled] = np.add.reduceat(distances, lo[:-1][filled])
    return sums


def _walk_groups(blocks: _Blocks) -> list[NDArray[np.intp]]:
    """The walked blocks, in consecutive groups of about ``_CHUNK`` values."""
    chosen = np.flatnonzero(blocks.walk)
    if chosen.size == 0:
        return []
    sizes = (np.diff(blocks.ref_lo) + np.diff(blocks.cur_lo))[chosen]
    running = np.cumsum(sizes)
    cuts = np.searchsorted(running, np.arange(_CHUNK, int(running[-1]), _CHUNK)) + 1
    return [part for part in np.split(chosen, np.unique(cuts)) if part.size]


def _walk(
    reference: FloatArray, current: FloatArray, blocks: _Blocks, chosen: NDArray[np.intp]
) -> tuple[int, float]:
    """Max |t| at the ends of tie groups, and the area of |t|, over the ``chosen`` blocks."""
    n, m = int(reference.size), int(current.size)
    ref_counts = blocks.ref_lo[chosen + 1] - blocks.ref_lo[chosen]
    cur_counts = blocks.cur_lo[chosen + 1] - blocks.cur_lo[chosen]
    ref_part = reference[_ranges(blocks.ref_lo[chosen], ref_counts)]
    both = np.concatenate((ref_part, current[_ranges(blocks.cur_lo[chosen], cur_counts)]))
    order = np.argsort(both, kind="stable")  # one sorted run per sample: a linear merge
    values = both[order]
    steps = np.where(order < ref_part.size, m, -n)
    sizes = ref_counts + cur_counts
    starts = np.cumsum(sizes) - sizes
    after = m * blocks.ref_lo[chosen + 1] - n * blocks.cur_lo[chosen + 1]  # t below right edges
    steps[starts] += blocks.before[chosen] - np.concatenate(([0], after[:-1]))  # the gaps' jumps
    running = np.cumsum(steps)  # not in place: numpy would hold the GIL
    following = np.empty_like(values)
    following[:-1] = values[1:]
    following[starts + sizes - 1] = blocks.edges[chosen + 1]  # a block holds its left edge
    np.abs(running, out=running)
    ends = following != values  # a block's last value is below its right edge: an end too
    high = int(running[ends].max())
    following -= values
    following *= running
    return high, float(following.sum())


def _ranges(starts: IntArray, counts: IntArray) -> NDArray[np.intp]:
    """The indices ``starts[i] ... starts[i] + counts[i] - 1`` for every ``i``, in order."""
    total = int(counts.sum())
    shift = starts - (np.cumsum(counts) - counts)
    return np.asarray(np.arange(total) + np.repeat(shift, counts), dtype=np.intp)
