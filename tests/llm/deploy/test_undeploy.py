"""`mlp undeploy llm`: the plan (from rendered objects), the calls made to the cluster, and
the pruning after a deploy (a promoted canary's workload, a scaler no longer rendered),
against the fake dynamic client of the predictive deployer's tests (``serving.deploy._cluster``:
no API server runs here)."""

from __future__ import annotations

import pytest

from mlplatform.errors import DeployError
from mlplatform.llm.deploy import planned, prune, render, undeploy
from mlplatform.llm.deploy.undeploy import LLMS, OWNED_KINDS, selector
from mlplatform.serving.deploy import DeployOptions, DeploySpec, KubernetesApplier, VariantSpec
from mlplatform.serving.deploy import render as render_model
from serving.deploy._cluster import FakeCluster

from ._specs import RUN, canary, spec

SELECTOR = (
    "app.kubernetes.io/managed-by=mlp,mlplatform.io/inference-service=tinyllama-1-1b,"
    "mlplatform.io/serving-kind=llm"
)
ZERO = {"min_replicas": 0, "max_replicas": 2}


def deployed(*docs_lists):
    cluster = FakeCluster()
    for docs in docs_lists:
        apply_all_docs(docs, cluster)
    cluster.calls.clear()
    return cluster


def apply_all_docs(docs, cluster):
    from mlplatform.serving.deploy import apply_all

    apply_all(docs, KubernetesApplier(client=cluster))


def test_the_plan_is_every_rendered_object_traffic_first():
    docs = render(spec("aws", "inferenceservice", **ZERO))
    assert [str(r) for r in planned(docs)] == [
        "HTTPRoute/kserve/tinyllama-1-1b",
        "HTTPScaledObject/kserve/tinyllama-1-1b",
        "ScaledObject/kserve/tinyllama-1-1b",
        "PodMonitor/kserve/tinyllama-1-1b",
        "InferenceService/kserve/tinyllama-1-1b",
    ]
    # AND every document carries the selector's labels
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in (t.split("=") for t in SELECTOR.split(",")))
    assert selector("tinyllama-1-1b") == SELECTOR


def test_undeploy_deletes_both_versions_and_leaves_other_models_alone():
    # GIVEN TinyLlama with a canary, another LLM, a predictive model, and an object made by
    # hand with TinyLlama's deployment label but not mlp's LLM label
    tiny = render(spec("gcp", canaries=(canary(),)))
    other = render(spec("gcp", name="other-llm"))
    options = DeployOptions(cloud="gcp", image="x")
    model = render_model(DeploySpec("churn", VariantSpec(3, "gs://b/m", RUN, "1"), options))
    cluster = deployed(tiny, other, model)
    cluster.add({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "by-hand", "namespace": "kserve", "labels": {
            "app.kubernetes.io/managed-by": "mlp",
            "mlplatform.io/inference-service": "tinyllama-1-1b"}},
    })  # fmt: skip
    before = set(cluster.names())
    # WHEN TinyLlama is undeployed
    gone = undeploy("tinyllama-1-1b", "kserve", KubernetesApplier(client=cluster), delete=True)
    # THEN exactly its objects went, both versions' workloads included, in the planned order
    assert gone == planned(tiny)
    assert "LLMInferenceService/kserve/tinyllama-1-1b-v4" in {str(r) for r in gone}
    assert before - set(cluster.names()) == {str(r) for r in gone}
    assert [c for c in cluster.calls if c[0] == "delete"] == [("delete", str(r)) for r in gone]
    # AND the other LLM, the predictive model and the object made by hand are untouched
    assert "LLMInferenceService/kserve/other-llm" in cluster.names()
    assert "InferenceService/kserve/churn" in cluster.names()
    assert "HTTPRoute/kserve/by-hand" in cluster.names()
    # AND each kind was listed in the namespace with the LLM selector
    assert [c for c in cluster.calls if c[0] == "list"] == [
        ("list", f"{kind}/kserve?{SELECTOR}") for _, kind in OWNED_KINDS
    ]


def test_without_yes_nothing_is_deleted():
    cluster = deployed(render(spec("aws")))
    found = undeploy("tinyllama-1-1b", "kserve", KubernetesApplier(client=cluster), delete=False)
    assert len(found) == 3
    assert not [c for c in cluster.calls if c[0] != "list"]


def test_nothing_of_that_name_is_a_clear_error():
    cluster = deployed(render(spec("aws")))
    with pytest.raises(DeployError, match="no LLM named 'tiny' was deployed") as caught:
        undeploy("tiny", "kserve", KubernetesApplier(client=cluster), delete=True)
    assert "kubectl get llminferenceservices,inferenceservices -n kserve" in caught.value.hint


def test_a_promotion_prunes_the_canary_and_a_scale_change_prunes_the_scalers():
    # GIVEN version 3 with version 4 as a canary
    cluster = deployed(render(spec("gcp", canaries=(canary(),))))
    # WHEN version 4 is deployed as the primary, without a canary
    promoted = render(spec("gcp"))
    apply_all_docs(promoted, cluster)
    stale = prune(promoted, KubernetesApplier(client=cluster))
    # THEN the canary's workload is deleted (its GPU freed), and nothing else
    assert [str(r) for r in stale] == ["LLMInferenceService/kserve/tinyllama-1-1b-v4"]
    assert prune(promoted, KubernetesApplier(client=cluster)) == []
    # AND a model that no longer scales to zero loses its HTTPScaledObject and ScaledObject
    cluster = deployed(render(spec("aws", "inferenceservice", **ZERO)))
    fixed = render(spec("aws", "inferenceservice"))
    apply_all_docs(fixed, cluster)
    assert [str(r) for r in prune(fixed, KubernetesApplier(client=cluster))] == [
        "HTTPScaledObject/kserve/tinyllama-1-1b",
        "ScaledObject/kserve/tinyllama-1-1b",
    ]


def test_a_model_and_an_llm_never_share_a_name_in_a_namespace():
    # GIVEN a predictive model deployed as "tiny" (mlp deploy model)
    from mlplatform.serving.deploy import apply_all
    from mlplatform.serving.deploy.undeploy import MODELS
    from serving.deploy._specs import spec as model_spec

    cluster = FakeCluster()
    model_docs = render_model(model_spec(name="tiny"))
    apply_all(model_docs, KubernetesApplier(client=cluster))
    before = cluster.names()
    llm_docs = render(spec(name="tiny"))
    # WHEN an LLM is to be deployed under the same name, THEN nothing is applied
    with pytest.raises(DeployError, match="already deployed as a model") as refused:
        LLMS.refuse_collisions(llm_docs, KubernetesApplier(client=cluster), MODELS)
    assert "mlp undeploy model tiny --yes" in refused.value.hint
    assert cluster.names() == before
    # AND the other way round: a model where an LLM of that name runs is refused too
    llm_cluster = FakeCluster()
    apply_all(llm_docs, KubernetesApplier(client=llm_cluster))
    with pytest.raises(DeployError, match="already deployed as an LLM"):
        MODELS.refuse_collisions(model_docs, KubernetesApplier(client=llm_cluster), LLMS)
    # AND another name is fine
    LLMS.refuse_collisions(render(spec(name="other")), KubernetesApplier(client=cluster), MODELS)
