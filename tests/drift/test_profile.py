"""Reference profiles: what they keep, a file round trip, and files that are not profiles."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from mlplatform.drift import (
    CategoricalProfile,
    NumericProfile,
    build_profile,
    is_profile_file,
    load_profile,
    save_profile,
)
from mlplatform.errors import DriftDataError, DriftSchemaError, ProfileError


def test_numeric_columns_keep_sorted_finite_values_and_what_was_left_out():
    # GIVEN a column with missing values and infinities
    data = pd.DataFrame({"x": [3.0, np.nan, 1.0, np.inf, 2.0, -np.inf, None, 2.0]})

    # WHEN it is profiled
    col = build_profile(data).column("x")

    # THEN the finite values are kept sorted and the rest is counted
    assert isinstance(col, NumericProfile)
    assert col.values.tolist() == [1.0, 2.0, 2.0, 3.0]
    assert (col.rows, col.missing, col.positive_infinite, col.negative_infinite) == (8, 2, 1, 1)
    assert col.mean == pytest.approx(2.0)
    assert col.std == pytest.approx(np.std([1.0, 2.0, 2.0, 3.0]))
    assert col.bin_counts.sum() == 4


def test_quantile_bins_hold_about_equal_shares_and_collapse_on_ties():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=10_000), "flag": rng.integers(0, 2, 10_000)})
    profile = build_profile(data, bins=10)
    x = profile.column("x")
    assert isinstance(x, NumericProfile)
    assert x.edges.size == 9
    assert x.bin_counts.tolist() == [1000] * 10
    flag = profile.column("flag")
    assert isinstance(flag, NumericProfile)
    assert flag.edges.size < 9  # two distinct values: duplicate edges dropped
    assert flag.bin_counts.sum() == 10_000


def test_categories_are_labels_with_counts_and_missing_is_counted():
    data = pd.DataFrame(
        {
            "plan": ["a", "b", None, "a", np.nan],
            "flag": [True, False, True, True, False],
            "code": [1, 2, 2, 3, 3],
        }
    )
    profile = build_profile(data, categorical=["code"])
    plan = profile.column("plan")
    assert isinstance(plan, CategoricalProfile)
    assert dict(zip(plan.categories, plan.counts.tolist(), strict=True)) == {"a": 2, "b": 1}
    assert plan.missing == 2
    assert profile.schema == {"plan": "categorical", "flag": "categorical", "code": "categorical"}
    code = profile.column("code")
    assert isinstance(code, CategoricalProfile)
    assert set(code.categories) == {"1", "2", "3"}


def test_a_profile_survives_a_file_round_trip(tmp_path, reference):
    # GIVEN a profile of mixed columns
    profile = build_profile(reference, source="train.parquet")

    # WHEN saved and loaded
    path = save_profile(profile, tmp_path / "ref")
    loaded = load_profile(path)

    # THEN it is the same, and the file is recognised as a profile
    assert path.name == "ref.npz"
    assert is_profile_file(path)
    assert loaded.schema == profile.schema
    assert (loaded.rows, loaded.bins, loaded.source) == (2000, 10, "train.parquet")
    for name, col in profile.columns.items():
        again = loaded.column(name)
        if isinstance(col, NumericProfile):
            assert isinstance(again, NumericProfile)
            np.testing.assert_array_equal(again.values, col.values)
            np.testing.assert_array_equal(again.edges, col.edges)
            assert again.std == col.std
        else:
            assert isinstance(again, CategoricalProfile)
            assert again.categories == col.categories
            np.testing.assert_array_equal(again.counts, col.counts)


def test_unsupported_dtypes_are_named_or_skipped_on_request():
    data = pd.DataFrame({"x": [1.0, 2.0], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(DriftSchemaError, match=r"when \(datetime64"):
        build_profile(data)
    profile = build_profile(data, on_unsupported="skip")
    assert list(profile.columns) == ["x"]
    assert "when" in profile.skipped


def test_empty_data_unknown_columns_and_too_few_bins_are_refused():
    with pytest.raises(DriftDataError, match="no rows"):
        build_profile(pd.DataFrame({"x": []}))
    with pytest.raises(DriftSchemaError, match="not in the reference data: y"):
        build_profile(pd.DataFrame({"x": [1.0]}), columns=["y"])
    with pytest.raises(DriftDataError, match="bins must be at least 2"):
        build_profile(pd.DataFrame({"x": [1.0]}), bins=1)


def test_files_that_are_not_profiles_say_so(tmp_path):
    with pytest.raises(ProfileError, match="no profile file"):
        load_profile(tmp_path / "missing.npz")
    text = tmp_path / "data.csv"
    text.write_text("x\n1\n")
    assert not is_profile_file(text)
    with pytest.raises(ProfileError, match="not an mlplatform drift profile"):
        load_profile(text)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ProfileError, match="not an mlplatform drift profile"):
        load_profile(other)


def test_a_newer_or_corrupt_profile_is_refused(tmp_path, reference):
    path = save_profile(build_profile(reference), tmp_path / "ref.npz")
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    meta = np.load(path)["__profile__"].tobytes().decode().replace('"version": 1', '"version": 99')
    newer = tmp_path / "newer.npz"
    arrays = {k[:-4]: np.load(path)[k[:-4]] for k in entries if k != "__profile__.npy"}
    np.savez(newer, __profile__=np.frombuffer(meta.encode(), dtype=np.uint8), **arrays)
    with pytest.raises(ProfileError, match="version 99"):
        load_profile(newer)
    broken = tmp_path / "broken.npz"
    del arrays["c0.values"]
    np.savez(broken, __profile__=np.load(path)["__profile__"], **arrays)
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(broken)
