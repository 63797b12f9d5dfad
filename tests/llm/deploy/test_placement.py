"""Would the scheduler put the vLLM pod on its GPU pool, and only there? Checked against the
node pools the infrastructure defines (infrastructure/terraform/node-pools.json), with the
scheduling model of tests/infrastructure/behaviour.

Each pool the renderer can pick must be a row of that table: the pod must tolerate exactly the
taints of the rows it lands on (ours and the cloud's), select only them, and fit their nodes.
The planned 24 GB pools and the Karpenter GPU-name selectors are not in the table yet: those
cases are strict xfails, which fail (XPASS) once the table describes them, so the marker goes.
"""

from __future__ import annotations

import pytest

from infrastructure.behaviour._pools import pools
from infrastructure.behaviour._scheduling import BLOCKING, landing_pools, tolerates, why_not
from mlplatform.llm.deploy import render
from mlplatform.llm.gpus import POOLS

from ._specs import KINDS, spec

# (cloud, pool) pairs node-pools.json does not describe yet (see the module docstring)
NOT_IN_TABLE = {
    ("aws", "gpu-workloads-t4"): "the table has no karpenter.k8s.aws/instance-gpu-name label",
    ("aws", "gpu-workloads-a10g"): "the table has no karpenter.k8s.aws/instance-gpu-name label",
    ("azure", "gpua10"): "the A10 pool is not in node-pools.json yet",
    ("gcp", "gpu-l4"): "the L4 pool is not in node-pools.json yet",
}


def _cases():
    for cloud, gpu_pools in POOLS.items():
        for pool in gpu_pools:
            for kind in KINDS:
                reason = NOT_IN_TABLE.get((cloud, pool.name))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(
                    cloud, pool.name, kind, marks=marks, id=f"{cloud}-{pool.name}-{kind}"
                )


def _pod_spec(doc):
    if doc["kind"] == "LLMInferenceService":
        return doc["spec"]["template"]
    predictor = doc["spec"]["predictor"]
    return {**predictor, "containers": [predictor["model"]]}


def _taint_set(taints):
    return {(t.key, t.value, t.effect) for t in taints if t.effect in BLOCKING}


@pytest.mark.parametrize(("cloud", "pool", "kind"), list(_cases()))
def test_the_pod_lands_on_its_gpu_pool_and_tolerates_exactly_its_taints(cloud, pool, kind):
    # GIVEN TinyLlama rendered for one GPU pool of the cloud
    pod = _pod_spec(render(spec(cloud, kind, pool=pool))[0])
    rows = pools(cloud)
    # THEN it lands on GPU rows of the table only, and on at least one
    landed = [r for r in rows if r.name in landing_pools(pod, rows)]
    reasons = {r.name: why_not(pod, r) for r in rows}
    assert landed, f"{cloud}/{pool} lands on no pool of node-pools.json: {reasons}"
    assert all(r.gpu for r in landed), [r.name for r in landed]
    # AND every toleration is one of those pools' taints: none tolerates what is not there
    tolerated = {(t["key"], t["value"], t["effect"]) for t in pod["tolerations"]}
    for row in landed:
        assert all(tolerates(pod["tolerations"], t) for t in row.taints)
        assert tolerated == _taint_set(row.taints), row.name


def test_a_gpu_pod_without_its_tolerations_lands_nowhere():
    # The check above can fail: drop the tolerations and the tainted GPU pools refuse the pod.
    pod = _pod_spec(render(spec("azure"))[0])
    rows = pools("azure")
    assert landing_pools({**pod, "tolerations": []}, rows) == []
