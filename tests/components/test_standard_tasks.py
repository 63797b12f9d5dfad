"""The standard pipeline on users' own tables: regression, multiclass from CSV and Parquet
with a label not named target, and a champion comparison that the cache cannot make stale."""

from __future__ import annotations

import pytest
from _user_tables import multiclass_table

from _mlflow_store import sqlite_store
from mlplatform.artifacts.materializers import load
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.standard import standard_training
from mlplatform.pipelines.local import LocalExecutor, PipelineRunResult, RunOptions
from mlplatform.tracking import champion, get_version, set_alias


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    return sqlite_store(tmp_path_factory, tmp_path)


@pytest.fixture
def run(tmp_path, tracking_uri):
    """Run the standard pipeline in-process against one store and one registry."""
    store = ArtifactStore(tmp_path / "store")

    def go(**params: object) -> PipelineRunResult:
        options = RunOptions(in_process=True, env={"MLFLOW_TRACKING_URI": tracking_uri})
        return LocalExecutor(store, options).run(standard_training.graph, params)

    go.store = store  # type: ignore[attr-defined]
    return go


def result_of(run, outcome: PipelineRunResult, node: str) -> dict:
    return load(run.store, outcome.output(node))


def test_regression_on_the_bundled_diabetes_data_goes_to_registration(run, tracking_uri):
    # WHEN the standard pipeline trains on sklearn's regression data with a gate on R²
    outcome = run(source="sklearn://diabetes", model="linear", gate="r2>=0.3")

    # THEN auto chose regression, the metrics are RMSE, MAE and R², and the version is champion
    evaluation = result_of(run, outcome, "evaluate")
    assert evaluation["task"] == "regression"
    assert set(evaluation["metrics"]) == {"rmse", "mae", "r2"}
    assert evaluation["gate"] == {"passed": True, "failures": [], "gate": "r2>=0.3"}
    registered = result_of(run, outcome, "register")
    assert registered["promoted"] is True
    assert registered["reason"].startswith("gate passed; first champion (r2 0.")
    info = get_version("standard-model", 1, tracking_uri=tracking_uri)
    assert info.tags["mlplatform.task"] == "regression"
    assert outcome.steps["train"].params["model"] == "linear"


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_multiclass_table_with_its_own_label_goes_to_registration(
    run, tmp_path, tracking_uri, suffix
):
    # GIVEN a table with a 'species' label, string categoricals, gaps and a rare class
    table = multiclass_table()
    path = tmp_path / f"penguins{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)

    # WHEN it is trained as it is, with an id column and a time split
    outcome = run(
        source=str(path),
        target="species",
        id_columns="animal_id",
        split="time:observed",
        model="linear",
    )

    # THEN the task is multiclass, measured by accuracy, macro-F1 and log loss
    evaluation = result_of(run, outcome, "evaluate")
    assert evaluation["task"] == "multiclass"
    assert {"accuracy", "f1_macro", "log_loss"} <= set(evaluation["metrics"])
    assert evaluation["metrics"]["accuracy"] > 0.8
    # the test rows are the latest ones and keep their ids; ids and dates are not features
    test = load(run.store, outcome.output("featurize", "test"))
    train = load(run.store, outcome.output("featurize", "train"))
    assert train["observed"].max() < test["observed"].min()
    assert "animal_id" in test.columns
    info = get_version("standard-model", 1, tracking_uri=tracking_uri)
    assert info.tags["mlplatform.task"] == "multiclass"
    model = load(run.store, outcome.output("train"))
    assert set(model.named_steps["features"].feature_names_in_) == {
        "bill_length",
        "flipper_length",
        "body_mass",
        "island",
        "sex",
    }
    assert champion("standard-model", tracking_uri=tracking_uri).version == 1


def test_the_champion_is_part_of_the_evaluate_key(run, tracking_uri):
    # GIVEN v1, evaluated when there was no champion, now champion; v2 registered, not promoted
    first = run(source="sklearn://breast_cancer", model="linear")
    assert result_of(run, first, "evaluate")["champion"] is None
    assert result_of(run, first, "register")["version"] == 1
    run(source="sklearn://breast_cancer", model="random_forest", promote=False)
    # a repeat is cached: its champion (v1) is the model itself, as good as none
    again = run(source="sklearn://breast_cancer", model="linear")
    assert again.steps["evaluate"].status == "cached"

    # WHEN the champion moves to v2 behind the cache's back, and the run is repeated
    set_alias("standard-model", "champion", 2, tracking_uri=tracking_uri)
    moved = run(source="sklearn://breast_cancer", model="linear")

    # THEN evaluate runs again (train stays cached) and compares with v2
    assert moved.steps["train"].status == "cached"
    assert moved.steps["evaluate"].status == "ran"
    assert result_of(run, moved, "evaluate")["champion"]["version"] == 2


def test_a_champion_of_another_task_is_not_comparable(run, tracking_uri):
    # GIVEN a classification champion of the model name
    run(source="sklearn://breast_cancer", model="linear")

    # WHEN a regression is trained under the same name
    outcome = run(source="sklearn://breast_cancer", task="regression", model="linear")

    # THEN the champion is recorded as not comparable, and nothing is promoted
    compared = result_of(run, outcome, "evaluate")["champion"]
    assert compared["comparable"] is False
    assert "not comparable" in compared["reason"]
    registered = result_of(run, outcome, "register")
    assert registered["promoted"] is False
    assert "no automatic promotion" in registered["reason"]
    assert champion("standard-model", tracking_uri=tracking_uri).version == 1
