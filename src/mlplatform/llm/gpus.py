"""GPU types and the GPU pools each cloud has for model servers.

``memory_gib`` is the memory CUDA reports for the whole card, which is what vLLM multiplies
by ``--gpu-memory-utilization``; it is less than the marketed size because of ECC and the
driver's reservation. Figures, as ``nvidia-smi`` prints them on cloud instances:

- T4: 15360 MiB (the "16 GB" card; GCP n1 + T4, AWS g4dn, Azure NCasT4_v3).
- A10G: 23028 MiB (AWS g5).
- L4: 23034 MiB (GCP g2, AWS g6).
- A10: assumed equal to the A10G (same 24 GB GA102 board); Azure needs a size that gives
  a whole card (NVads A10 v5 ``Standard_NV36ads_A10_v5``), since fractional A10 sizes get a
  slice of its memory.

bfloat16 needs compute capability 8.0 or more: the T4 (7.5) does not have it, so a bfloat16
checkpoint is served as float16 there (``serving_dtype``). The A10G, A10 (8.6) and L4 (8.9)
have it.

Pools (infrastructure/terraform/node-pools.json; tests/llm/deploy/test_placement.py keeps this
table and that one equal). Each cloud has a 16 GB class for small models and a 24 GB class for
7B models, all spot (on AWS spot first, on-demand as a fallback), scaling from zero, with the
``nvidia.com/gpu=true:NoSchedule`` taint:

- AWS: one Karpenter NodePool, ``gpu-workloads`` (g4dn T4, g5 A10G, g6 L4); a pod picks the
  card with Karpenter's well-known label ``karpenter.k8s.aws/instance-gpu-name`` and Karpenter
  launches only instance types with that card. The 24 GB default is the A10G; ``--pool
  gpu-workloads-l4`` asks for the L4 (often cheaper, same memory).
- Azure: the AKS pools ``gpu`` (Standard_NC4as_T4_v3) and ``gpua10``
  (Standard_NV36ads_A10_v5), selected by ``kubernetes.azure.com/agentpool``.
- GCP: the GKE pools ``gpu`` (n1-standard-4 + T4) and ``gpu-l4`` (g2-standard-8), selected by
  ``cloud.google.com/gke-accelerator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "CLOUDS",
    "GPU_TAINT",
    "GPU_TYPES",
    "POOLS",
    "GpuPool",
    "GpuType",
    "serving_dtype",
]

_MIB = 1024


@dataclass(frozen=True)
class GpuType:
    """One kind of GPU card: its name (GKE's accelerator name) and the memory CUDA reports."""

    name: str
    memory_gib: float
    marketed_gb: int = 0
    bfloat16: bool = True


@dataclass(frozen=True)
class GpuPool:
    """A GPU node pool of one cloud: the card its nodes carry and how a pod selects it."""

    name: str
    gpu: GpuType
    node_selector: Mapping[str, str] = field(default_factory=dict)


T4 = GpuType("nvidia-tesla-t4", 15360 / _MIB, marketed_gb=16, bfloat16=False)
A10G = GpuType("nvidia-a10g", 23028 / _MIB, marketed_gb=24)
L4 = GpuType("nvidia-l4", 23034 / _MIB, marketed_gb=24)
A10 = GpuType("nvidia-a10", 23028 / _MIB, marketed_gb=24)

GPU_TYPES: Mapping[str, GpuType] = MappingProxyType({g.name: g for g in (T4, A10G, L4, A10)})

GPU_TAINT: Mapping[str, str] = MappingProxyType(
    {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
)


def _karpenter(gpu_name: str) -> Mapping[str, str]:
    return MappingProxyType(
        {"karpenter.sh/nodepool": "gpu-workloads", "karpenter.k8s.aws/instance-gpu-name": gpu_name}
    )


POOLS: Mapping[str, tuple[GpuPool, ...]] = MappingProxyType(
    {
        "aws": (
            GpuPool("gpu-workloads-t4", T4, _karpenter("t4")),
            GpuPool("gpu-workloads-a10g", A10G, _karpenter("a10g")),
            GpuPool("gpu-workloads-l4", L4, _karpenter("l4")),
        ),
        "azure": (
            GpuPool("gpu", T4, MappingProxyType({"kubernetes.azure.com/agentpool": "gpu"})),
            GpuPool("gpua10", A10, MappingProxyType({"kubernetes.azure.com/agentpool": "gpua10"})),
        ),
        "gcp": (
            GpuPool(
                "gpu",
                T4,
                MappingProxyType({"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}),
            ),
            GpuPool(
                "gpu-l4", L4, MappingProxyType({"cloud.google.com/gke-accelerator": "nvidia-l4"})
            ),
        ),
    }
)

CLOUDS: tuple[str, ...] = tuple(POOLS)


def serving_dtype(dtype: str, gpu: GpuType) -> str:
    """The ``--dtype`` to serve a checkpoint of ``dtype`` with on ``gpu``: bfloat16 becomes
    float16 on cards without bfloat16 (the T4); anything else is kept."""
    if dtype == "bfloat16" and not gpu.bfloat16:
        return "float16"
    return dtype
