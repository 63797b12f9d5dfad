"""Tests of the train step and the estimator table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.train import ESTIMATORS, train
from mlplatform.errors import ConfigError
from mlplatform.pipelines.context import StepContext, running

Split = tuple[pd.DataFrame, pd.DataFrame, ColumnTransformer]

SOURCES = {
    "breast_cancer": "sklearn://breast_cancer",
    "synthetic": "synthetic://classification",
}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def split(request: pytest.FixtureRequest) -> Split:
    return featurize(ingest(SOURCES[request.param], rows=400, seed=0), seed=0)


@pytest.mark.parametrize("model", sorted(ESTIMATORS["classification"]))
def test_every_estimator_trains_and_predicts_on_raw_frames(split: Split, model: str) -> None:
    # GIVEN a train/test split (numeric only, or with categoricals) and its transformer
    train_frame, test_frame, transformer = split
    # WHEN the model is trained
    pipeline = train(train_frame, transformer, model=model)
    # THEN the pipeline predicts raw test rows well above chance
    predictions = pipeline.predict(test_frame.drop(columns=["target"]))
    assert (predictions == test_frame["target"].to_numpy()).mean() > 0.75
    assert [name for name, _ in pipeline.steps] == ["features", "model"]


def test_the_fitted_transformer_is_reused_not_refitted(split: Split) -> None:
    # GIVEN a fitted transformer and its scaler statistics
    train_frame, _, transformer = split
    before = transformer.named_transformers_["numeric"][-1].mean_.copy()
    # WHEN a model is trained on a different frame with it
    pipeline = train(train_frame.head(100), transformer, model="logreg")
    # THEN the pipeline holds the same transformer with unchanged statistics
    assert pipeline.named_steps["features"] is transformer
    np.testing.assert_array_equal(transformer.named_transformers_["numeric"][-1].mean_, before)


def test_two_trainings_give_equal_predictions(split: Split) -> None:
    train_frame, test_frame, transformer = split
    features = test_frame.drop(columns=["target"])
    first = train(train_frame, transformer, model="random_forest", seed=3)
    again = train(train_frame, transformer, model="random_forest", seed=3)
    np.testing.assert_array_equal(first.predict_proba(features), again.predict_proba(features))


def test_hyperparams_override_defaults(split: Split) -> None:
    train_frame, _, transformer = split
    pipeline = train(train_frame, transformer, model="random_forest", hyperparams={"max_depth": 2})
    assert pipeline.named_steps["model"].max_depth == 2
    assert pipeline.named_steps["model"].n_jobs == 1


def test_unknown_model_is_a_config_error_listing_the_choices(split: Split) -> None:
    train_frame, _, transformer = split
    with pytest.raises(ConfigError) as info:
        train(train_frame, transformer, model="xgboost")
    assert "'xgboost'" in info.value.headline
    assert all(name in info.value.hint for name in ESTIMATORS["classification"])
    assert "-p model=<one of: gbm|linear|logreg|random_forest>" in info.value.hint


def test_unknown_hyperparameter_is_a_config_error(split: Split) -> None:
    train_frame, _, transformer = split
    with pytest.raises(ConfigError, match="'gbm'"):
        train(train_frame, transformer, model="gbm", hyperparams={"n_trees": 3})


def test_training_logs_params_and_train_accuracy(split: Split) -> None:
    # GIVEN a running step context
    train_frame, _, transformer = split
    context = StepContext(pipeline="p", run_id="r", node="train", cache_key="k")
    # WHEN the step runs inside it
    with running(context) as report:
        train(train_frame, transformer, model="logreg", seed=1, hyperparams={"C": 0.5})
    # THEN the model, seed, hyperparameters and train accuracy are recorded
    assert report.params == {"model": "logreg", "task": "binary", "seed": "1", "hp.C": "0.5"}
    assert 0.75 < report.metrics["train_accuracy"] <= 1.0


def test_train_declares_resources_and_thread_env() -> None:
    assert (train.resources.cpu, train.resources.memory) == (2, "4Gi")
    assert train.env == ("OMP_NUM_THREADS",)


@pytest.fixture(scope="module")
def diabetes() -> Split:
    return featurize(ingest("sklearn://diabetes"), seed=0)


@pytest.mark.parametrize("model", sorted(ESTIMATORS["regression"]))
def test_every_regressor_trains_and_beats_the_mean(diabetes: Split, model: str) -> None:
    # GIVEN the bundled regression data (task auto: a whole-number label with many values)
    train_frame, test_frame, transformer = diabetes
    context = StepContext(pipeline="p", run_id="r", node="train", cache_key="k")
    # WHEN a regressor is trained
    with running(context) as report:
        pipeline = train(train_frame, transformer, model=model)
    # THEN it is a regressor that explains part of the variance, and says the task it chose
    predicted = pipeline.predict(test_frame.drop(columns=["target"]))
    truth = test_frame["target"].to_numpy()
    r2 = 1 - ((truth - predicted) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
    assert r2 > 0.1
    assert report.params["task"] == "regression"
    assert report.metrics["train_rmse"] > 0


def test_a_classifier_name_for_regression_lists_the_regression_models(diabetes: Split) -> None:
    train_frame, _, transformer = diabetes
    with pytest.raises(ConfigError) as info:
        train(train_frame, transformer, model="logreg")
    assert info.value.headline == "unknown model 'logreg' for regression"
    assert "-p model=<one of: gbm|linear|random_forest>" in info.value.hint


def test_an_explicit_task_overrides_auto(diabetes: Split) -> None:
    # GIVEN whole-number labels with few values, which auto would call classes
    train_frame, _, transformer = featurize(ingest("sklearn://iris"), seed=0)
    # WHEN the task is regression, THEN a regressor is trained on them
    pipeline = train(train_frame, transformer, model="linear", task="regression")
    assert not hasattr(pipeline, "classes_")
