"""The ``featurize`` step: split the raw table and fit the feature transformer on the train split.

Columns are typed by dtype: numeric columns (bool excluded) are imputed with the median and
standardised; every other feature column is imputed with the most frequent value and one-hot
encoded, ignoring levels unseen in training. The transformer outputs a dense array.
"""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import log_metrics
from mlplatform.pipelines.dsl import step

__all__ = ["build_transformer", "featurize", "split_columns"]


@step(outputs=("train", "test", "transformer"))
def featurize(
    data: pd.DataFrame, target: str = "target", test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, ColumnTransformer]:
    """Split ``data`` into stratified train and test sets and fit the transformer on train.

    Args:
        data: the validated raw table, target included.
        target: the name of the label column.
        test_size: the fraction of rows held out for testing, in (0, 1).
        seed: random seed of the split.

    Returns:
        The train and test frames (raw columns plus target, index reset) and the
        ``ColumnTransformer`` fitted on the train features only.

    Raises:
        ConfigError: ``test_size`` is outside (0, 1).
        DataValidationError: ``target`` is missing, there are no feature columns, or a
            class is too rare to stratify.
    """
    if not 0.0 < test_size < 1.0:
        raise ConfigError(
            f"test_size must be within (0, 1), got {test_size}", "Pass e.g. -p test_size=0.25."
        )
    _require_target(data, target)
    try:
        train, test = train_test_split(
            data, test_size=test_size, random_state=seed, stratify=data[target]
        )
    except ValueError as exc:
        raise DataValidationError(
            f"cannot split the data stratified by {target!r}: {exc}",
            "Every class needs at least 2 rows in the data, and enough rows for both splits.",
        ) from exc
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    transformer = build_transformer(train.drop(columns=[target]))
    transformer.fit(train.drop(columns=[target]))
    log_metrics({"train_rows": len(train), "test_rows": len(test)})
    return train, test, transformer


def _require_target(data: pd.DataFrame, target: str) -> None:
    if target not in data.columns:
        raise DataValidationError(
            f"target column {target!r} is not in the data",
            f"Pass -p target=<one of: {', '.join(map(str, data.columns))}>.",
        )
    if len(data.columns) < 2:
        raise DataValidationError(
            "the data has no feature columns besides the target",
            "Check the data source; featurize needs at least one feature column.",
        )


def split_columns(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric (bool excluded) and categorical column names, in frame order."""
    numeric = [
        str(name)
        for name, dtype in features.dtypes.items()
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]
    categorical = [str(name) for name in features.columns if str(name) not in numeric]
    return numeric, categorical


def build_transformer(features: pd.DataFrame) -> ColumnTransformer:
    """An unfitted ``ColumnTransformer`` for the columns of ``features``."""
    numeric, categorical = split_columns(features)
    parts = [
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            categorical,
        ),
    ]
    return ColumnTransformer([p for p in parts if p[2]], sparse_threshold=0.0)
