"""Tests of the evaluate step: holdout metrics, the quality gate, the champion comparison."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

from _mlflow_store import sqlite_store
from mlplatform.components.evaluate import evaluate
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.train import train
from mlplatform.errors import ConfigError, DataValidationError
from mlplatform.pipelines.context import StepContext, running
from mlplatform.tracking import promote, register_model


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame, Pipeline]:
    train_frame, test_frame, transformer = featurize(
        ingest("synthetic://classification", rows=300, seed=0)
    )
    return train_frame, test_frame, train(train_frame, transformer, model="logreg")


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path, monkeypatch) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    uri = sqlite_store(tmp_path_factory, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def no_tracking(monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def crown(uri: str, split, model: Pipeline) -> None:
    """Register ``model`` as champion of 'churn'."""
    train_frame, _, _ = split
    registered = register_model(
        model,
        "churn",
        tracking_uri=uri,
        signature_input=train_frame.drop(columns=["target"]),
        tags={},
        model_digest=f"sha256:champion-{id(model)}",
        metrics={"accuracy": 0.99},  # what it once measured elsewhere: not used
    )
    promote("churn", "champion", registered.version, tracking_uri=uri, user="t", reason="t")


@pytest.fixture(scope="module")
def weak(split) -> Pipeline:
    """A model trained on 30 rows with heavy regularisation: worse than the split's."""
    train_frame, _, model = split
    transformer = model.named_steps["features"]
    return train(train_frame.head(30), transformer, model="logreg", hyperparams={"C": 0.001})


def test_a_good_model_passes_the_gate_with_every_metric(split, no_tracking):
    # GIVEN a logistic regression that separates the synthetic data well
    _, test_frame, model = split

    # WHEN it is evaluated on the holdout split
    result = evaluate(model, test_frame, min_accuracy=0.7, min_f1=0.5)

    # THEN every metric is a plain float in range, the gate passes, and it is JSON-able
    metrics = result["metrics"]
    assert set(metrics) == {
        *("accuracy", "f1_macro", "f1_weighted", "log_loss"),
        *("roc_auc", "pr_auc", "f1"),
    }
    assert all(type(v) is float for v in metrics.values())
    assert 0.7 < metrics["accuracy"] <= 1.0
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert result["gate"] == {
        "passed": True,
        "failures": [],
        "gate": "accuracy>=0.7,f1_macro>=0.5",
    }
    assert result["task"] == "binary"
    assert result["champion"] is None
    assert result["test_rows"] == len(test_frame)
    assert json.loads(json.dumps(result)) == result


def test_a_model_below_the_thresholds_fails_the_gate_with_readable_failures(split, no_tracking):
    # GIVEN a model that always predicts the majority class
    train_frame, test_frame, _ = split
    features, labels = train_frame.drop(columns=["target"]), train_frame["target"]
    dummy = DummyClassifier(strategy="most_frequent").fit(features, labels)

    # WHEN it is evaluated with demanding thresholds
    result = evaluate(dummy, test_frame, min_accuracy=0.9, min_f1=0.6)

    # THEN the gate fails and names each metric below its threshold
    assert result["gate"]["passed"] is False
    failures = result["gate"]["failures"]
    assert len(failures) == 2
    assert re.fullmatch(r"accuracy 0\.\d+ is not >= 0\.9", failures[0])
    assert re.fullmatch(r"f1_macro 0\.\d+ is not >= 0\.6", failures[1])


def test_metrics_are_logged_for_tracking_inside_a_pipeline_run(split, no_tracking):
    # GIVEN the step running inside a pipeline run context
    _, test_frame, model = split
    context = StepContext(pipeline="p", run_id="r", node="evaluate", cache_key="k")

    # WHEN it is evaluated
    with running(context) as report:
        result = evaluate(model, test_frame)

    # THEN the metrics it returns are the ones it logged
    assert report.metrics == result["metrics"]


def test_a_better_model_beats_the_champion_scored_on_the_same_test_set(split, weak, tracking_uri):
    # GIVEN a weak champion (whose stored accuracy, 0.99, was measured elsewhere)
    crown(tracking_uri, split, weak)
    _, test_frame, model = split

    # WHEN a good model is evaluated against it
    result = evaluate(model, test_frame, model_name="churn")

    # THEN the champion was scored on this test set, side by side, and the model beats it
    compared = result["champion"]
    ours = result["metrics"]["accuracy"]
    theirs = compared["champion_metrics"]["accuracy"]
    assert (compared["version"], compared["comparable"], compared["metric"]) == (
        1,
        True,
        "accuracy",
    )
    assert (compared["challenger"], compared["champion"]) == (ours, theirs)
    assert theirs < ours
    assert theirs != 0.99
    assert compared["beats_champion"] is True
    assert compared["reason"] == f"accuracy {ours:.4f} > {theirs:.4f} (champion v1, same test set)"


def test_a_worse_model_does_not_beat_the_champion(split, weak, tracking_uri):
    # GIVEN a good champion
    _, test_frame, model = split
    crown(tracking_uri, split, model)

    # WHEN the weak model is evaluated against it, THEN it does not beat it
    result = evaluate(weak, test_frame, model_name="churn")
    assert result["champion"]["comparable"] is True
    assert result["champion"]["beats_champion"] is False


def test_a_margin_and_another_metric_decide(split, weak, tracking_uri):
    # GIVEN a weak champion, and a margin larger than any gain
    crown(tracking_uri, split, weak)
    _, test_frame, model = split

    # WHEN compared on log loss (lower is better) with a margin of 10
    result = evaluate(model, test_frame, model_name="churn", compare="log_loss", margin=10.0)

    # THEN the better model does not clear the margin, and the reason says so
    compared = result["champion"]
    assert (compared["metric"], compared["margin"], compared["beats_champion"]) == (
        "log_loss",
        10.0,
        False,
    )
    assert "- margin 10" in compared["reason"]


def test_a_champion_that_needs_other_columns_is_not_comparable(split, tracking_uri):
    # GIVEN a champion trained on a column the new test set no longer has
    crown(tracking_uri, split, split[2])
    raw = ingest("synthetic://classification", rows=300, seed=0).drop(columns=["f00"])
    train_frame, test_frame, transformer = featurize(raw)
    model = train(train_frame, transformer, model="logreg")

    # WHEN a model is evaluated on data without that column
    result = evaluate(model, test_frame, model_name="churn")

    # THEN the champion is recorded as not comparable, saying why
    compared = result["champion"]
    assert compared["comparable"] is False
    assert compared["beats_champion"] is False
    assert compared["reason"] == (
        "champion v1 is not comparable: its signature needs column(s) the data lacks: f00"
    )


def test_without_a_champion_the_comparison_is_empty(split, tracking_uri):
    _, test_frame, model = split
    assert evaluate(model, test_frame, model_name="churn")["champion"] is None


def test_a_gate_on_any_metric_and_bad_gates(split, no_tracking):
    _, test_frame, model = split
    # a gate on ROC AUC, with min_accuracy switched off
    result = evaluate(model, test_frame, gate="roc_auc>=0.99", min_accuracy=0)
    assert result["gate"]["gate"] == "roc_auc>=0.99"
    assert result["gate"]["passed"] is (result["metrics"]["roc_auc"] >= 0.99)
    with pytest.raises(ConfigError, match="not a binary metric"):
        evaluate(model, test_frame, gate="r2>=0.4")
    with pytest.raises(ConfigError, match="is not METRIC OP NUMBER"):
        evaluate(model, test_frame, gate="accuracy=>0.5")
    with pytest.raises(ConfigError, match="compare metric 'r2' is not a binary metric"):
        evaluate(model, test_frame, compare="r2")


def test_bad_thresholds_and_a_missing_target_are_reported(split, no_tracking):
    _, test_frame, model = split
    with pytest.raises(ConfigError, match="min_accuracy must be within"):
        evaluate(model, test_frame, min_accuracy=70)
    with pytest.raises(DataValidationError, match="'label' is not in the test split"):
        evaluate(model, test_frame, target="label")
