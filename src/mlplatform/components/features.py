"""The ``featurize`` step: split the raw table and fit the feature transformer on the train split.

The label (``target``), the task and the split are parameters (``components.tasks``,
``components.split``); id columns and a ``time:`` split's column are kept in both frames but
are not features.

Columns are typed by dtype: numeric columns (bool excluded) are imputed with the median and
standardised; every other feature column is imputed with the most frequent value and one-hot
encoded, ignoring levels unseen in training. The transformer outputs a dense array.
"""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlplatform.components.split import split_frame, time_column
from mlplatform.components.tasks import parse_id_columns, require_target, resolve_task
from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import log_metrics, log_params
from mlplatform.pipelines.dsl import step

__all__ = ["build_transformer", "featurize", "model_columns", "split_columns"]


@step(outputs=("train", "test", "transformer"))
def featurize(
    data: pd.DataFrame,
    target: str = "target",
    test_size: float = 0.25,
    seed: int = 0,
    task: str = "auto",
    split: str = "auto",
    id_columns: str = "",
) -> tuple[pd.DataFrame, pd.DataFrame, ColumnTransformer]:
    """Split ``data`` into train and test sets and fit the transformer on train.

    Args:
        data: the validated raw table, target included.
        target: the name of the label column.
        test_size: the fraction of rows held out for testing, in (0, 1).
        seed: random seed of the split.
        task: ``auto``, ``binary``, ``multiclass`` or ``regression`` (``components.tasks``).
        split: ``auto``, ``random``, ``stratified`` or ``time:COLUMN`` (``components.split``).
        id_columns: comma-separated columns that are not features (ids for joins): they stay
            in the train and test frames, the transformer ignores them (and the time column).

    Returns:
        The train and test frames (every raw column, index reset) and the
        ``ColumnTransformer`` fitted on the train features only.

    Raises:
        ConfigError: ``test_size``, ``task`` or ``split`` is not valid.
        DataValidationError: ``target`` or an id or time column is missing, there are no
            feature columns, or the label does not fit the task or split.
    """
    if not 0.0 < test_size < 1.0:
        raise ConfigError(
            f"test_size must be within (0, 1), got {test_size}", "Pass e.g. -p test_size=0.25."
        )
    require_target(data, target)
    unlabelled = int(data[target].isna().sum())
    data = data[data[target].notna()] if unlabelled else data
    ids = parse_id_columns(id_columns, data.columns, target)
    resolved = resolve_task(data[target], task)
    train, test = split_frame(
        data, target=target, task=resolved, split=split, test_size=test_size, seed=seed
    )
    excluded = {target, *ids, *filter(None, [time_column(split)])}
    features = train[[c for c in train.columns if c not in excluded]]
    if features.columns.empty:
        raise DataValidationError(
            "no feature columns are left besides the target, id and time columns",
            "Pass fewer -p id_columns=..., or check the data source.",
        )
    transformer = build_transformer(features).fit(features)
    log_params({"task": resolved, "split": split, "id_columns": ",".join(ids)})
    log_metrics({"train_rows": len(train), "test_rows": len(test), "unlabelled_rows": unlabelled})
    return train, test, transformer


def model_columns(model: object, frame: pd.DataFrame, target: str) -> list[str]:
    """The raw columns ``model`` reads (its transformer's, in frame order), else every
    column of ``frame`` but the target."""
    steps = getattr(model, "named_steps", {})
    names = getattr(steps.get("features"), "feature_names_in_", None)
    if names is None:
        return [str(c) for c in frame.columns if c != target]
    used = {str(n) for n in names}
    return [str(c) for c in frame.columns if str(c) in used]


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
