"""Tests of the featurize step: stratified split and a transformer fitted on train rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler

from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.errors import ConfigError, DataValidationError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = ingest("synthetic://classification", rows=300, seed=0)
    # imbalance the classes so stratification is visible
    return frame[(frame["target"] == 1) | (frame.index % 3 == 0)].reset_index(drop=True)


def _scaler(transformer: ColumnTransformer) -> StandardScaler:
    return transformer.named_transformers_["numeric"][-1]


def test_split_keeps_raw_columns_and_every_row_once(data: pd.DataFrame) -> None:
    # GIVEN a raw table
    # WHEN it is featurized
    train, test, _ = featurize(data, test_size=0.25, seed=0)
    # THEN both splits keep the raw columns and together hold every row exactly once
    assert list(train.columns) == list(data.columns) == list(test.columns)
    assert len(test) == pytest.approx(0.25 * len(data), abs=1)
    together = pd.concat([train, test]).sort_values(list(data.columns)).reset_index(drop=True)
    expected = data.sort_values(list(data.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, expected)


def test_transformer_is_fitted_on_train_rows_only(data: pd.DataFrame) -> None:
    # GIVEN a split and its transformer
    train, _, transformer = featurize(data, seed=0)
    numeric = [f"f{i:02d}" for i in range(20)]
    # WHEN the scaler's statistics are read
    mean = _scaler(transformer).mean_
    # THEN they are the train means, not the full-data means
    np.testing.assert_allclose(mean, train[numeric].mean().to_numpy())
    assert not np.allclose(mean, data[numeric].mean().to_numpy())


def test_split_is_stratified(data: pd.DataFrame) -> None:
    # GIVEN imbalanced classes
    share = data["target"].mean()
    # WHEN split
    train, test, _ = featurize(data, seed=1)
    # THEN each split keeps the class share (to within one row)
    assert abs(train["target"].sum() - share * len(train)) <= 1
    assert abs(test["target"].sum() - share * len(test)) <= 1


def test_categoricals_are_one_hot_and_unseen_levels_ignored(data: pd.DataFrame) -> None:
    # GIVEN the transformer of a table with region (4 levels) and plan (3 levels)
    _, test, transformer = featurize(data, seed=0)
    # WHEN it transforms rows with an unseen level
    rows = test.drop(columns=["target"]).head(2).assign(region="mars")
    out = transformer.transform(rows)
    # THEN it gives 20 scaled + 7 one-hot columns, all zeros for the unseen level
    assert out.shape == (2, 27)
    names = list(transformer.get_feature_names_out())
    region = [i for i, n in enumerate(names) if n.startswith("categorical__region_")]
    assert len(region) == 4
    assert not out[:, region].any()


def test_same_seed_gives_identical_splits(data: pd.DataFrame) -> None:
    first, _, _ = featurize(data, seed=5)
    again, _, _ = featurize(data, seed=5)
    other, _, _ = featurize(data, seed=6)
    assert first.to_parquet() == again.to_parquet()
    assert not first.equals(other)


def test_missing_target_is_a_data_validation_error_naming_it(data: pd.DataFrame) -> None:
    # GIVEN data without the label column "churned"
    # WHEN featurized with target="churned"
    # THEN the error names the missing column
    with pytest.raises(DataValidationError, match="'churned'"):
        featurize(data, target="churned")


def test_test_size_out_of_range_is_a_config_error(data: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="test_size"):
        featurize(data, test_size=1.5)


def test_a_class_too_rare_to_stratify_is_a_data_validation_error(data: pd.DataFrame) -> None:
    rare = pd.concat([data, data.head(1).assign(target=7)], ignore_index=True)
    with pytest.raises(DataValidationError, match="stratified"):
        featurize(rare)
