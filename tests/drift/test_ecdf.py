"""KS and Wasserstein by blocks (``_ecdf``) equal a full merge, whatever the block size.

Small strides make small samples use every path: closed-form blocks, walked blocks, blocks
of one tie group, and walks split into several groups.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mlplatform.drift import _ecdf
from mlplatform.drift._ecdf import ecdf_distances

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_continuous = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
_tied = st.sampled_from([-2.5, -1.0, 0.0, 0.0, 1.0, 3.25])
samples = st.one_of(
    st.lists(_continuous, min_size=1, max_size=80),
    st.lists(_tied, min_size=1, max_size=80),
    st.lists(st.one_of(_continuous, _tied), min_size=1, max_size=80),
)


def _full_merge_ks(a: np.ndarray, b: np.ndarray) -> float:
    """max |m #a<=x - n #b<=x| / (n m) over every value: exact integers, one rounding."""
    values = np.concatenate((a, b))
    t = a.size * np.searchsorted(b, values, "right") - b.size * np.searchsorted(a, values, "right")
    return int(np.abs(t).max()) / (a.size * b.size)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's own, on 1 vs 1 values
@FAST
@given(samples, samples, st.sampled_from([1, 2, 3, 5, 64]))
def test_every_stride_gives_scipys_statistics(a, b, stride):
    # GIVEN two sorted samples and a block size
    x, y = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    # WHEN the distances are computed by blocks
    found = ecdf_distances(x, y, stride)
    # THEN the KS statistic is the full merge's, to the bit, and Wasserstein is scipy's
    assert found.ks == _full_merge_ks(x, y)
    assert found.ks == pytest.approx(stats.ks_2samp(a, b, method="asymp").statistic, abs=1e-12)
    expected = stats.wasserstein_distance(a, b)
    assert found.wasserstein == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.05, 1.0])
def test_walks_split_into_groups_give_the_same_numbers(shift, monkeypatch):
    # GIVEN samples whose walked blocks span several groups of the walk
    rng = np.random.default_rng(3)
    a = np.sort(rng.normal(size=30_000))
    b = np.sort(np.round(rng.normal(shift, 1.0, 20_000), 2))  # ties across the edges
    whole = ecdf_distances(a, b, stride=8)
    # WHEN a group is a few hundred values instead of tens of thousands
    monkeypatch.setattr(_ecdf, "_CHUNK", 300)
    split = ecdf_distances(a, b, stride=8)
    # THEN nothing changes but the rounding of the area, and both are scipy's
    assert split.ks == whole.ks == _full_merge_ks(a, b)
    assert split.wasserstein == pytest.approx(whole.wasserstein, rel=1e-13)
    assert whole.wasserstein == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)


def test_a_shifted_column_is_mostly_closed_form():
    # GIVEN a large sample and a shifted one
    rng = np.random.default_rng(5)
    a, b = np.sort(rng.normal(size=200_000)), np.sort(rng.normal(0.1, 1.0, 150_000))
    # WHEN they are cut into blocks
    blocks = _ecdf._blocks(a, b, _ecdf.STRIDE)
    # THEN few blocks need a merge (the point of the blocks), and the numbers are scipy's
    assert blocks.walk.mean() < 0.05
    found = ecdf_distances(a, b)
    assert found.ks == _full_merge_ks(a, b)
    assert found.wasserstein == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
