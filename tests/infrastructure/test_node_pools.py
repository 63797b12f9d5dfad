"""Node pools per cloud: infrastructure/terraform/node-pools.json against the code.

GIVEN the node pools of modules/eks, modules/aks, modules/gke and the Karpenter NodePools WHEN
they are read THEN node-pools.json (which offline scheduling checks read) lists each one with
the same labels, taints, instance types and sizes, every instance type has capacity and
allocatable figures, and on every cloud at least one always-on pool carries no taint, so that
platform pods which tolerate nothing can be scheduled (the AKS fault: its system pool takes
critical add-ons only and every other pool was tainted)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import yaml

from ._tree import CLOUDS, HELM, TERRAFORM, Module, first, module

NODE_POOLS = TERRAFORM / "node-pools.json"
EKS, AKS, GKE = module("modules/eks"), module("modules/aks"), module("modules/gke")
KARPENTER = HELM / "charts/platform-config/files/karpenter"
EFFECTS = {
    "NO_SCHEDULE": "NoSchedule",
    "NO_EXECUTE": "NoExecute",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
}


@cache
def recorded() -> dict[str, Any]:
    return json.loads(NODE_POOLS.read_text())


def _pools(cloud: str) -> dict[str, dict[str, Any]]:
    return {pool["name"]: pool for pool in recorded()["clouds"][cloud]}


def _locals(mod: Module) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, block in mod.blocks("locals"):
        merged.update(block)
    return merged


def _resolve(mod: Module, value: Any) -> Any:
    """`${var.x.y}` and `${local.x}` -> the variable's default field / the local's value."""
    if not isinstance(value, str):
        return value
    var = re.fullmatch(r"\$\{var\.(\w+)\.(\w+)\}", value)
    if var:
        return mod.variables()[var[1]]["default"][var[2]]
    local = re.fullmatch(r"\$\{local\.(\w+)\}", value)
    if local:
        return _locals(mod)[local[1]]
    return value


def _taint(text: str) -> dict[str, str]:
    key_value, effect = text.split(":")
    key, value = key_value.split("=")
    return {"key": key, "value": value, "effect": effect}


def _own_taints(pool: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {k: taint[k] for k in ("key", "value", "effect")}
        for taint in pool["taints"]
        if "added_by" not in taint
    ]


def _code_pools_aws() -> dict[str, dict[str, Any]]:
    pools = {}
    for name, group in _locals(EKS)["node_groups"].items():
        pools[name] = {
            "labels": group["labels"],
            "taints": [
                {"key": t["key"], "value": t["value"], "effect": EFFECTS[t["effect"]]}
                for t in group["taints"].values()
            ],
            "instance_types": _resolve(EKS, group["instance_types"]),
            "min_nodes": _resolve(EKS, group["min_size"]),
            "max_nodes": _resolve(EKS, group["max_size"]),
        }
    for path in sorted(KARPENTER.glob("nodepool.*.yaml")):
        pool = yaml.safe_load(path.read_text())
        template = pool["spec"]["template"]
        requirements = {r["key"]: r for r in template["spec"].get("requirements", [])}
        pools[pool["metadata"]["name"]] = {
            "labels": template["metadata"]["labels"],
            "taints": template["spec"].get("taints", []),
            "requirements": requirements,
        }
    return pools


def _code_pools_azure() -> dict[str, dict[str, Any]]:
    cluster = AKS.resources()[("azurerm_kubernetes_cluster", "this")]
    system = first(cluster["default_node_pool"])
    system_taints = (
        [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}]
        if system.get("only_critical_addons_enabled") is True
        else []
    )
    pools = {
        "system": {
            "labels": system.get("node_labels", {}),
            "taints": system_taints,  # set by AKS itself, recorded with added_by
            "instance_types": [_resolve(AKS, system["vm_size"])],
            "min_nodes": _resolve(AKS, system["min_count"]),
            "max_nodes": _resolve(AKS, system["max_count"]),
        }
    }
    for (rtype, _), body in AKS.resources().items():
        if rtype != "azurerm_kubernetes_cluster_node_pool" or "for_each" in body:
            continue
        pools[str(body["name"])] = {
            "labels": body.get("node_labels", {}),
            "taints": [_taint(t) for t in body.get("node_taints", [])],
            "instance_types": [_resolve(AKS, body["vm_size"])],
            "min_nodes": _resolve(AKS, body["min_count"]),
            "max_nodes": _resolve(AKS, body["max_count"]),
        }
    for name, pool in _locals(AKS)["user_node_pools"].items():
        pools[name] = {
            "labels": pool["labels"],
            "taints": [_taint(_resolve(AKS, t)) for t in pool["taints"]],
            "instance_types": [_resolve(AKS, pool["vm_size"])],
            "min_nodes": 0,
            "max_nodes": _resolve(AKS, pool["max_count"]),
        }
    return pools


def _code_pools_gcp() -> dict[str, dict[str, Any]]:
    call = GKE.module_calls()["gke"]
    pools = {}
    for expression in _locals(GKE)["node_pools"]:
        name = re.search(r'\bname = "([a-z0-9-]+)"', expression)
        machine = re.search(r"machine_type = var\.(\w+)\.machine_type", expression)
        accelerator = re.search(r"accelerator_type = var\.(\w+)\.accelerator_type", expression)
        assert name, expression
        assert machine, expression
        defaults = GKE.variables()[machine[1]]["default"]
        instance = defaults["machine_type"]
        if accelerator:
            instance += "+" + GKE.variables()[accelerator[1]]["default"]["accelerator_type"]
        zones = 3  # regional cluster: node counts are per zone
        minimum = re.search(r"min_count = (\d+|var\.\w+\.min_count)", expression)
        assert minimum, expression
        low = int(minimum[1]) if minimum[1].isdigit() else defaults["min_count"]
        pools[name[1]] = {
            "labels": call["node_pools_labels"].get(name[1], {}),
            "taints": [
                {"key": t["key"], "value": t["value"], "effect": EFFECTS[t["effect"]]}
                for t in call["node_pools_taints"].get(name[1], [])
            ],
            "instance_types": [instance],
            "min_nodes": low * zones,
            "max_nodes": defaults["max_count"] * zones,
        }
    return pools


CODE = {"aws": _code_pools_aws, "azure": _code_pools_azure, "gcp": _code_pools_gcp}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_file_lists_exactly_the_pools_of_the_code(cloud: str) -> None:
    assert set(_pools(cloud)) == set(CODE[cloud]()), cloud


@pytest.mark.parametrize("cloud", CLOUDS)
def test_labels_taints_types_and_sizes_match_the_code(cloud: str) -> None:
    for name, code in CODE[cloud]().items():
        pool = _pools(cloud)[name]
        assert pool["labels"] == code["labels"], (cloud, name)
        if cloud == "azure" and name == "system":
            assert pool["taints"] == [
                {**code["taints"][0], "added_by": pool["taints"][0]["added_by"]}
            ], name
        else:
            assert _own_taints(pool) == code["taints"], (cloud, name)
        for field in ("instance_types", "min_nodes", "max_nodes"):
            if field in code:
                assert pool[field] == code[field], (cloud, name, field)


def test_karpenter_instance_labels_are_ones_the_nodepool_requires() -> None:
    """A Karpenter row's per-instance-type labels (the GPU name a pod selects) are values the
    NodePool's requirements allow, for every instance type it lists and for the family."""
    code = _code_pools_aws()
    rows = [r for r in recorded()["clouds"]["aws"] if r["kind"] == "karpenter-nodepool"]
    assert any(r.get("instance_labels") for r in rows)
    for row in rows:
        requirements = code[row["name"]]["requirements"]
        labels = row.get("instance_labels", {})
        assert set(labels) <= set(row["instance_types"]), row["name"]
        for instance, own in labels.items():
            assert own["node.kubernetes.io/instance-type"] == instance
            assert instance.startswith(own["karpenter.k8s.aws/instance-family"] + ".")
            for key, value in own.items():
                if key in requirements and requirements[key]["operator"] == "In":
                    assert value in requirements[key]["values"], (row["name"], instance, key)
        if labels:  # a pool with per-type labels constrains the GPU name it offers
            gpu_names = {own["karpenter.k8s.aws/instance-gpu-name"] for own in labels.values()}
            assert gpu_names == set(requirements["karpenter.k8s.aws/instance-gpu-name"]["values"])


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_instance_type_has_capacity_and_allocatable_with_a_source(cloud: str) -> None:
    types = recorded()["instance_types"][cloud]
    for pool in _pools(cloud).values():
        assert pool["instance_types"], pool["name"]
        for name in pool["instance_types"]:
            entry = types[name]
            assert entry["source"], name
            for resource in ("cpu", "memory", "nvidia.com/gpu"):
                assert _quantity(entry["allocatable"][resource]) <= _quantity(
                    entry["capacity"][resource]
                ), (name, resource)
            gpu = int(entry["allocatable"]["nvidia.com/gpu"])
            assert (gpu > 0) == (pool["labels"].get("workload") == "gpu"), (cloud, pool["name"])


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    match = re.fullmatch(r"([\d.]+)(m|Ki|Mi|Gi|)", text)
    assert match, text
    return float(match[1]) * units[match[2]]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_platform_pods_that_tolerate_nothing_have_an_always_on_pool(cloud: str) -> None:
    """Recorded pools: at least one without any taint and with at least one node."""
    untainted = [
        pool["name"]
        for pool in _pools(cloud).values()
        if not pool["taints"] and (pool["min_nodes"] or 0) >= 1
    ]
    assert untainted, f"{cloud}: every pool is tainted or scales to zero: nowhere for MLflow & co."


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_code_itself_has_an_untainted_always_on_pool(cloud: str) -> None:
    """The same property read from the .tf files directly (fails on the AKS before the fix)."""
    untainted = [
        name
        for name, pool in CODE[cloud]().items()
        if not pool["taints"] and pool.get("min_nodes", 0) >= 1
    ]
    assert untainted, f"{cloud}: no untainted pool with min >= 1 in the code"


def test_aks_platform_pool_is_on_demand_zonal_and_autoscaling() -> None:
    pool = AKS.resources()[("azurerm_kubernetes_cluster_node_pool", "platform")]
    assert pool["mode"] == "User"
    assert pool["priority"] == "Regular"
    assert pool["auto_scaling_enabled"] is True
    assert "node_taints" not in pool
    assert pool["zones"] == ["1", "2", "3"]
    default = AKS.variables()["platform_node_pool"]["default"]
    assert default["min_count"] >= 1
    assert default["max_count"] > default["min_count"]
