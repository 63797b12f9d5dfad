"""The register step saves a drift profile beside the model; the monitor and the demo read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from _mlflow_store import sqlite_store
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.register import (
    PROFILE_TAG,
    load_reference_profile,
    register,
)
from mlplatform.components.train import train
from mlplatform.demo import DemoReport, check_drift_twice
from mlplatform.errors import ProfileError
from mlplatform.settings import load_settings
from mlplatform.tracking import get_version, set_alias
from mlplatform.workspace import Workspace

PASSED = {"metrics": {"accuracy": 0.9}, "gate": {"passed": True, "failures": []}}


@pytest.fixture(scope="module")
def trained():
    train_frame, test_frame, transformer = featurize(
        ingest("synthetic://classification", rows=400, seed=0)
    )
    return train_frame, test_frame, train(train_frame, transformer, model="logreg")


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path, monkeypatch) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    uri = sqlite_store(tmp_path_factory, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_registering_saves_the_train_features_profile_once(trained, tracking_uri):
    # GIVEN a trained model and its train split
    train_frame, _, model = trained

    # WHEN it is registered (twice: the second finds the same version)
    first = register(model, PASSED, train_frame, model_name="churn")
    again = register(model, PASSED, train_frame, model_name="churn")

    # THEN the version names one profile of the features (target left out), by number or alias
    assert again["version"] == first["version"]
    tag = get_version("churn", first["version"], tracking_uri=tracking_uri).tags[PROFILE_TAG]
    assert tag.startswith("runs:/")
    assert tag.endswith("/drift/reference_profile.npz")
    profile = load_reference_profile("churn", "champion", tracking_uri=tracking_uri)
    assert set(profile.columns) == set(train_frame.columns) - {"target"}
    assert profile.rows == len(train_frame)
    run_id = tag.split("/")[1]
    listed = MlflowClient(tracking_uri).list_artifacts(run_id, "drift")
    assert [a.path for a in listed] == ["drift/reference_profile.npz"]


def test_a_version_without_a_profile_says_how_to_get_one(trained, tracking_uri):
    train_frame, _, model = trained
    registered = register(model, PASSED, train_frame, model_name="churn")
    MlflowClient(tracking_uri).delete_model_version_tag(
        "churn", str(registered["version"]), PROFILE_TAG
    )
    with pytest.raises(ProfileError, match="has no drift reference profile") as info:
        load_reference_profile("churn", registered["version"], tracking_uri=tracking_uri)
    assert "mlp drift profile" in info.value.hint


class _Run:
    """Stands in for the second demo run: only its featurize.test output is read."""

    def __init__(self, ref):
        self.ref = ref

    def output(self, node, name="output"):
        assert (node, name) == ("featurize", "test")
        return self.ref


def test_the_demo_stage_finds_no_drift_in_the_clean_batch_and_drift_in_the_shifted(
    trained, tracking_uri, tmp_path
):
    # GIVEN a registered champion and its held-out test split in the workspace's store
    train_frame, test_frame, model = trained
    registered = register(model, PASSED, train_frame, model_name="demo")
    set_alias("demo", "champion", registered["version"], tracking_uri=tracking_uri)
    settings = load_settings(
        tracking_uri=tracking_uri, home=tmp_path / "home", artifact_store=str(tmp_path / "store")
    )
    ws = Workspace(settings)
    test_frame.to_parquet(tmp_path / "test.parquet")
    report = DemoReport(
        registration=registered,
        runs=[_Run(ws.store.put_object(tmp_path / "test.parquet", "parquet"))],
    )

    # WHEN the demo's drift stage runs
    check_drift_twice(ws, report, lambda title: None)

    # THEN the clean batch does not drift, the shifted one does, each with a report
    clean, shifted = report.drift
    assert (clean.name, clean.result.drifted) == ("clean", False)
    assert (shifted.name, shifted.result.drifted) == ("shifted", True)
    assert Path(shifted.report).read_text().count('class="dist-plot"') == len(
        shifted.result.columns
    )
