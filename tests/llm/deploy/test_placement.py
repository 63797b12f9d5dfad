"""Would the scheduler put the vLLM pod on its GPU pool, and only there? Checked against the
node pools the infrastructure defines (infrastructure/terraform/node-pools.json), with the
scheduling model of tests/infrastructure/behaviour.

Each pool the renderer can pick must be a row of that table: the pod must tolerate exactly the
taints of the rows it lands on (ours and the cloud's), select only them, and fit their nodes.
On AWS one Karpenter NodePool holds three GPU classes; the table gives each of its instance
types the ``karpenter.k8s.aws/instance-gpu-name`` label Karpenter puts on its nodes, so a pod
lands there only through an instance type with its card.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from infrastructure.behaviour._pools import TABLE, pools
from infrastructure.behaviour._scheduling import BLOCKING, landing_pools, tolerates, why_not
from mlplatform.llm.deploy import render
from mlplatform.llm.gpus import POOLS

from ._specs import KINDS, spec

TWENTY_FOUR_GB = {"A10G", "L4", "A10"}
# gpus.py's card names -> the table's (gpu_model "NVIDIA A10G 24GB" -> "A10G")
TABLE_MODEL = {
    "nvidia-tesla-t4": "T4",
    "nvidia-a10g": "A10G",
    "nvidia-l4": "L4",
    "nvidia-a10": "A10",
}


def _cases():
    for cloud, gpu_pools in POOLS.items():
        for pool in gpu_pools:
            for kind in KINDS:
                yield pytest.param(cloud, pool.name, kind, id=f"{cloud}-{pool.name}-{kind}")


def _pod_spec(doc):
    if doc["kind"] == "LLMInferenceService":
        return doc["spec"]["template"]
    predictor = doc["spec"]["predictor"]
    return {**predictor, "containers": [predictor["model"]]}


def _taint_set(taints):
    return {(t.key, t.value, t.effect) for t in taints if t.effect in BLOCKING}


def _landed(pod, cloud):
    rows = pools(cloud)
    landed = [r for r in rows if r.name in landing_pools(pod, rows)]
    assert landed, f"lands on no {cloud} pool of node-pools.json: " + str(
        {r.name: why_not(pod, r) for r in rows}
    )
    return landed


def _gpu_model(instance: str) -> str:
    """The card of an instance type, as the table names it ("A10G" from "NVIDIA A10G 24GB")."""
    for types in json.loads(TABLE.read_text())["instance_types"].values():
        if instance in types:
            return re.sub(r"^NVIDIA (\S+) .*$", r"\1", str(types[instance].get("gpu_model", "")))
    raise AssertionError(f"no instance type {instance} in {TABLE}")


def _cards(pod, row):
    """The cards of the row's instance types the pod could land on."""
    return {
        _gpu_model(i.name)
        for i in row.instance_types
        if why_not(pod, dataclasses.replace(row, instance_types=(i,))) is None
    }


@pytest.mark.parametrize(("cloud", "pool", "kind"), list(_cases()))
def test_the_pod_lands_on_its_gpu_pool_and_tolerates_exactly_its_taints(cloud, pool, kind):
    # GIVEN TinyLlama rendered for one GPU pool of the cloud
    pod = _pod_spec(render(spec(cloud, kind, pool=pool))[0])
    # THEN it lands on GPU rows of the table only, and on at least one
    landed = _landed(pod, cloud)
    assert all(r.gpu for r in landed), [r.name for r in landed]
    # AND every toleration is one of those pools' taints: none tolerates what is not there
    tolerated = {(t["key"], t["value"], t["effect"]) for t in pod["tolerations"]}
    for row in landed:
        assert all(tolerates(pod["tolerations"], t) for t in row.taints)
        assert tolerated == _taint_set(row.taints), row.name


@pytest.mark.parametrize(
    ("cloud", "pool"), [(c, p.name) for c, ps in POOLS.items() for p in ps], ids=str
)
def test_the_pool_gives_the_card_gpus_py_names(cloud, pool):
    """gpus.py and node-pools.json agree: a pod for a pool lands only on nodes with its card."""
    gpu = next(p.gpu for p in POOLS[cloud] if p.name == pool)
    pod = _pod_spec(render(spec(cloud, pool=pool))[0])
    cards = set().union(*(_cards(pod, row) for row in _landed(pod, cloud)))
    assert cards == {TABLE_MODEL[gpu.name]}, (cloud, pool, cards)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cloud", list(POOLS))
def test_mistral_7b_is_scheduled_onto_the_24_gb_pool(cloud, kind):
    # GIVEN Mistral-7B (8k context, 4 sequences) rendered on the pool the capacity check picks
    mistral = spec(cloud, kind, model="mistral-7b-instruct", max_model_len=8192, concurrency=4)
    pod = _pod_spec(render(mistral)[0])
    # THEN the scheduler puts it only on nodes whose card is a 24 GB one
    cards = set().union(*(_cards(pod, row) for row in _landed(pod, cloud)))
    assert cards, cloud
    assert cards <= TWENTY_FOUR_GB, (cloud, cards)


def test_every_gpu_row_of_the_table_is_a_pool_the_renderer_can_pick():
    """The other direction: no 24 GB row the catalog cannot reach (the EKS managed group
    ``gpu`` and the Karpenter pool hold the same T4 class; the renderer uses Karpenter)."""
    for cloud in POOLS:
        reachable = set()
        for pool in POOLS[cloud]:
            pod = _pod_spec(render(spec(cloud, pool=pool.name))[0])
            reachable |= {r.name for r in _landed(pod, cloud)}
        big = {
            r.name
            for r in pools(cloud)
            if any(_gpu_model(i.name) in TWENTY_FOUR_GB for i in r.instance_types)
        }
        assert big <= reachable, (cloud, big - reachable)


def test_a_gpu_pod_without_its_tolerations_lands_nowhere():
    # The check above can fail: drop the tolerations and the tainted GPU pools refuse the pod.
    pod = _pod_spec(render(spec("azure"))[0])
    rows = pools("azure")
    assert landing_pools({**pod, "tolerations": []}, rows) == []


def test_a_karpenter_gpu_name_no_instance_type_has_lands_nowhere():
    # The per-instance-type labels decide: a card the AWS pool does not offer finds no node.
    pod = _pod_spec(render(spec("aws", pool="gpu-workloads-a10g"))[0])
    pod = {
        **pod,
        "nodeSelector": {**pod["nodeSelector"], "karpenter.k8s.aws/instance-gpu-name": "h100"},
    }
    assert landing_pools(pod, pools("aws")) == []
