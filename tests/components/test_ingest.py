"""Tests of the ingest step: bundled, synthetic and file sources."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from mlplatform.components.ingest import SKLEARN_DATASETS, ingest
from mlplatform.errors import ConfigError


@pytest.mark.parametrize("name", sorted(SKLEARN_DATASETS))
def test_bundled_dataset_has_snake_case_features_and_int_target(name: str) -> None:
    # GIVEN a bundled scikit-learn dataset
    # WHEN it is ingested
    frame = ingest(f"sklearn://{name}")
    # THEN column names are unique snake_case, the target is last and integer, nothing is null
    assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", c) for c in frame.columns)
    assert frame.columns.is_unique
    assert frame.columns[-1] == "target"
    assert frame["target"].dtype == "int64"
    assert frame["target"].nunique() >= 2
    assert not frame.isna().any().any()


def test_iris_names_keep_units_readable() -> None:
    # GIVEN iris, whose names are like "sepal length (cm)"
    # WHEN ingested
    frame = ingest("sklearn://iris")
    # THEN the names are cleaned, not dropped
    assert list(frame.columns[:2]) == ["sepal_length_cm", "sepal_width_cm"]


def test_synthetic_has_numeric_and_categorical_columns() -> None:
    # GIVEN the synthetic classification source
    # WHEN 200 rows are generated
    frame = ingest("synthetic://classification", rows=200, seed=3)
    # THEN it has f00..f19, two categorical columns with 4 and 3 levels, and a binary target
    assert list(frame.columns) == [f"f{i:02d}" for i in range(20)] + ["region", "plan", "target"]
    assert len(frame) == 200
    assert frame["region"].nunique() == 4
    assert frame["plan"].nunique() == 3
    assert sorted(frame["target"].unique()) == [0, 1]


def test_synthetic_is_byte_identical_for_a_seed_and_differs_across_seeds() -> None:
    # GIVEN two generations with the same seed and one with another seed
    first = ingest("synthetic://classification", rows=100, seed=7)
    again = ingest("synthetic://classification", rows=100, seed=7)
    other = ingest("synthetic://classification", rows=100, seed=8)
    # WHEN they are serialised
    # THEN the same seed gives the same bytes, another seed different data
    assert first.to_parquet() == again.to_parquet()
    assert not first.equals(other)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
@pytest.mark.parametrize("as_url", [False, True])
def test_file_sources_read_back_what_was_written(tmp_path: Path, suffix: str, as_url: bool) -> None:
    # GIVEN a small table written to a CSV or Parquet file
    frame = ingest("synthetic://classification", rows=30, seed=1)
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    # WHEN it is ingested by plain path or file:// URL
    loaded = ingest(path.as_uri() if as_url else str(path))
    # THEN the same table comes back
    pd.testing.assert_frame_equal(loaded, frame, check_exact=False)


def test_rows_is_ignored_for_files(tmp_path: Path) -> None:
    # GIVEN a 30-row CSV
    path = tmp_path / "data.csv"
    ingest("synthetic://classification", rows=30).to_csv(path, index=False)
    # WHEN ingested with rows=5
    # THEN every row is read
    assert len(ingest(str(path), rows=5)) == 30


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("sklearn://titanic", "no bundled dataset named 'titanic'"),
        ("synthetic://regression", "no synthetic generator named 'regression'"),
        ("ftpx://host/data.csv", "unknown URL scheme 'ftpx'"),
        ("data/table.xlsx", "unknown file suffix '.xlsx'"),
    ],
)
def test_unknown_source_is_a_config_error_listing_what_is_supported(
    source: str, problem: str
) -> None:
    # GIVEN an unsupported source
    # WHEN it is ingested
    with pytest.raises(ConfigError) as info:
        ingest(source)
    # THEN the error names the source and the problem, and lists the supported sources
    assert repr(source) in info.value.headline
    assert problem in info.value.headline
    assert "sklearn://breast_cancer" in info.value.hint
    assert "synthetic://classification" in info.value.hint


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    # GIVEN a path that does not exist
    # WHEN it is ingested
    # THEN a ConfigError says so
    with pytest.raises(ConfigError, match="does not exist"):
        ingest(str(tmp_path / "nope.parquet"))


def test_too_few_synthetic_rows_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="rows=3"):
        ingest("synthetic://classification", rows=3)


def test_ingest_declares_retries_and_resources() -> None:
    # GIVEN the step object
    # THEN it retries twice and asks for 1 CPU, 2Gi
    assert ingest.retries.count == 2
    assert (ingest.resources.cpu, ingest.resources.memory) == (1, "2Gi")
