"""Where KServe's storage initializer downloads a model version from, on each cloud.

MLflow records a version's artifacts wherever its artifact store is; KServe reads ``s3://``
on AWS, ``gs://`` on GCP and ``https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH`` on
Azure, with the pod's workload identity. A path on this machine, or artifacts that only the
MLflow server can reach (``mlflow-artifacts:/``), cannot be deployed as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

from mlplatform.errors import DeployError
from mlplatform.serving.deploy.clouds import Cloud, cloud

__all__ = ["storage_uri"]

_ANY_CLOUD = ("pvc", "oci")  # a PersistentVolumeClaim, a modelcar image: no object store
_SERVER_ONLY = ("mlflow-artifacts", "models", "runs", "dbfs")


def storage_uri(location: str, cloud_name: str, *, azure_account: str | None = None) -> str:
    """The ``storageUri`` for a model whose artifacts are at ``location``.

    Args:
        location: the artifact location (MLflow's download URI, or one the user gave).
        cloud_name: ``aws``, ``azure`` or ``gcp``.
        azure_account: the storage account, for ``abfs://CONTAINER/PATH`` without one.

    Raises:
        DeployError: the location is on this machine, only reachable through the MLflow
            server, or on another cloud's store; or the cloud is unknown.
    """
    target = cloud(cloud_name)
    parts = urlsplit(location.strip())
    scheme = parts.scheme.lower()
    if len(scheme) <= 1:  # "" (a path), or a Windows drive letter
        raise _local(location, target)
    if scheme == "file":
        raise _local(location, target)
    if scheme in _ANY_CLOUD:
        return location.strip()
    mapped = _MAPPERS[target.name](parts, azure_account)
    if mapped is not None:
        return mapped
    web = scheme in ("http", "https") and _blob_host(parts.netloc) is None
    if scheme in _SERVER_ONLY or web:
        raise DeployError(
            f"the model artifacts at {location} are only reachable through the MLflow server",
            "Give the MLflow server an artifact store in the bucket (mlflow server "
            "--artifacts-destination) and deploy from that profile, or pass "
            f"--storage-uri {target.example_uri}.",
        )
    raise DeployError(
        f"the model artifacts at {location} are not on {target.store}",
        f"Deploy with the --cloud whose store holds them, or copy the model to {target.store} "
        f"and pass --storage-uri {target.example_uri}.",
    )


def _local(location: str, target: Cloud) -> DeployError:
    return DeployError(
        f"the model artifacts are on this machine ({location}): a cluster cannot read them",
        f"Deploy from a profile whose MLflow artifact store is the {target.store} bucket "
        f"(for example --profile {target.name}), or copy the model there and pass "
        f"--storage-uri {target.example_uri}.",
    )


def _aws(parts: SplitResult, _account: str | None) -> str | None:
    return _bucket_uri("s3", parts) if parts.scheme.lower() == "s3" else None


def _gcp(parts: SplitResult, _account: str | None) -> str | None:
    return _bucket_uri("gs", parts) if parts.scheme.lower() == "gs" else None


def _bucket_uri(scheme: str, parts: SplitResult) -> str:
    if not parts.netloc:
        raise DeployError(
            f"{parts.geturl()} names no bucket", f"Write it as {scheme}://BUCKET/PATH."
        )
    path = parts.path.strip("/")
    return f"{scheme}://{parts.netloc}/{path}" if path else f"{scheme}://{parts.netloc}"


def _azure(parts: SplitResult, account: str | None) -> str | None:
    """``abfs[s]://C@A.dfs...``, ``wasb[s]://C@A.blob...`` or ``https://A.blob|dfs.../C``."""
    scheme = parts.scheme.lower()
    if scheme in ("abfs", "abfss", "wasb", "wasbs"):
        container, _, host = parts.netloc.partition("@")
        path = parts.path
    elif scheme == "https":
        host = parts.netloc
        container, _, rest = parts.path.lstrip("/").partition("/")
        path = "/" + rest
    else:
        return None
    if not host and account:
        host = f"{account}.blob.core.windows.net"
    blob_host = _blob_host(host)
    if blob_host is None or not container:
        if scheme == "https":
            return None  # an https URL that is not Azure storage: the MLflow server, say
        raise DeployError(
            f"{parts.geturl()} names no Azure storage account",
            "Write it as abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH, or set "
            "storage_options.account_name in mlplatform.toml.",
        )
    path = path.strip("/")
    return f"https://{blob_host}/{container}/{path}" if path else f"https://{blob_host}/{container}"


def _blob_host(host: str) -> str | None:
    """``A.dfs.core.windows.net`` -> ``A.blob.core.windows.net`` (sovereign clouds too)."""
    account, _, rest = host.partition(".")
    service, _, suffix = rest.partition(".")
    if not account or service not in ("blob", "dfs") or not suffix:
        return None
    return f"{account}.blob.{suffix}"


_MAPPERS: dict[str, Callable[[SplitResult, str | None], str | None]] = {
    "aws": _aws,
    "azure": _azure,
    "gcp": _gcp,
}
