"""Each cloud's node pools, from the machine-readable table infrastructure/terraform/node-pools.json
(``node-pools/v1``; tests/infrastructure/test_node_pools.py keeps it equal to the Terraform code
and the Karpenter NodePools).

A pool's labels are the ones we set plus ``cloud_labels`` (what the cloud puts on every node:
``eks.amazonaws.com/nodegroup``, ``karpenter.sh/nodepool``, ``kubernetes.azure.com/agentpool``,
``cloud.google.com/gke-nodepool``, ``cloud.google.com/gke-accelerator``, ...); its taints
include those the cloud adds (``CriticalAddonsOnly`` on an AKS system pool, the AKS spot taint,
GKE's ``nvidia.com/gpu=present``). Each instance type offers its ``allocatable`` cpu, memory
and ``nvidia.com/gpu`` (approximations from the providers' reservation formulas, see the table)
and, in a Karpenter pool, the labels only its nodes carry (``instance_labels``: the GPU name).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .._tree import TERRAFORM
from ._scheduling import InstanceType, NodePool, Taint, quantity

TABLE = TERRAFORM / "node-pools.json"
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute",
           "PREFER_NO_SCHEDULE": "PreferNoSchedule"}  # fmt: skip


@functools.cache
def pools(cloud: str, path: Path = TABLE) -> tuple[NodePool, ...]:
    """The pools of ``cloud`` in the table at ``path``."""
    if not path.is_file():
        raise AssertionError(f"no node pool table at {path}: the scheduling checks read it")
    data = json.loads(path.read_text())
    types = data.get("instance_types", {}).get(cloud, {})
    return tuple(_row(r, types, path) for r in data["clouds"][cloud])


def source() -> str:
    return str(TABLE.relative_to(TERRAFORM.parent.parent))


def _row(row: dict[str, Any], types: dict[str, Any], path: Path) -> NodePool:
    taints = tuple(
        Taint(t["key"], str(t.get("value", "")), EFFECTS.get(t["effect"], t["effect"]))
        for t in row.get("taints", [])
    )
    labels = {**row.get("labels", {}), **row.get("cloud_labels", {})}
    own = row.get("instance_labels", {})
    instances = tuple(
        _instance(name, types[name], own.get(name, {})) for name in row["instance_types"]
    )
    return NodePool(row["name"], labels, taints, instances, path.name)


def _instance(name: str, row: dict[str, Any], labels: dict[str, str]) -> InstanceType:
    allocatable = row["allocatable"]
    return InstanceType(
        name,
        quantity(allocatable["cpu"]),
        quantity(allocatable["memory"]),
        int(quantity(allocatable.get("nvidia.com/gpu", 0))),
        labels,
    )
