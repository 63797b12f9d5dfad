"""Two-sample drift statistics, exact, equal to scipy's definitions.

Numeric columns are compared through their empirical CDFs: the sorted reference (kept in
the profile) and the sorted current sample give both the two-sample Kolmogorov-Smirnov
statistic and the Wasserstein-1 distance, exactly (``scipy.stats.ks_2samp`` and
``scipy.stats.wasserstein_distance`` to rounding), merged only where needed (``_ecdf``).
p-values are vectorized over columns. Binned and categorical columns are compared through
count tables: PSI, Jensen-Shannon distance (``scipy.spatial.distance.jensenshannon``) and
the chi-square test of homogeneity (``scipy.stats.chi2_contingency`` on the 2 x k table).

Conventions, stated once:

- PSI = sum((q - p) * log(q / p)) over bins, ``p`` the reference and ``q`` the current
  proportions; an empty bin's proportion is replaced by ``epsilon`` (proportions are not
  renormalized); natural log unless a base is given.
- Jensen-Shannon distance = sqrt(JS divergence), as scipy; base 2 by default here, so it lies
  in [0, 1]; empty bins need no epsilon.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from mlplatform.drift._ecdf import EcdfDistances, ecdf_distances
from mlplatform.drift._kolmogorov import kstwo_sf
from mlplatform.errors import DriftDataError

__all__ = [
    "Chi2Result",
    "EcdfDistances",
    "KsPValues",
    "adjust_p_values",
    "chi2_homogeneity",
    "ecdf_distances",
    "js_distance",
    "ks_p_values",
    "psi",
]

FloatArray = NDArray[np.float64]
_MAX_AUTO_N = 10_000  # scipy's 'auto': exact when both samples are at most this big


@dataclass(frozen=True)
class KsPValues:
    """KS p-values per column; ``statistics`` are the inputs, or h/lcm where exact was used
    (as scipy returns them), ``methods`` what was used per column (exact may fall back)."""

    statistics: FloatArray
    p_values: FloatArray
    methods: tuple[str, ...]


@dataclass(frozen=True)
class Chi2Result:
    """Chi-square test of homogeneity of two count vectors over the same categories."""

    statistic: float
    p_value: float
    dof: int


def ks_p_values(
    statistics: ArrayLike,
    n_reference: ArrayLike,
    n_current: ArrayLike,
    method: Literal["asymp", "exact", "auto"] = "asymp",
) -> KsPValues:
    """Two-sided KS p-values for many columns at once, as ``scipy.stats.ks_2samp``.

    ``asymp`` is scipy's ``kstwo.sf(D, round(n m / (n + m)))``, vectorized (its slow
    branch at large sizes replaced by an equal, fast sum: ``_kolmogorov``); ``exact`` is
    scipy's exact path-counting (it falls back to ``asymp`` where scipy does: too large an
    lcm of the sample sizes, or a floating-point failure); ``auto`` is exact when both
    samples have at most 10,000 values.
    """
    d = np.atleast_1d(np.asarray(statistics, dtype=np.float64)).copy()
    n1 = np.atleast_1d(np.asarray(n_reference, dtype=np.int64))
    n2 = np.atleast_1d(np.asarray(n_current, dtype=np.int64))
    methods = [_method_for(method, int(a), int(b)) for a, b in zip(n1, n2, strict=True)]
    p = np.full(d.shape, np.nan)
    for i, used in enumerate(methods):
        if used == "exact":
            methods[i], d[i], p[i] = _exact(int(n1[i]), int(n2[i]), float(d[i]))
    asymp = np.array([used == "asymp" for used in methods], dtype=bool)
    if asymp.any():
        p[asymp] = _asymp(d[asymp], n1[asymp], n2[asymp])
    return KsPValues(statistics=d, p_values=p, methods=tuple(methods))


def _method_for(method: str, n1: int, n2: int) -> str:
    if method == "auto":
        return "exact" if max(n1, n2) <= _MAX_AUTO_N else "asymp"
    return method


def _asymp(d: FloatArray, n1: NDArray[np.int64], n2: NDArray[np.int64]) -> FloatArray:
    big = np.maximum(n1, n2).astype(np.float64)
    small = np.minimum(n1, n2).astype(np.float64)
    en = big * small / (big + small)
    with np.errstate(divide="ignore", invalid="ignore"):  # n = 0 (1 vs 1 value): NaN, as scipy
        return np.asarray(np.clip(kstwo_sf(d, np.round(en)), 0.0, 1.0), dtype=np.float64)


def _exact(n1: int, n2: int, d: float) -> tuple[str, float, float]:
    """scipy's exact two-sided p-value (its private routine: the same numbers, by test)."""
    from scipy.stats._stats_py import _attempt_exact_2kssamp

    g = math.gcd(n1, n2)
    if n1 // g >= np.iinfo(np.int32).max / (n2 // g):
        return "asymp", d, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        success, d_exact, prob = _attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
    if not success:
        return "asymp", d, math.nan
    return "exact", float(d_exact), float(np.clip(prob, 0.0, 1.0))


def psi(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    epsilon: float = 1e-4,
    base: float = math.e,
) -> FloatArray:
    """Population stability index over the last axis (bins); one value per leading index.

    Proportions are counts over their sum; a zero proportion becomes ``epsilon``.
    """
    p = _proportions(reference_counts)
    q = _proportions(current_counts)
    p = np.where(p == 0.0, epsilon, p)
    q = np.where(q == 0.0, epsilon, q)
    value = np.sum((q - p) * np.log(q / p), axis=-1) / math.log(base)
    return np.asarray(value, dtype=np.float64)


def js_distance(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, base: float = 2.0
) -> FloatArray:
    """Jensen-Shannon distance over the last axis, as ``scipy.spatial.distance.jensenshannon``."""
    p = _proportions(reference_counts)
    q = _proportions(current_counts)
    mid = (p + q) / 2.0
    divergence = np.sum(special.rel_entr(p, mid), axis=-1) + np.sum(
        special.rel_entr(q, mid), axis=-1
    )
    divergence = divergence / math.log(base)
    return np.asarray(np.sqrt(np.maximum(divergence, 0.0) / 2.0), dtype=np.float64)


def _proportions(counts: ArrayLike) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(values / total, dtype=np.float64)


def chi2_homogeneity(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, correction: bool = True
) -> Chi2Result:
    """Chi-square test that two count vectors come from one distribution over categories.

    Equal to ``scipy.stats.chi2_contingency([reference, current], correction=correction)``
    after dropping categories seen in neither (scipy refuses zero expected counts). With
    one category left (dof 0) the result is statistic 0, p-value 1, as scipy's.
    """
    table = np.vstack(
        [np.asarray(reference_counts, dtype=np.float64), np.asarray(current_counts, np.float64)]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 0 or (table.sum(axis=1) == 0).any():
        raise DriftDataError("a chi-square test needs counts on both sides")
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    dof = table.shape[1] - 1
    if dof == 0:
        return Chi2Result(0.0, 1.0, 0)
    observed = table
    if dof == 1 and correction:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return Chi2Result(statistic, float(special.chdtrc(dof, statistic)), dof)


def adjust_p_values(
    p_values: Sequence[float] | FloatArray, method: Literal["none", "bonferroni", "bh"]
) -> FloatArray:
    """p-values adjusted for testing many columns; NaN (no test) stays NaN and is not counted.

    ``bonferroni``: min(1, p k). ``bh``: Benjamini-Hochberg step-up adjusted p-values
    (``p_(i) k / i``, made monotone from the largest down), so ``adjusted < alpha`` is the
    BH decision at false discovery rate ``alpha``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = p.copy()
    tested = ~np.isnan(p)
    k = int(tested.sum())
    if method == "none" or k == 0:
        return out
    if method == "bonferroni":
        out[tested] = np.minimum(1.0, p[tested] * k)
        return out
    values = p[tested]
    order = np.argsort(values, kind="stable")
    ranked = values[order] * k / np.arange(1, k + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(k)
    adjusted[order] = np.minimum(ranked, 1.0)
    out[tested] = adjusted
    return out
