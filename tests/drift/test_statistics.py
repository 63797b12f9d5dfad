"""The statistics equal scipy's on random data, ties and tiny samples included (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlplatform.drift._kolmogorov import kstwo_sf, smirnov_sf
from mlplatform.drift.statistics import (
    adjust_p_values,
    chi2_homogeneity,
    ecdf_distances,
    js_distance,
    ks_p_values,
    psi,
)
from mlplatform.errors import DriftDataError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Samples: continuous values, or a handful of values (many ties within and across samples).
_continuous = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
_tied = st.sampled_from([-2.5, -1.0, 0.0, 0.0, 1.0, 3.25])
samples = st.one_of(
    st.lists(_continuous, min_size=1, max_size=60),
    st.lists(_tied, min_size=1, max_size=60),
    st.lists(st.one_of(_continuous, _tied), min_size=1, max_size=60),
)


def ours(a, b, method="asymp"):
    x, y = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    distances = ecdf_distances(x, y)
    found = ks_p_values([distances.ks], [x.size], [y.size], method=method)
    return distances, float(found.statistics[0]), float(found.p_values[0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's own, on 1 vs 1 values
@FAST
@given(samples, samples)
def test_ks_asymptotic_equals_scipy(a, b):
    distances, _, p = ours(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert distances.ks == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, abs=1e-9, nan_ok=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy falls back to asymp, as we do
@FAST
@given(
    st.lists(st.one_of(_continuous, _tied), min_size=1, max_size=40),
    st.lists(st.one_of(_continuous, _tied), min_size=1, max_size=40),
)
def test_ks_exact_equals_scipy(a, b):
    _, statistic, p = ours(a, b, method="exact")
    expected = stats.ks_2samp(a, b, method="exact")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, abs=1e-9, nan_ok=True)


@FAST
@given(samples, samples)
def test_wasserstein_equals_scipy(a, b):
    distances, _, _ = ours(a, b)
    expected = stats.wasserstein_distance(a, b)
    assert distances.wasserstein == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_auto_method_is_exact_for_small_samples_as_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=300), rng.normal(0.2, size=250)
    _, statistic, p = ours(a, b, method="auto")
    expected = stats.ks_2samp(a, b, method="auto")
    assert (statistic, p) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-12)


def test_large_shifted_samples_match_scipy_on_the_slow_branch():
    # GIVEN 60k vs 40k rows with a small shift: p lands where scipy sums a series term by term
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=60_000), rng.normal(0.02, 1.0, size=40_000)
    distances, _, p = ours(a, b)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert 1e-6 < expected.pvalue < 0.05
    assert distances.ks == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, abs=1e-12, rel=1e-9)


@pytest.mark.parametrize(
    ("n", "nx2"), [(1001, 2.2), (5000, 3.0), (20000, 10.0), (50000, 80.0), (50000, 300.0)]
)
def test_smirnov_lattice_sum_equals_scipy(n, nx2):
    from scipy.special import smirnov

    x = math.sqrt(nx2 / n)
    assert smirnov_sf(n, x) == pytest.approx(smirnov(n, x), rel=1e-11, abs=1e-300)


def test_kstwo_sf_routes_every_other_branch_to_scipy():
    d = np.array([0.0, 1e-4, 0.003, 0.02, 0.3, 0.6, 1.0, 0.01, 0.2])
    n = np.array([10.0, 5000, 5000, 5000, 5000, 5000, 5000, 120, 2_000_000])
    assert kstwo_sf(d, n) == pytest.approx(stats.kstwo.sf(d, n), abs=1e-13)


def test_an_empty_sample_is_refused():
    with pytest.raises(DriftDataError, match="empty sample"):
        ecdf_distances(np.array([1.0]), np.array([]))


counts = st.lists(st.integers(0, 50), min_size=1, max_size=12)


@FAST
@given(counts, counts, st.booleans())
def test_chi2_homogeneity_equals_chi2_contingency(ref, cur, correction):
    size = max(len(ref), len(cur))
    ref, cur = ref + [0] * (size - len(ref)), cur + [0] * (size - len(cur))
    table = np.array([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] == 0 or (table.sum(axis=1) == 0).any():
        with pytest.raises(DriftDataError):
            chi2_homogeneity(ref, cur, correction=correction)
        return
    found = chi2_homogeneity(ref, cur, correction=correction)
    expected = stats.chi2_contingency(table, correction=correction)
    assert found.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert found.p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert found.dof == expected.dof


positive_counts = st.lists(st.integers(0, 1000), min_size=2, max_size=12).filter(
    lambda c: sum(c) > 0
)


@FAST
@given(positive_counts, positive_counts, st.sampled_from([2.0, math.e, 10.0]))
def test_js_distance_equals_scipy(ref, cur, base):
    size = min(len(ref), len(cur))
    ref, cur = ref[:size], cur[:size]
    if sum(ref) == 0 or sum(cur) == 0:
        return
    found = float(js_distance(ref, cur, base=base))
    assert found == pytest.approx(jensenshannon(ref, cur, base=base), abs=1e-12)


def test_psi_is_the_stated_formula_with_epsilon_for_empty_bins():
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    p = np.array([0.5, 0.3, 0.2, 1e-4])
    q = np.array([0.4, 0.3, 0.2, 0.1])
    expected = float(np.sum((q - p) * np.log(q / p)))
    assert float(psi(ref, cur, epsilon=1e-4)) == pytest.approx(expected, rel=1e-12)
    assert float(psi(ref, cur, epsilon=1e-4, base=2)) == pytest.approx(
        expected / math.log(2), rel=1e-12
    )
    assert float(psi(ref, ref)) == 0.0


def test_many_columns_at_once_along_the_last_axis():
    ref = np.array([[10, 20, 30], [5, 5, 5]])
    cur = np.array([[30, 20, 10], [5, 5, 5]])
    assert js_distance(ref, cur).shape == (2,)
    assert psi(ref, cur)[1] == 0.0


@FAST
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_benjamini_hochberg_equals_scipy(p_values):
    found = adjust_p_values(p_values, "bh")
    expected = stats.false_discovery_control(p_values, method="bh")
    assert found == pytest.approx(expected, abs=1e-12)


def test_bonferroni_and_untested_columns():
    found = adjust_p_values([0.01, np.nan, 0.2, 0.5], "bonferroni")
    assert found[0] == pytest.approx(0.03)
    assert np.isnan(found[1])
    assert found[2:] == pytest.approx([0.6, 1.0])
    assert adjust_p_values([0.01, 0.2], "none") == pytest.approx([0.01, 0.2])


@pytest.mark.parametrize("values", ["tied", "continuous", "constant"])
def test_samples_larger_than_a_merge_chunk_equal_scipy(values):
    # GIVEN samples that span several cache chunks, with tie groups across chunk boundaries
    rng = np.random.default_rng(11)
    draw = {
        "tied": lambda size: rng.integers(0, 40, size).astype(float),
        "continuous": lambda size: rng.normal(size=size),
        "constant": lambda size: np.full(size, 2.5),
    }[values]
    a, b = draw(150_000), draw(90_000) + (0.0 if values == "constant" else 0.3)
    distances, _, _ = ours(a, b)
    assert distances.ks == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert distances.wasserstein == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12
    )
