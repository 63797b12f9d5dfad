"""Registering models in a real MLflow registry, loading them back, looking versions up."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.base import BaseEstimator, ClassifierMixin

from mlplatform.errors import RegistryError
from mlplatform.tracking import (
    DIGEST_TAG,
    champion,
    get_version,
    list_models,
    list_versions,
    register_model,
    set_alias,
)

from .conftest import SMALL, fresh_uri

ORDER = list(SMALL)  # logreg -> v1, gbm -> v2, random_forest -> v3


@pytest.fixture(scope="module")
def registry(empty_mlflow_db, tmp_path_factory, models, features) -> str:
    """One registry shared by the read-only tests: every estimator registered once."""
    uri = fresh_uri(empty_mlflow_db, tmp_path_factory.mktemp("registry"))
    for name in ORDER:
        register_model(
            models[name],
            "churn",
            tracking_uri=uri,
            signature_input=features,
            tags={"mlplatform.pipeline": "standard-training", "estimator": name},
            model_digest=f"sha256:{name}",
            metrics={"accuracy": 0.9},
        )
    return uri


@pytest.mark.parametrize("estimator", ORDER)
def test_every_estimator_registers_and_loads_back_with_pyfunc_and_sklearn(
    registry, models, features, estimator, monkeypatch
):
    # GIVEN the registry where each estimator's pipeline was registered in turn
    version = ORDER.index(estimator) + 1
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    expected = models[estimator].predict(features)

    # WHEN the version is loaded back through both flavors
    as_pyfunc = mlflow.pyfunc.load_model(f"models:/churn/{version}")
    as_sklearn = mlflow.sklearn.load_model(f"models:/churn/{version}")

    # THEN both predict exactly what the fitted pipeline predicts
    np.testing.assert_array_equal(np.asarray(as_pyfunc.predict(features)), expected)
    np.testing.assert_array_equal(as_sklearn.predict(features), expected)
    info = get_version("churn", version, tracking_uri=registry)
    assert info.tags["estimator"] == estimator
    assert info.tags[DIGEST_TAG] == f"sha256:{estimator}"


def test_the_logged_model_is_skops_trusting_only_the_types_it_needs(registry, monkeypatch):
    # GIVEN the registered random forest (v3), whose trees skops does not trust by default
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)

    # WHEN its MLmodel file is read
    model = mlflow.models.get_model_info("models:/churn/3")

    # THEN it is stored as skops trusting the tree type (and only numerical-stack types),
    # with pinned requirements
    flavor = model.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    trusted = flavor["skops_trusted_types"]
    assert "sklearn.tree._tree.Tree" in trusted
    assert all(name.startswith(("sklearn.", "numpy.")) for name in trusted), trusted
    requirements = mlflow.pyfunc.get_model_dependencies("models:/churn/3")
    text = Path(requirements).read_text()
    assert f"scikit-learn=={__import__('sklearn').__version__}" in text
    assert "skops==" in text


def test_registering_the_same_digest_again_returns_the_existing_version(registry, models, features):
    # GIVEN a registry where the logreg pipeline is version 1
    before = MlflowClient(registry).search_model_versions("name = 'churn'")

    # WHEN it is registered again with the same digest
    again = register_model(
        models["logreg"],
        "churn",
        tracking_uri=registry,
        signature_input=features,
        tags={},
        model_digest="sha256:logreg",
    )

    # THEN the first version comes back and no version or run was added
    assert (again.version, again.created) == (1, False)
    after = MlflowClient(registry).search_model_versions("name = 'churn'")
    assert len(after) == len(before) == 3


def test_a_version_records_the_metrics_of_its_run(registry):
    # WHEN a version is looked up
    info = get_version("churn", "2", tracking_uri=registry)
    # THEN it carries its run's metrics, its creation time and a loadable URI
    assert info.metrics == {"accuracy": 0.9}
    assert info.created is not None
    assert info.uri == "models:/churn/2"
    assert info.run_id


def test_list_models_and_list_versions(registry):
    # WHEN the registry is listed
    summary = list_models(registry)
    versions = list_versions("churn", tracking_uri=registry)
    # THEN the model shows its latest version, and versions come newest first
    assert [(m.name, m.latest_version) for m in summary] == [("churn", 3)]
    assert [v.version for v in versions] == [3, 2, 1]


def test_unknown_model_version_or_alias_is_a_registry_error(registry):
    # WHEN something that does not exist is asked for, THEN the error says what is missing
    with pytest.raises(RegistryError, match="no registered model named 'nope'"):
        get_version("nope", 1, tracking_uri=registry)
    with pytest.raises(RegistryError, match="has no version 42"):
        get_version("churn", 42, tracking_uri=registry)
    with pytest.raises(RegistryError, match="has no alias 'staging'"):
        get_version("churn", "staging", tracking_uri=registry)


def test_champion_is_none_until_the_alias_is_set(tracking_uri, models, features):
    # GIVEN an empty registry: no model, so no champion
    assert champion("fresh", tracking_uri=tracking_uri) is None
    registered = register_model(
        models["logreg"],
        "fresh",
        tracking_uri=tracking_uri,
        signature_input=features,
        tags={},
        model_digest="sha256:fresh",
    )
    assert champion("fresh", tracking_uri=tracking_uri) is None

    # WHEN the champion alias is set on the version
    set_alias("fresh", "champion", registered.version, tracking_uri=tracking_uri)

    # THEN champion() returns it, and both listings show the alias
    found = champion("fresh", tracking_uri=tracking_uri)
    assert found is not None
    assert (found.version, found.aliases) == (1, ("champion",))
    assert list_models(tracking_uri)[0].aliases == {"champion": 1}
    assert list_versions("fresh", tracking_uri=tracking_uri)[0].aliases == ("champion",)


def test_logging_into_a_given_run_leaves_that_run_running(tracking_uri, models, features):
    # GIVEN a step's run that is still open (the observer ends it later)
    client = MlflowClient(tracking_uri)
    run = client.create_run(client.create_experiment("steps")).info.run_id

    # WHEN the model is registered into it
    registered = register_model(
        models["gbm"],
        "in-run",
        tracking_uri=tracking_uri,
        run_id=run,
        signature_input=features,
        tags={},
        model_digest="sha256:in-run",
    )

    # THEN the version points at that run, which is still RUNNING
    assert registered.run_id == run
    assert get_version("in-run", 1, tracking_uri=tracking_uri).run_id == run
    assert client.get_run(run).info.status == "RUNNING"


class _Custom(BaseEstimator, ClassifierMixin):
    """A class skops does not know: it must not be trusted silently."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_a_model_with_a_foreign_type_is_refused_before_anything_is_written(tracking_uri, features):
    # GIVEN a model of a custom class
    model = _Custom().fit(features, np.zeros(len(features)))

    # WHEN it is registered in the default (skops) format
    with pytest.raises(RegistryError, match=r"_Custom") as caught:
        register_model(
            model,
            "custom",
            tracking_uri=tracking_uri,
            signature_input=features,
            tags={},
            model_digest="sha256:custom",
        )

    # THEN the error says how to proceed and the registry holds nothing
    assert "cloudpickle" in caught.value.hint
    assert list_models(tracking_uri) == []
