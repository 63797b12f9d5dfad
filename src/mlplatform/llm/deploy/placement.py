"""Where a vLLM pod runs: the GPU pool's node selector, and tolerations of exactly the taints
its nodes carry (infrastructure/terraform/node-pools.json).

Every GPU pool is tainted ``nvidia.com/gpu=true:NoSchedule`` by us. The clouds add their own:
AKS taints every spot pool ``kubernetes.azure.com/scalesetpriority=spot:NoSchedule`` (the GPU
pools there are spot pools), and GKE taints a GPU pool ``nvidia.com/gpu=present:NoSchedule``
in a cluster with other pools. GKE's admission plugin would add the latter toleration to any
pod that requests a GPU; it is written here anyway, so the pod does not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlplatform.llm.gpus import GPU_TAINT, GpuPool
from mlplatform.pipelines.argo.clouds import AKS_SPOT_TAINT

__all__ = ["GPU_RESOURCE", "cloud_taints", "gpu_resources", "node_selector", "tolerations"]

GPU_RESOURCE = "nvidia.com/gpu"
GKE_GPU_TAINT: Mapping[str, str] = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
_CLOUD_TAINTS: Mapping[str, tuple[Mapping[str, str], ...]] = {
    "aws": (),
    "azure": (AKS_SPOT_TAINT,),
    "gcp": (GKE_GPU_TAINT,),
}


def cloud_taints(cloud: str) -> tuple[Mapping[str, str], ...]:
    """The taints a cloud puts on its GPU pools besides ours."""
    return _CLOUD_TAINTS[cloud]


def tolerations(cloud: str) -> list[dict[str, str]]:
    """One ``Equal`` toleration per taint of the cloud's GPU nodes, and no other."""
    return [_tolerate(t) for t in (GPU_TAINT, *cloud_taints(cloud))]


def node_selector(pool: GpuPool) -> dict[str, str]:
    """The labels that select the pool's nodes."""
    return dict(pool.node_selector)


def gpu_resources(gpus: int, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (requests and limits of CPU and memory) with ``gpus`` GPUs in both."""
    return {
        "requests": {**base["requests"], GPU_RESOURCE: str(gpus)},
        "limits": {**base["limits"], GPU_RESOURCE: str(gpus)},
    }


def _tolerate(taint: Mapping[str, str]) -> dict[str, str]:
    return {
        "key": taint["key"],
        "operator": "Equal",
        "value": taint["value"],
        "effect": taint["effect"],
    }
