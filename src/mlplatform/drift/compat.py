"""Evidently compatibility: Evidently's definitions, so that numbers can be compared.

``DriftConfig.evidently()`` (or ``mlp drift check --mode evidently``) reproduces the tests
of Evidently's data drift preset (its legacy ``stattests``, which the 0.7 preset runs):

- the test per column follows Evidently's default rule: with at most 1,000 reference
  values, KS (``p <= 0.05``; scipy's ``auto`` method) for numbers with more than 5 distinct
  values, else chi-square (more than 2 values) or a two-proportion z-test; above 1,000,
  the Wasserstein distance over ``max(std, 0.001)`` (``>= 0.1``) for numbers with more than 5
  distinct values, else the Jensen-Shannon distance (``>= 0.1``);
- Jensen-Shannon and PSI bins: for numbers with more than 20 distinct reference values,
  ``np.histogram_bin_edges(reference + current, "sturges")``, else one bin per value; JS
  uses the natural log and no epsilon; PSI fills empty bins with ``min/1e6`` (or 1e-4);
- chi-square is the goodness-of-fit test of the current counts against the reference's
  proportions (``scipy.stats.chisquare``), not a test of homogeneity;
- the data set drifts when at least half the columns drift.

Differences that remain: Evidently infers column types itself (integer columns with few
values become categorical; here the profile's kinds hold), and it refuses empty columns
(here they get no verdict and a note). Missing values and infinities are dropped first, by
both.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from mlplatform.drift.binning import histogram_on_sorted
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.result import TestResult
from mlplatform.drift.samples import CategoricalSample, NumericSample, Sample
from mlplatform.drift.scoring import KsPending, Scored, distance_test
from mlplatform.drift.statistics import ecdf_distances, js_distance

__all__ = ["evidently_bins", "evidently_psi", "score_evidently"]

FloatArray = NDArray[np.float64]
_SMALL_REFERENCE = 1000
_FEW_VALUES = 5
_BINNED_ABOVE = 20
_STD_FLOOR = 0.001


def score_evidently(sample: Sample, config: DriftConfig) -> Scored:
    """The tests Evidently would run on this column, and the one it would decide with."""
    if isinstance(sample, NumericSample):
        return _numeric(sample, config)
    return _categorical(sample, config)


def _numeric(sample: NumericSample, config: DriftConfig) -> Scored:
    ref, cur = sample.reference.values, sample.finite
    if ref.size == 0 or cur.size == 0:
        return Scored({}, ("no finite values on one side: Evidently would refuse the column",))
    distances = ecdf_distances(ref, cur)
    norm = max(float(sample.reference.std), _STD_FLOOR)
    tests = {
        "wasserstein": distance_test(
            "wasserstein",
            distances.wasserstein / norm,
            config.wasserstein_threshold,
            raw=distances.wasserstein,
        )
    }
    few = _value_counts(ref, cur) if _distinct(ref) <= _BINNED_ABOVE else None
    ref_pct, cur_pct = _numeric_bins(ref, cur, few)
    tests |= _binned(ref_pct, cur_pct, config)
    decides = _numeric_rule(ref.size, len(few[0]) if few is not None else _FEW_VALUES + 1)
    if decides in ("chi2", "z") and few is not None:
        tests[decides] = _CATEGORY_TESTS[decides](few[1], few[2], config)
    pending = KsPending(distances.ks, int(ref.size), int(cur.size))
    return Scored(tests, (), pending, decides)


def _numeric_rule(reference_count: int, distinct: int) -> str:
    if reference_count <= _SMALL_REFERENCE:
        if distinct <= _FEW_VALUES:
            return "chi2" if distinct > 2 else "z"
        return "ks"
    return "js" if distinct <= _FEW_VALUES else "wasserstein"


def _value_counts(ref: FloatArray, cur: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The distinct values of both samples, with each sample's counts of them."""
    keys = np.union1d(np.unique(ref), np.unique(cur))
    ref_counts = np.searchsorted(ref, keys, "right") - np.searchsorted(ref, keys, "left")
    cur_counts = np.searchsorted(cur, keys, "right") - np.searchsorted(cur, keys, "left")
    return keys, ref_counts.astype(np.float64), cur_counts.astype(np.float64)


def _distinct(sorted_values: FloatArray) -> int:
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1


def _numeric_bins(
    ref: FloatArray, cur: FloatArray, few: tuple[FloatArray, FloatArray, FloatArray] | None
) -> tuple[FloatArray, FloatArray]:
    if few is not None:
        return few[1] / ref.size, few[2] / cur.size
    edges = evidently_bins(ref, cur)
    return (
        histogram_on_sorted(ref, edges) / ref.size,
        histogram_on_sorted(cur, edges) / cur.size,
    )


def evidently_bins(ref: FloatArray, cur: FloatArray) -> FloatArray:
    """``np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")`` of sorted data."""
    low, high = float(min(ref[0], cur[0])), float(max(ref[-1], cur[-1]))
    size = ref.size + cur.size
    width = (high - low) / (math.log2(size) + 1.0)
    count = math.ceil((high - low) / width) if width else 1
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, count + 1, endpoint=True)


def _categorical(sample: CategoricalSample, config: DriftConfig) -> Scored:
    ref = sample.reference_counts.astype(np.float64)
    cur = sample.current_counts.astype(np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return Scored({}, ("no values on one side: Evidently would refuse the column",))
    present = (ref + cur) > 0
    ref, cur = ref[present], cur[present]
    tests = _binned(ref / ref.sum(), cur / cur.sum(), config)
    distinct = int(present.sum())
    if ref.sum() <= _SMALL_REFERENCE:
        decides = "chi2" if distinct > 2 else "z"
        tests[decides] = _CATEGORY_TESTS[decides](ref, cur, config)
    else:
        decides = "js"
    return Scored(tests, (), None, decides)


def _binned(ref_pct: FloatArray, cur_pct: FloatArray, config: DriftConfig) -> dict[str, TestResult]:
    js = float(js_distance(ref_pct, cur_pct, base=config.js_log_base))
    return {
        "psi": distance_test("psi", evidently_psi(ref_pct, cur_pct), config.psi_threshold),
        "js": distance_test("js", js, config.js_threshold),
    }


def evidently_psi(ref_pct: FloatArray, cur_pct: FloatArray) -> float:
    """Evidently's PSI: empty bins get min/1e6 (or 1e-4), natural log."""
    ref_pct, cur_pct = _fill_zeros(ref_pct), _fill_zeros(cur_pct)
    return float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))


def _fill_zeros(shares: FloatArray) -> FloatArray:
    nonzero = shares[shares != 0]
    if nonzero.size == 0 or nonzero.size == shares.size:
        return shares
    smallest = float(nonzero.min())
    return np.where(shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001, shares)


def _chi2(ref: FloatArray, cur: FloatArray, config: DriftConfig) -> TestResult:
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic, p = stats.chisquare(cur, expected)
    return TestResult("chi2", float(statistic), config.alpha, bool(p < config.alpha), float(p))


def _z(ref: FloatArray, cur: FloatArray, config: DriftConfig) -> TestResult:
    """Evidently's z-test: the share of values other than the first (sorted) one."""
    n1, n2 = float(ref.sum()), float(cur.sum())
    if np.count_nonzero(ref) == 1 and np.count_nonzero(cur) == 1 and ref.argmax() == cur.argmax():
        return TestResult("z", 0.0, config.alpha, False, 1.0)
    p1, p2 = (n1 - ref[0]) / n1, (n2 - cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    p = float(2 * (1 - stats.norm.cdf(abs(z))))
    return TestResult("z", float(z), config.alpha, bool(p < config.alpha), p)


_CATEGORY_TESTS = {"chi2": _chi2, "z": _z}
