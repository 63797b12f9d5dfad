"""The three object stores, as the platform sees them: one table, chosen by kind.

For each kind: which local service emulates it, the pipeline artifact store URL and its fsspec
``storage_options``, where the MLflow server puts artifacts (``--artifacts-destination``), and
the environment the server needs to reach it. The URL schemes are the clouds' own (``s3://``,
``abfs://`` / ``wasbs://``, ``gs://``), so the same code runs against AWS, Azure and GCP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlplatform.services.azurite import ACCOUNT, connection_string
from mlplatform.services.config import ArtifactKind, ServicesConfig
from mlplatform.services.credentials import Credentials

__all__ = ["STORE_SERVICE", "ObjectStore", "object_store"]

STORE_SERVICE: dict[str, str] = {"s3": "seaweedfs", "azure": "azurite", "gcs": "fake-gcs"}


@dataclass(frozen=True)
class ObjectStore:
    """How the pipeline store and the MLflow server reach one local object store.

    ``client_env``: environment a client process of this store needs (set it before the
    store's fsspec library is imported).
    """

    kind: ArtifactKind
    service: str
    pipeline_root: str
    storage_options: dict[str, Any]
    mlflow_destination: str
    mlflow_env: dict[str, str]
    client_env: dict[str, str] = field(default_factory=dict)


def object_store(cfg: ServicesConfig, creds: Credentials, kind: ArtifactKind) -> ObjectStore:
    """The local store of ``kind`` (``s3``: SeaweedFS, ``azure``: Azurite, ``gcs``: fake-gcs)."""
    bucket = cfg.bucket
    if kind == "s3":
        endpoint = cfg.url("s3")
        return ObjectStore(
            kind=kind,
            service="seaweedfs",
            pipeline_root=f"s3://{bucket}/artifacts",
            storage_options={
                "endpoint_url": endpoint,
                "key": creds.s3_access_key,
                "secret": creds.s3_secret_key,
            },
            mlflow_destination=f"s3://{bucket}/mlartifacts",
            mlflow_env={
                "MLFLOW_S3_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": creds.s3_access_key,
                "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )
    if kind == "azure":
        conn = connection_string(cfg)
        return ObjectStore(
            kind=kind,
            service="azurite",
            pipeline_root=f"abfs://{bucket}/artifacts",
            storage_options={"connection_string": conn},
            mlflow_destination=f"wasbs://{bucket}@{ACCOUNT}.blob.core.windows.net/mlartifacts",
            mlflow_env={"AZURE_STORAGE_CONNECTION_STRING": conn},
        )
    endpoint = cfg.url("gcs")
    return ObjectStore(
        kind=kind,
        service="fake-gcs",
        pipeline_root=f"gs://{bucket}/artifacts",
        storage_options={"endpoint_url": endpoint, "token": "anon", "project": "mlplatform"},
        mlflow_destination=f"gs://{bucket}/mlartifacts",
        mlflow_env={"STORAGE_EMULATOR_HOST": endpoint},
        # gcsfs >= 2025.x probes each bucket's layout over gRPC (Storage Control API), which
        # the emulator does not serve: every call would wait 60 s for that probe to time out
        client_env={"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"},
    )
