"""`mlp undeploy model`: what it deletes (the plan, from rendered objects), the calls it makes
to the cluster, and the pruning after a deploy, against a fake dynamic client (``_cluster``)."""

from __future__ import annotations

import pytest

from mlplatform.errors import DeployError
from mlplatform.serving.deploy import (
    KubernetesApplier,
    apply_all,
    planned,
    prune,
    render,
    undeploy,
)
from mlplatform.serving.deploy.undeploy import OWNED_KINDS, selector

from ._cluster import FakeCluster
from ._specs import spec

SELECTOR = (
    "app.kubernetes.io/managed-by=mlp,mlplatform.io/inference-service=churn-model,"
    "!mlplatform.io/serving-kind"  # never an LLM deployment's objects (mlp undeploy llm's)
)
SCALE_TO_ZERO = {"autoscaler": "keda", "min_replicas": 0}


def deployed(*specs):
    """A fake cluster holding what `mlp deploy model` applied for each spec."""
    cluster = FakeCluster()
    for s in specs:
        apply_all(render(s), KubernetesApplier(client=cluster))
    cluster.calls.clear()
    return cluster


def test_the_plan_is_every_rendered_object_but_the_shared_runtime():
    # GIVEN a scale-to-zero deployment (five documents)
    docs = render(spec(**SCALE_TO_ZERO))
    # THEN undeploying would delete the four that belong to it, traffic first
    assert [str(r) for r in planned(docs)] == [
        "HTTPRoute/kserve/churn-model",
        "HTTPScaledObject/kserve/churn-model",
        "PodMonitor/kserve/churn-model",
        "InferenceService/kserve/churn-model",
    ]
    # AND every document but the ServingRuntime carries the selector's labels
    owned = {d["kind"] for d in docs if d["kind"] != "ServingRuntime"}
    assert owned == {kind for _, kind in OWNED_KINDS}
    for doc in docs:
        labels = doc["metadata"]["labels"]
        terms = SELECTOR.split(",")
        matches = all(
            labels.get(k) == v for k, v in (t.split("=") for t in terms if "=" in t)
        ) and all(t[1:] not in labels for t in terms if t.startswith("!"))
        assert matches == (doc["kind"] != "ServingRuntime"), doc["kind"]


def test_undeploy_deletes_exactly_what_deploy_applied_for_that_model():
    # GIVEN churn-model (scaling to zero) and another model deployed in the same namespace
    other = spec(name="fraud", min_replicas=1)
    cluster = deployed(spec(**SCALE_TO_ZERO), other)
    before = set(cluster.names())
    # WHEN churn-model is undeployed
    gone = undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=True)
    # THEN exactly the planned objects were deleted, in the planned order
    assert gone == planned(render(spec(**SCALE_TO_ZERO)))
    assert before - set(cluster.names()) == {str(r) for r in gone}
    assert [c for c in cluster.calls if c[0] == "delete"] == [("delete", str(r)) for r in gone]
    # AND the other model and the shared runtime are untouched
    assert set(cluster.names()) == {
        "ServingRuntime/kserve/mlplatform-serving",
        "InferenceService/kserve/fraud",
        "HTTPRoute/kserve/fraud",
        "PodMonitor/kserve/fraud",
    }
    # AND each kind was listed in the serving namespace with the label selector
    assert [c for c in cluster.calls if c[0] == "list"] == [
        ("list", f"{kind}/kserve?{SELECTOR}") for _, kind in OWNED_KINDS
    ]


def test_without_delete_nothing_is_deleted():
    cluster = deployed(spec())
    found = undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=False)
    assert [str(r) for r in found] == [
        "HTTPRoute/kserve/churn-model",
        "PodMonitor/kserve/churn-model",
        "InferenceService/kserve/churn-model",
    ]
    assert not [c for c in cluster.calls if c[0] != "list"]
    assert len(cluster.names()) == 4


def test_nothing_deployed_under_that_name_is_a_clear_error():
    cluster = deployed(spec())
    with pytest.raises(DeployError, match="no model named 'churn' was deployed by mlp") as caught:
        undeploy("churn", "kserve", KubernetesApplier(client=cluster), delete=True)
    assert "kubectl get inferenceservices -n kserve" in caught.value.hint
    # AND in another namespace the same name is not found either
    with pytest.raises(DeployError, match="in namespace 'models'"):
        undeploy("churn-model", "models", KubernetesApplier(client=cluster), delete=True)
    assert len(cluster.names()) == 4


def test_an_object_made_by_hand_with_the_same_name_is_not_deleted():
    # GIVEN an HTTPRoute named like the model but not labelled by mlp
    cluster = deployed(spec())
    cluster.add({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "churn-model-canary", "namespace": "kserve",
                     "labels": {"mlplatform.io/inference-service": "churn-model"}},
    })  # fmt: skip
    undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=True)
    assert cluster.names() == [
        "HTTPRoute/kserve/churn-model-canary",
        "ServingRuntime/kserve/mlplatform-serving",
    ]


def test_a_cluster_without_the_http_add_on_is_listed_without_it():
    # GIVEN a cluster that does not serve HTTPScaledObject (no KEDA HTTP add-on)
    cluster = FakeCluster(served={"ServingRuntime", "InferenceService", "HTTPRoute", "PodMonitor"})
    apply_all(render(spec()), KubernetesApplier(client=cluster))
    # THEN undeploying still finds and deletes the rest
    gone = undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=True)
    assert len(gone) == 3
    assert cluster.names() == ["ServingRuntime/kserve/mlplatform-serving"]


def test_a_forbidden_delete_names_the_object_and_the_role():
    cluster = deployed(spec())
    cluster.forbid = "delete PodMonitor"
    with pytest.raises(DeployError, match="refused PodMonitor/kserve/churn-model: 403") as caught:
        undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=True)
    assert "ml-engineer Role" in caught.value.hint


def test_deploying_again_without_scale_to_zero_prunes_the_http_scaled_object():
    # GIVEN churn-model deployed to scale to zero (its HTTPScaledObject scales the predictor)
    cluster = deployed(spec(**SCALE_TO_ZERO))
    # WHEN it is deployed again with one replica at least (KServe's ScaledObject scales it)
    docs = render(spec(autoscaler="keda", min_replicas=1))
    apply_all(docs, KubernetesApplier(client=cluster))
    stale = prune(docs, KubernetesApplier(client=cluster))
    # THEN the HTTPScaledObject is deleted, so only one scaler targets the predictor
    assert [str(r) for r in stale] == ["HTTPScaledObject/kserve/churn-model"]
    assert "HTTPScaledObject/kserve/churn-model" not in cluster.names()
    # AND pruning an unchanged deployment deletes nothing
    assert prune(docs, KubernetesApplier(client=cluster)) == []
    assert len(cluster.names()) == 4


def test_the_selector_is_the_labels_render_puts_on_every_object():
    assert selector("churn-model") == SELECTOR


def test_an_llm_is_never_taken_for_a_model_of_that_name():
    # GIVEN only an LLM deployed as "churn-model" (mlp deploy llm)
    from llm.deploy._specs import spec as llm_spec
    from mlplatform.llm.deploy import render as render_llm
    from mlplatform.llm.deploy.undeploy import undeploy as undeploy_llm

    cluster = FakeCluster()
    apply_all(render_llm(llm_spec(name="churn-model")), KubernetesApplier(client=cluster))
    before = cluster.names()
    # WHEN `mlp undeploy model churn-model` runs
    with pytest.raises(DeployError, match="no model named 'churn-model'"):
        undeploy("churn-model", "kserve", KubernetesApplier(client=cluster), delete=True)
    # THEN nothing of the LLM was deleted, and `mlp undeploy llm` is what finds it
    assert cluster.names() == before
    found = undeploy_llm("churn-model", "kserve", KubernetesApplier(client=cluster), delete=False)
    assert {r.kind for r in found} >= {"LLMInferenceService", "HTTPRoute", "PodMonitor"}
