"""What differs between clouds when a model is deployed: its object store and pod identity.

One table, one row per cloud. The service account is bound to a cloud identity by the
infrastructure (EKS Pod Identity or IRSA, AKS and GKE Workload Identity), so predictor pods
carry no static keys; AKS also needs a label on the pod itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlplatform.errors import DeployError

__all__ = ["CLOUDS", "Cloud", "cloud"]


@dataclass(frozen=True)
class Cloud:
    """Storage and identity facts for one cloud."""

    name: str
    store: str  # the object store, for messages
    example_uri: str  # a storage URI KServe accepts on this cloud, for hints
    pod_labels: Mapping[str, str] = field(default_factory=dict)


CLOUDS: Mapping[str, Cloud] = {
    "aws": Cloud("aws", "Amazon S3", "s3://BUCKET/PATH"),
    "azure": Cloud(
        "azure",
        "Azure Blob Storage",
        "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH",
        pod_labels={"azure.workload.identity/use": "true"},
    ),
    "gcp": Cloud("gcp", "Google Cloud Storage", "gs://BUCKET/PATH"),
}


def cloud(name: str) -> Cloud:
    """The row for ``name``.

    Raises:
        DeployError: ``name`` is not aws, azure or gcp.
    """
    if name not in CLOUDS:
        raise DeployError(f"unknown cloud {name!r}", f"Pass --cloud {' | '.join(CLOUDS)}.")
    return CLOUDS[name]
