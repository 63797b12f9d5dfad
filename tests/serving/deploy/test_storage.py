"""A version's artifact location becomes the URI KServe downloads from, or a clear error."""

from __future__ import annotations

import pytest

from mlplatform.errors import DeployError
from mlplatform.serving.deploy import storage_uri

ACCOUNT = "https://acct.blob.core.windows.net/mlflow/1/models/m-1/artifacts"


@pytest.mark.parametrize(
    ("cloud", "location", "expected"),
    [
        ("aws", "s3://bucket/1/models/m-1/artifacts/", "s3://bucket/1/models/m-1/artifacts"),
        ("gcp", "gs://bucket/1/models/m-1/artifacts", "gs://bucket/1/models/m-1/artifacts"),
        ("azure", "abfss://mlflow@acct.dfs.core.windows.net/1/models/m-1/artifacts", ACCOUNT),
        ("azure", "abfs://mlflow@acct.dfs.core.windows.net/1/models/m-1/artifacts", ACCOUNT),
        ("azure", "wasbs://mlflow@acct.blob.core.windows.net/1/models/m-1/artifacts", ACCOUNT),
        ("azure", "https://acct.dfs.core.windows.net/mlflow/1/models/m-1/artifacts", ACCOUNT),
        ("azure", ACCOUNT, ACCOUNT),
        (
            "azure",
            "abfss://c@acct.dfs.core.chinacloudapi.cn/m",
            "https://acct.blob.core.chinacloudapi.cn/c/m",
        ),
        ("aws", "pvc://models/churn/3", "pvc://models/churn/3"),
        ("gcp", "oci://registry.example.com/churn:3", "oci://registry.example.com/churn:3"),
    ],
)
def test_cloud_store_locations_map_to_kserve_uris(cloud, location, expected):
    assert storage_uri(location, cloud) == expected


def test_abfs_without_an_account_takes_it_from_the_storage_options():
    assert storage_uri("abfs://mlflow/1/models/m-1/artifacts", "azure", azure_account="acct") == (
        ACCOUNT
    )
    with pytest.raises(DeployError, match="names no Azure storage account") as caught:
        storage_uri("abfs://mlflow/1/models/m-1/artifacts", "azure")
    assert "account_name" in caught.value.hint


@pytest.mark.parametrize(
    "location",
    [
        "/home/ada/.mlplatform/mlartifacts/1/models/m-1/artifacts",
        "file:///home/ada/.mlplatform/mlartifacts/1/models/m-1/artifacts",
        "relative/mlruns/1/artifacts",
        "C:\\Users\\ada\\mlartifacts\\1",
    ],
)
def test_a_local_path_is_refused_with_what_to_do(location):
    # GIVEN artifacts on this machine (the local profile) WHEN deploying to a cluster
    with pytest.raises(DeployError, match="on this machine") as caught:
        storage_uri(location, "gcp")
    # THEN the hint names both ways out: a cloud profile, or --storage-uri
    assert "profile" in caught.value.hint
    assert "--storage-uri gs://" in caught.value.hint


def test_artifacts_behind_the_mlflow_server_are_refused():
    with pytest.raises(DeployError, match="only reachable through the MLflow server"):
        storage_uri("mlflow-artifacts:/1/models/m-1/artifacts", "aws")
    with pytest.raises(DeployError, match="only reachable through the MLflow server"):
        storage_uri("https://mlflow.example.com/get-artifact?path=m", "azure")


@pytest.mark.parametrize(
    ("cloud", "location"),
    [
        ("gcp", "s3://bucket/m"),
        ("aws", "gs://bucket/m"),
        ("azure", "s3://bucket/m"),
        ("aws", ACCOUNT),
    ],
)
def test_another_clouds_store_is_refused(cloud, location):
    with pytest.raises(DeployError, match="are not on") as caught:
        storage_uri(location, cloud)
    assert "--storage-uri" in caught.value.hint


def test_a_bucket_uri_needs_a_bucket_and_the_cloud_must_be_known():
    with pytest.raises(DeployError, match="names no bucket"):
        storage_uri("s3:///m", "aws")
    with pytest.raises(DeployError, match="unknown cloud 'ibm'") as caught:
        storage_uri("s3://b/m", "ibm")
    assert caught.value.hint == "Pass --cloud aws | azure | gcp."
