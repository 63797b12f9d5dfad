"""``scipy.stats.kstwo.sf(d, n)``, the same numbers, without its slow branch at large ``n``.

scipy picks a method per ``(n, d)`` (Simard and L'Ecuyer). One branch, ``2 * smirnov(n, d)``
for ``n d^2 >= 2.2``, sums the Birnbaum-Tingey series term by term in double-double: about
a microsecond per term and ``n`` terms, so 0.3-1.2 s per column at ``n`` = 0.5-1 million.
That is where a shifted column lands, so it would dominate a drift check.

Here that branch sums the same series differently. Its terms ``A_t`` are a smooth,
log-concave function of ``t`` that spans a large fraction of ``n`` (tens of thousands of
terms at least), so the sum over integers equals a sum over a coarser lattice times its
step, to far below double precision (Poisson summation: the error is ``exp(-2 pi^2
sigma^2 / h^2)`` for width ``sigma`` and step ``h``). The step is chosen from the width and
checked by halving it; where the two disagree, every integer is summed. ``log A_t`` is
written with Stirling remainders so that no term is a difference of huge numbers: about
1e-12 relative, against 1e-9 absolute asked of the p-value. Every other branch is scipy's.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln
from scipy.stats import kstwo

__all__ = ["kstwo_sf", "smirnov_sf"]

FloatArray = NDArray[np.float64]
_FAST_MIN_N = 1000  # below: scipy's own sum is quick enough
_FAST_MAX_N = 1_000_000  # above: scipy uses a closed-form approximation (quick)
_TAIL = 50.0  # terms below exp(-50) of the largest are left out (1e-22 relative)
_LATTICE_POINTS = 400
_AGREE = 1e-11


def kstwo_sf(d: FloatArray, n: FloatArray) -> FloatArray:
    """``kstwo.sf(d, n)`` elementwise (``n`` integral), equal to scipy's to about 1e-13."""
    d = np.asarray(d, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    out = np.empty(np.broadcast(d, n).shape)
    flat_d, flat_n = np.broadcast_to(d, out.shape).ravel(), np.broadcast_to(n, out.shape).ravel()
    fast = np.array([_fast_branch(x, int(k)) for x, k in zip(flat_d, flat_n, strict=True)])
    result = out.ravel()
    if (~fast).any():
        result[~fast] = kstwo.sf(flat_d[~fast], flat_n[~fast])
    for i in np.flatnonzero(fast):
        result[i] = min(max(2.0 * smirnov_sf(int(flat_n[i]), float(flat_d[i])), 0.0), 1.0)
    return result.reshape(out.shape)


def _fast_branch(x: float, n: int) -> bool:
    """Whether scipy's ``_kolmogn(n, x, cdf=False)`` would return ``2 * smirnov(n, x)``."""
    if not (_FAST_MIN_N < n <= _FAST_MAX_N) or not 0.0 < x < 0.5:
        return False
    t = n * x
    if t <= 1.0 or t >= n - 1:
        return False
    return 2.2 <= t * x < 370.0


def smirnov_sf(n: int, x: float) -> float:
    """``scipy.special.smirnov(n, x)``: P(D_n+ >= x), by a lattice sum of the series.

    For ``1/n < x < 1 - 1/n``; the caller keeps to scipy's branch (see ``kstwo_sf``).
    """
    nx = n * x
    last = n - math.floor(nx) - 1  # terms up to floor(n (1 - x)), the zero one excluded
    grid = np.unique(np.round(np.linspace(1.0, float(last), 257)))
    logs = _log_terms(grid, n, x, nx)
    top = float(logs.max())
    kept = grid[logs > top - _TAIL]
    spacing = float(grid[1] - grid[0]) if grid.size > 1 else 1.0
    low = int(max(1.0, kept.min() - spacing))
    high = int(min(float(last), kept.max() + spacing))
    step = max(1, (high - low) // _LATTICE_POINTS)
    total = _lattice_sum(low, high, step, n, x, nx, top)
    if step > 1:
        finer = _lattice_sum(low, high, max(1, step // 2), n, x, nx, top)
        if abs(finer - total) > _AGREE * finer:
            total = _lattice_sum(low, high, 1, n, x, nx, top)
    first = n * math.log1p(-x) - math.log(x) - top  # the t = 0 term, (1 - x)^n / x
    total += math.exp(first) if first > -_TAIL * 2 else 0.0
    return x * math.exp(top) * total


def _lattice_sum(low: int, high: int, step: int, n: int, x: float, nx: float, top: float) -> float:
    points = np.arange(low, high + 1, step, dtype=np.float64)
    return float(step * np.sum(np.exp(_log_terms(points, n, x, nx) - top)))


def _log_terms(t: FloatArray, n: int, x: float, nx: float) -> FloatArray:
    """log of C(n,t) p^(t-1) (1-p)^(n-t), p = x + t/n, for 1 <= t < n (1 - x)."""
    rest = n - t
    bulk = t * np.log1p(nx / t) + rest * np.log1p(-nx / rest)
    scale = 0.5 * np.log(n / (2.0 * math.pi * t * rest)) - np.log(x + t / n)
    return np.asarray(
        bulk + scale + _stirling_rest(float(n)) - _stirling_rest(t) - _stirling_rest(rest),
        dtype=np.float64,
    )


def _stirling_rest(z: FloatArray | float) -> FloatArray:
    """log Gamma(z+1) - (z log z - z + log(2 pi z) / 2), accurate for z >= 1."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    big = z >= 16.0
    zb = z[big]
    inv2 = 1.0 / (zb * zb)
    out[big] = (
        1.0 / zb * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))))
    )
    zs = z[~big]
    out[~big] = gammaln(zs + 1.0) - (zs * np.log(zs) - zs + 0.5 * np.log(2.0 * math.pi * zs))
    return out
