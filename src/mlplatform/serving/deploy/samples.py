"""Payload sampling in the cluster: where sampled payloads go, and the container args.

The model server writes sampled payloads under ``serving-samples/<model>/<day>/`` of its
samples store and deletes days older than the retention (``mlplatform.serving.sampler``).
In the cluster that store is the bucket the model version is read from (the MLflow artifact
store), so the samples stay where the platform already keeps its data, under the same
identity. Sampling is off unless asked for (``mlplatform.retention``): payloads are personal
data.

Drift: the container serves KServe's copy of the version (``/mnt/models``, a folder), so each
model (the primary and every canary) is told which registered version it is a copy of
(``--registered-as NAME/VERSION``) and where the registry is (``--tracking-uri``, the
in-cluster MLflow of ``DeployOptions.tracking_uri``): the server then loads that version's
reference profile, and its drift gauges, labelled with the version, are on ``/metrics``,
which the PodMonitor scrapes.

| storageUri                                      | samples store (fsspec URL)            |
|-------------------------------------------------|---------------------------------------|
| ``s3://BUCKET/...``                             | ``s3://BUCKET``                       |
| ``gs://BUCKET/...``                             | ``gs://BUCKET``                       |
| ``https://ACCOUNT.blob.core.windows.net/C/...`` | ``abfs://C@ACCOUNT.dfs.core.windows.net`` |
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlplatform.errors import DeployError
from mlplatform.retention import sampling_problem

if TYPE_CHECKING:
    from mlplatform.serving.deploy.render import DeployOptions, VariantSpec

__all__ = ["check", "samples_store", "sampling_args", "sampling_env"]


def samples_store(storage_uri: str) -> str:
    """The samples store in the bucket (or Azure container) that holds ``storage_uri``.

    Raises:
        DeployError: the model is not on a cloud bucket (``pvc://``, ``oci://``).
    """
    parts = urlsplit(storage_uri)
    scheme = parts.scheme.lower()
    if scheme in ("s3", "gs") and parts.netloc:
        return f"{scheme}://{parts.netloc}"
    if scheme == "https" and ".blob." in parts.netloc:
        account, _, suffix = parts.netloc.partition(".blob.")
        container = parts.path.strip("/").split("/", 1)[0]
        if container:
            return f"abfs://{container}@{account}.dfs.{suffix}"
    raise DeployError(
        f"the model at {storage_uri} is not on a bucket, so there is no store for samples",
        "Pass --samples-store s3://BUCKET (gs://BUCKET, abfs://CONTAINER@ACCOUNT.dfs.core."
        "windows.net), or --sample-fraction 0.",
    )


def check(o: DeployOptions) -> None:
    """Raises:
    DeployError: a fraction that is not 0 to 1, a retention that is not 1 to 3650 days, or
        sampling with no registry to read the drift reference profiles from.
    """
    problem = sampling_problem(o.sample_fraction, o.sample_retention_days)
    if problem is not None:
        raise DeployError(*problem)
    if o.sample_fraction > 0 and not o.tracking_uri:
        raise DeployError(
            "sampling feeds drift monitors, and no MLflow tracking URI says where the "
            "predictors read the reference profiles from",
            "Give DeployOptions a tracking_uri (mlp deploy model sets the in-cluster MLflow), "
            "or sample nothing: --sample-fraction 0.",
        )


def sampling_args(o: DeployOptions, model: str, variant: VariantSpec) -> list[str]:
    """The model server flags that turn sampling on, and drift monitoring of the version
    ``variant`` of the registered ``model`` that KServe copies in (none when it is off)."""
    if o.sample_fraction == 0:
        return []
    return [
        "--sample-fraction",
        f"{o.sample_fraction:g}",
        "--sample-retention-days",
        str(o.sample_retention_days),
        "--samples-store",
        o.samples_store or samples_store(variant.storage_uri),
        "--registered-as",
        f"{model}/{variant.version}",
        "--tracking-uri",
        str(o.tracking_uri),
    ]


def sampling_env(o: DeployOptions, storage_uri: str) -> list[dict[str, str]]:
    """Azure: the storage account for adlfs, which reads it from the environment (the
    pod's workload identity supplies the credential). Nothing on the other clouds."""
    if o.sample_fraction == 0:
        return []
    store = urlsplit(o.samples_store or samples_store(storage_uri))
    if store.scheme not in ("abfs", "abfss", "az") or "@" not in store.netloc:
        return []
    account = store.netloc.split("@", 1)[1].split(".", 1)[0]
    return [{"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": account}]
