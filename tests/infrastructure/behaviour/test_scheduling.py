"""Scheduling: every pod template lands on a node pool of its cloud; GPU pods only on GPU pools.

GIVEN each cloud's node pools (``_pools``) and every pod we render or configure (``_rendered``)
WHEN the scheduler's filters are applied (``_scheduling``) THEN each pod has a pool, and a pod
that requests ``nvidia.com/gpu`` has only GPU pools.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._pools import pools, source
from ._rendered import CLOUDS, Workload, workloads
from ._scheduling import (
    GPU,
    InstanceType,
    NodePool,
    Taint,
    affinity_matches,
    landing_pools,
    requests,
    tolerates,
    why_not,
)

GI = 2**30
GPU_TAINT = Taint("nvidia.com/gpu", "true", "NoSchedule")
SMALL = (InstanceType("small", 2, 8 * GI),)
GPU_POOL = NodePool("gpu", {"workload": "gpu"}, (GPU_TAINT,), (InstanceType("g", 4, 16 * GI, 1),))
PLAIN = NodePool("general", {"workload": "general"}, (), SMALL)


# ---- the evaluator, on hand-made cases -----------------------------------------------------
def test_an_equal_toleration_matches_key_value_and_effect() -> None:
    assert tolerates(
        [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        GPU_TAINT,
    )
    assert not tolerates([{"key": "nvidia.com/gpu", "value": "present"}], GPU_TAINT)
    assert not tolerates(
        [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoExecute"}], GPU_TAINT
    )


def test_exists_matches_any_value_and_an_empty_key_matches_every_taint() -> None:
    assert tolerates([{"key": "nvidia.com/gpu", "operator": "Exists"}], GPU_TAINT)
    assert tolerates([{"operator": "Exists"}], Taint("anything", "x", "NoExecute"))
    assert not tolerates([{"key": "workload", "operator": "Exists"}], GPU_TAINT)


def test_a_tainted_pool_refuses_a_pod_without_the_toleration() -> None:
    pod = {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}
    assert why_not(pod, GPU_POOL) == "taint nvidia.com/gpu=true:NoSchedule not tolerated"
    assert landing_pools(pod, [GPU_POOL, PLAIN]) == ["general"]


def test_prefer_no_schedule_never_blocks() -> None:
    soft = NodePool("soft", {}, (Taint("k", "v", "PreferNoSchedule"),), SMALL)
    assert why_not({"containers": []}, soft) is None


def test_node_selector_and_required_affinity_operators() -> None:
    labels = {"workload": "gpu", "gen": "5"}
    assert why_not({"nodeSelector": {"workload": "training"}, "containers": []}, PLAIN)
    for op, values, expected in [
        ("In", ["gpu"], True),
        ("NotIn", ["gpu"], False),
        ("Exists", [], True),
        ("DoesNotExist", [], False),
        ("Gt", ["4"], True),
        ("Lt", ["4"], False),
    ]:
        key = "gen" if op in ("Gt", "Lt") else "workload"
        term = {"matchExpressions": [{"key": key, "operator": op, "values": values}]}
        affinity = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
            }
        }
        assert affinity_matches(affinity, labels) is expected, op


def test_terms_are_ored_and_expressions_anded() -> None:
    no = {"key": "workload", "operator": "In", "values": ["x"]}
    yes = {"key": "workload", "operator": "Exists"}
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    ored = {
        "nodeAffinity": {
            req: {"nodeSelectorTerms": [{"matchExpressions": [no]}, {"matchExpressions": [yes]}]}
        }
    }
    anded = {"nodeAffinity": {req: {"nodeSelectorTerms": [{"matchExpressions": [no, yes]}]}}}
    assert affinity_matches(ored, {"workload": "gpu"})
    assert not affinity_matches(anded, {"workload": "gpu"})


def test_requests_must_fit_an_instance_type() -> None:
    big = {
        "containers": [
            {"resources": {"requests": {"cpu": "1", "memory": "6Gi"}}},
            {"resources": {"limits": {"memory": "4Gi"}}},
        ]
    }
    assert requests(big)["memory"] == 10 * GI  # a limit alone is the request
    assert why_not(big, PLAIN) is not None
    init = {"initContainers": [{"resources": {"requests": {"cpu": "3"}}}], "containers": []}
    assert why_not(init, PLAIN) is not None
    gpu_pod = {
        "containers": [{"resources": {"limits": {GPU: "1"}}}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
    }
    assert landing_pools(gpu_pod, [GPU_POOL, PLAIN]) == ["gpu"]


# ---- the rendered objects -----------------------------------------------------------------
def _admitted(cloud: str, pod: dict[str, Any]) -> dict[str, Any]:
    """GKE runs the ExtendedResourceToleration admission plugin: a pod that requests
    nvidia.com/gpu gets a toleration for every nvidia.com/gpu taint."""
    if cloud == "gcp" and requests(pod).get(GPU):
        return {
            **pod,
            "tolerations": [*pod.get("tolerations", []), {"key": GPU, "operator": "Exists"}],
        }
    return pod


def _cases() -> list[tuple[str, Workload]]:
    return [(c, w) for c in CLOUDS for w in workloads(c)]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_cloud_has_the_pools_the_design_names(cloud: str) -> None:
    names = {p.name for p in pools(cloud)}
    assert names, f"no node pools read from {source()}"
    assert any(p.gpu for p in pools(cloud)), names
    assert any(not p.gpu and not p.taints for p in pools(cloud)), (
        f"{cloud}: every pool is tainted ({source()}); platform services need an untainted one"
    )


@pytest.mark.parametrize(("cloud", "workload"), _cases(), ids=lambda v: getattr(v, "ident", v))
def test_every_pod_lands_on_a_pool(cloud: str, workload: Workload) -> None:
    pod = _admitted(cloud, dict(workload.pod_spec))
    landed = landing_pools(pod, pools(cloud))
    reasons = {p.name: why_not(pod, p) for p in pools(cloud)}
    assert landed, f"{workload.ident} lands on no {cloud} pool: {reasons}"


def _gpu_cases() -> list[tuple[str, Workload]]:
    return [(c, w) for c, w in _cases() if requests(w.pod_spec).get(GPU)]


@pytest.mark.parametrize(("cloud", "workload"), _gpu_cases(), ids=lambda v: getattr(v, "ident", v))
def test_gpu_pods_land_only_on_gpu_pools(cloud: str, workload: Workload) -> None:
    pod = _admitted(cloud, dict(workload.pod_spec))
    by_name = {p.name: p for p in pools(cloud)}
    landed = [by_name[n] for n in landing_pools(pod, pools(cloud))]
    assert landed, f"{workload.ident} lands on no {cloud} pool"
    assert all(p.gpu for p in landed), [p.name for p in landed]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_gpu_pipeline_step_is_rendered(cloud: str) -> None:
    """The GPU cases above are not vacuous: a compiled step requests a GPU on every cloud."""
    assert any(c == cloud for c, _ in _gpu_cases())
