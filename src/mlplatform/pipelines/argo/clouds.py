"""What differs between clouds when a pipeline runs on Argo: node pools, identity, stores.

One table, one row per cloud. Node labels and taints match the node pools the Terraform modules
create (GPU pools tainted ``nvidia.com/gpu=true:NoSchedule``, training pools
``workload=training:NoSchedule``, and on AKS the spot taint AKS adds to both; see
``infrastructure/terraform/node-pools.json``); the service account is bound to cloud identity by the
infrastructure (IRSA on EKS, Workload Identity on AKS and GKE), so pods carry no static keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlplatform.errors import ConfigError

__all__ = ["AKS_SPOT_TAINT", "CLOUDS", "Cloud", "cloud"]

GPU_TAINT: dict[str, str] = {
    "key": "nvidia.com/gpu",
    "operator": "Equal",
    "value": "true",
    "effect": "NoSchedule",
}
TRAINING_TAINT: dict[str, str] = {
    "key": "workload",
    "operator": "Equal",
    "value": "training",
    "effect": "NoSchedule",
}
# AKS taints every spot pool with this itself (it cannot be removed); the training and GPU
# pools there are spot pools (infrastructure/terraform/node-pools.json)
AKS_SPOT_TAINT: dict[str, str] = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "operator": "Equal",
    "value": "spot",
    "effect": "NoSchedule",
}


@dataclass(frozen=True)
class Cloud:
    """Scheduling and identity facts for one cloud."""

    name: str
    gpu_node_selector: Mapping[str, str]
    training_node_selector: Mapping[str, str]
    default_store: str
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    service_account: str = "mlplatform-pipelines"
    # taints the cloud puts on the training and GPU pools besides ours
    pool_taints: tuple[Mapping[str, str], ...] = ()


CLOUDS: Mapping[str, Cloud] = {
    "aws": Cloud(
        name="aws",
        gpu_node_selector={"karpenter.sh/nodepool": "gpu-workloads"},
        training_node_selector={"karpenter.sh/nodepool": "training-workloads"},
        default_store="s3://mlplatform-artifacts/pipelines",
    ),
    "azure": Cloud(
        name="azure",
        gpu_node_selector={"kubernetes.azure.com/agentpool": "gpu"},
        training_node_selector={"kubernetes.azure.com/agentpool": "training"},
        default_store="abfs://pipelines@mlplatformartifacts.dfs.core.windows.net",
        pod_labels={"azure.workload.identity/use": "true"},
        pool_taints=(AKS_SPOT_TAINT,),
    ),
    "gcp": Cloud(
        name="gcp",
        gpu_node_selector={"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
        training_node_selector={"cloud.google.com/gke-nodepool": "training"},
        default_store="gs://mlplatform-artifacts/pipelines",
    ),
}


def cloud(name: str) -> Cloud:
    if name not in CLOUDS:
        raise ConfigError(f"unknown cloud {name!r}", f"Use one of: {', '.join(CLOUDS)}.")
    return CLOUDS[name]
