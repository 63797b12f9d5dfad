"""The standard pipeline end to end on Azure Blob (Azurite) and GCS (fake-gcs-server): the
pipeline's artifact store AND MLflow's artifacts (through the MLflow server) on each cloud's
own protocol. S3 (SeaweedFS) runs through the real CLI in test_team_stack.py.

Steps run in process here (the subprocess mode is exercised once, on S3); every store is
started on loopback and stopped by PID.
"""

from __future__ import annotations

import fsspec
import mlflow
import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.ingest import ingest
from mlplatform.components.standard import standard_training
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.services import object_store
from mlplatform.tracking.observer import MlflowObserver

from .conftest import config, project_home, running

PROTOCOL = {"azure": "abfs", "gcs": "gs"}


def plain_gcsfs_env() -> dict[str, str]:
    return {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


@pytest.fixture
def plain_gcsfs(monkeypatch):
    """gcsfs' plain filesystem: its gRPC layout probe waits 60 s per call on an emulator.
    (``client_env`` sets the switch for new processes; this process may have gcsfs already.)"""
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    fsspec.register_implementation("gs", "gcsfs.core.GCSFileSystem", clobber=True)
    yield
    fsspec.register_implementation("gs", "gcsfs.GCSFileSystem", clobber=True)


@pytest.mark.parametrize("kind", ["azure", "gcs"])
def test_standard_pipeline_keeps_pipeline_and_mlflow_artifacts_on(kind, monkeypatch, plain_gcsfs):
    with project_home() as home, running(config(home, artifacts=kind), ("mlflow",)) as team:
        # GIVEN PostgreSQL, the store and an MLflow server whose artifacts live in that store
        store = object_store(team.cfg, team.creds, kind)
        assert store.client_env == ({} if kind == "azure" else plain_gcsfs_env())
        uri = team.cfg.url("mlflow")
        executor = LocalExecutor(
            ArtifactStore(store.pipeline_root, store.storage_options),
            RunOptions(
                in_process=True,
                env={"MLFLOW_TRACKING_URI": uri},
                observer=MlflowObserver(uri, f"on-{kind}"),
            ),
        )
        params = {"model": "logreg", "model_name": f"{kind}-model"}
        # WHEN the standard pipeline runs
        first = executor.run(standard_training.graph, params)
        # THEN every step ran, and its outputs and cache index are objects in the bucket
        assert {o.status for o in first.steps.values()} == {"ran"}
        fs = fsspec.filesystem(PROTOCOL[kind], **store.storage_options)
        assert fs.find("mlplatform/artifacts/objects/sha256")
        assert fs.find("mlplatform/artifacts/cache")
        # AND the logged model went through the MLflow server into the same bucket
        assert any(p.endswith("MLmodel") for p in fs.find("mlplatform/mlartifacts"))
        # AND it loads back from the registry (the server reads it from the store)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        model = mlflow.pyfunc.load_model(f"models:/{kind}-model@champion")
        rows = ingest.fn("sklearn://breast_cancer").drop(columns=["target"]).head(5)
        assert len(model.predict(rows)) == 5
        # AND a second run is served from the cache index in the store
        again = executor.run(standard_training.graph, params)
        assert {o.status for o in again.steps.values()} == {"cached"}
