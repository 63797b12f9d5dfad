"""Tests of the task choice (auto and explicit), the splits and the champion decision rule."""

from __future__ import annotations

import pandas as pd
import pytest
from _user_tables import multiclass_table

from mlplatform.components.champion import decide
from mlplatform.components.metrics import build_gate
from mlplatform.components.split import split_frame
from mlplatform.components.tasks import resolve_task
from mlplatform.errors import ConfigError, DataValidationError


@pytest.mark.parametrize(
    ("labels", "task"),
    [
        (pd.Series([0, 1, 1, 0]), "binary"),
        (pd.Series(["yes", "no", "no"]), "binary"),
        (pd.Series([True, False, True]), "binary"),
        (pd.Series(["a", "b", "c", "a"]), "multiclass"),
        (pd.Series([1, 2, 3, 4, 5] * 3), "multiclass"),
        (pd.Series([0.5, 1.25, 3.0, 2.0]), "regression"),
        (pd.Series(range(100)), "regression"),  # whole numbers, but more than 20 values
    ],
)
def test_auto_decides_from_dtype_and_cardinality(labels: pd.Series, task: str) -> None:
    assert resolve_task(labels.rename("y"), "auto") == task


def test_explicit_tasks_are_checked_against_the_label() -> None:
    assert resolve_task(pd.Series([1, 2, 3] * 5, name="y"), "regression") == "regression"
    assert resolve_task(pd.Series([0, 1] * 5, name="y"), "multiclass") == "multiclass"
    with pytest.raises(DataValidationError, match="needs 2 classes"):
        resolve_task(pd.Series(["a", "b", "c"], name="y"), "binary")
    with pytest.raises(DataValidationError, match="needs a numeric label"):
        resolve_task(pd.Series(["a", "b"], name="y"), "regression")
    with pytest.raises(DataValidationError, match="1 class"):
        resolve_task(pd.Series([1, 1, 1], name="y"), "auto")
    with pytest.raises(ConfigError, match="unknown task 'classify'"):
        resolve_task(pd.Series([0, 1], name="y"), "classify")


def test_a_time_split_puts_the_latest_rows_in_test_without_shuffling() -> None:
    # GIVEN rows in random date order
    table = multiclass_table(200).sample(frac=1.0, random_state=1)
    # WHEN split by time
    train, test = split_frame(
        table, target="species", task="multiclass", split="time:observed", test_size=0.25, seed=0
    )
    # THEN every test row is later than every train row, in time order, none lost
    assert train["observed"].max() < test["observed"].min()
    assert test["observed"].is_monotonic_increasing
    assert (len(train), len(test)) == (150, 50)


def test_stratified_keeps_the_rare_class_on_both_sides_random_does_not_have_to() -> None:
    table = multiclass_table(400)
    _, test = split_frame(
        table, target="species", task="multiclass", split="auto", test_size=0.25, seed=0
    )
    share = table["species"].value_counts(normalize=True)["chinstrap"]
    assert abs(test["species"].value_counts(normalize=True)["chinstrap"] - share) < 0.02
    with pytest.raises(ConfigError, match="Pass -p split=random"):
        split_frame(table, target="species", task="regression", split="stratified",
                    test_size=0.25, seed=0)  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "margin", "ours", "theirs", "beats"),
    [
        ("accuracy", 0.0, 0.91, 0.90, True),
        ("accuracy", 0.0, 0.90, 0.90, False),
        ("accuracy", 0.02, 0.91, 0.90, False),
        ("rmse", 0.0, 10.0, 12.0, True),
        ("rmse", 1.0, 11.5, 12.0, False),
        ("r2", 0.0, 0.4, float("nan"), False),
    ],
)
def test_the_decision_rule_knows_which_way_is_better(metric, margin, ours, theirs, beats) -> None:
    assert decide(metric, margin, ours, theirs)[0] is beats


def test_min_accuracy_is_a_shorthand_for_classification_and_ignored_for_regression() -> None:
    assert str(build_gate("binary", "roc_auc>=0.8", 0.7, 0.0)) == "roc_auc>=0.8,accuracy>=0.7"
    assert build_gate("multiclass", "", 0.0, 0.0) is None
    assert str(build_gate("regression", "", 0.7, 0.0)) == "r2>0"
    assert str(build_gate("regression", "rmse<50", 0.7, 0.0)) == "rmse<50"
