"""The container entrypoint (``python -m mlplatform.serving``) with a feature store: as a pod runs
it, with ``MLPLATFORM_FEATURE_STORE`` naming a ``feature_store.yaml`` (here the local profile's,
SQLite online store and file registry, built with ``mlplatform.features`` and materialized), a
version tagged with its feature service is served from entity keys; so is KServe's copy of it (a
folder, no tags) given ``--feature-service``, the way ``mlp deploy model`` renders it.

Real processes on loopback, a real MLflow registry on SQLite, Feast's real local stores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from _feature_store import churn_layout, last_snapshots
from mlplatform.components.churn_data import churn_activity
from mlplatform.features import (
    CONFIG_ENV,
    FeatureStoreLayout,
    materialize,
)
from mlplatform.features.store import write_config
from mlplatform.serving.__main__ import config_from_args, parser
from mlplatform.tracking._mlflow import using_tracking_uri

from ._container import serving_process
from ._feature_models import FEATURES, fit_on_features, tagged_registry

REGISTERED = "churn-entrypoint"
CUSTOMERS = 30
FIRST_ID = 1000  # churn_data's first customer id
UNKNOWN = 5
SIGTERM_EXIT = 128 + signal.SIGTERM  # our server re-raises SIGTERM's status


@pytest.fixture(scope="module")
def activity() -> pd.DataFrame:
    return churn_activity(CUSTOMERS, 7)


@pytest.fixture(scope="module")
def layout(tmp_path_factory, activity) -> FeatureStoreLayout:
    """The churn example's store (local profile), applied and materialized."""
    root = tmp_path_factory.mktemp("feature-store")
    found = churn_layout(root, project="entrypoint_test", activity=activity)
    materialize(found)
    return found


@pytest.fixture(scope="module")
def config_file(layout) -> Path:
    """The store's feature_store.yaml, as a pod finds the cluster's mounted one."""
    return write_config(layout)


@pytest.fixture(scope="module")
def latest(activity) -> pd.DataFrame:
    return last_snapshots(activity)


@pytest.fixture(scope="module")
def model(latest) -> Pipeline:
    return fit_on_features(latest)


@pytest.fixture(scope="module")
def tracking(tmp_path_factory, model, latest) -> str:
    """A registry whose champion is tagged with feature service ``churn``."""
    return tagged_registry(
        tmp_path_factory.mktemp("registry") / "mlflow.db", REGISTERED, model, latest
    )


@pytest.fixture(scope="module")
def copied(tracking, tmp_path_factory) -> Path:
    """The champion copied into a plain folder, as KServe's storage initializer does."""
    folder = tmp_path_factory.mktemp("mnt") / "models"
    folder.mkdir()
    with using_tracking_uri(tracking):
        mlflow.artifacts.download_artifacts(f"models:/{REGISTERED}/1", dst_path=str(folder))
    return folder


def environ(config_file: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k != CONFIG_ENV}
    if config_file is not None:
        env[CONFIG_ENV] = str(config_file)
    return env


def expected(model: Pipeline, latest: pd.DataFrame, ids: list[int]) -> list[int]:
    return model.predict(latest.loc[ids, FEATURES].reset_index(drop=True)).tolist()


def predict(url: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}/v1/models/{REGISTERED}:predict", json=body, timeout=30)


# ---- served from entity keys ----------------------------------------------------------------


def test_a_tagged_version_is_served_from_entity_keys(tracking, config_file, model, latest):
    # GIVEN the entrypoint with MLPLATFORM_FEATURE_STORE naming the store's feature_store.yaml
    args = ["--model-uri", f"models:/{REGISTERED}@champion", "--tracking-uri", tracking]
    with serving_process(REGISTERED, args, environ(config_file), exit_code=SIGTERM_EXIT) as url:
        # WHEN requests carry only customer ids
        ids = [FIRST_ID, FIRST_ID + 3, FIRST_ID + 11]
        answer = predict(url, {"instances": [{"customer_id": i} for i in ids]})
        missing = predict(url, {"instances": [{"customer_id": UNKNOWN}]})
        meta = httpx.get(f"{url}/v2/models/{REGISTERED}", timeout=10).json()
    # THEN they are predicted on the store's latest features; an unknown key is a 422
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == expected(model, latest, ids)
    assert missing.status_code == 422
    assert f"customer_id={UNKNOWN}" in missing.json()["error"]
    assert meta["parameters"]["feature_service"] == "churn"


def test_kserves_copy_is_served_from_entity_keys_with_feature_service(
    copied, config_file, model, latest
):
    # GIVEN the folder KServe copies in (no registry tags), as `mlp deploy model` renders it
    args = ["--model-dir", str(copied), "--name", REGISTERED, "--feature-service", "churn",
            "--feature-store", str(config_file)]  # fmt: skip
    with serving_process(REGISTERED, args, environ(None), exit_code=SIGTERM_EXIT) as url:
        ids = [FIRST_ID + 1, FIRST_ID + 2]
        v2 = httpx.post(
            f"{url}/v2/models/{REGISTERED}/infer",
            json={"inputs": [{"name": "customer_id", "shape": [2], "datatype": "INT64",
                              "data": ids}]},
            timeout=30,
        )  # fmt: skip
    # THEN the folder is served from the feature service like the tagged version
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == expected(model, latest, ids)


def test_without_the_flag_the_folder_needs_every_feature(copied, config_file):
    # GIVEN the same folder and store, but no --feature-service (an untagged version)
    args = ["--model-dir", str(copied), "--name", REGISTERED]
    with serving_process(REGISTERED, args, environ(config_file), exit_code=SIGTERM_EXIT) as url:
        answer = predict(url, {"instances": [{"customer_id": FIRST_ID}]})
    # THEN entity keys alone are not a request for it
    assert answer.status_code == 422, answer.text


# ---- refusals ----------------------------------------------------------------------------


def run_entrypoint(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "mlplatform.serving", "--port", "0", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)


def test_a_tagged_version_without_a_feature_store_does_not_load(tracking):
    # GIVEN no MLPLATFORM_FEATURE_STORE WHEN the tagged version is served
    args = ["--model-uri", f"models:/{REGISTERED}@champion", "--tracking-uri", tracking]
    done = run_entrypoint(args, environ(None))
    # THEN the process exits saying why and how to give it the store
    assert done.returncode != 0
    assert "has no feature store" in done.stderr
    assert CONFIG_ENV in done.stderr


def test_a_feature_store_file_that_is_not_there_is_refused(tmp_path):
    args = parser().parse_args(
        ["--model-dir", str(tmp_path), "--name", "m", "--feature-store", str(tmp_path / "no.yaml")]
    )
    with pytest.raises(Exception, match="does not exist") as info:
        config_from_args(args)
    assert "mlplatform-feature-store" in info.value.hint  # type: ignore[attr-defined]


def test_the_variable_is_the_flags_default(tmp_path, monkeypatch, config_file):
    monkeypatch.setenv(CONFIG_ENV, str(config_file))
    args = parser().parse_args(["--model-dir", str(tmp_path), "--name", "m"])
    assert config_from_args(args).feature_store == config_file


def test_feature_service_is_for_folders_only(tmp_path):
    args = parser().parse_args(["--model-uri", "churn@champion", "--feature-service", "churn"])
    with pytest.raises(Exception, match="is for a model folder"):
        config_from_args(args)
