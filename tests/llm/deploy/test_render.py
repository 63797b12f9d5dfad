"""What ``mlp deploy llm`` renders: vLLM's flags, the GPU, the model URI, labels, and what it
refuses before rendering (options KServe v0.20 rejects, a model that does not fit)."""

from __future__ import annotations

import dataclasses

import pytest

import mlplatform.llm.deploy
from mlplatform.errors import CapacityError, DeployError, PromotionRejectedError
from mlplatform.llm.deploy import render, to_yaml

from ._specs import CLOUDS, KINDS, canary, spec, unapproved

TINY_URI = "hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0:fe8a4ea1ffedaf415f4da2f062534de366a451e6"


def _pod(doc):
    """The pod-level spec and the vLLM container of either kind."""
    if doc["kind"] == "LLMInferenceService":
        return doc["spec"]["template"], doc["spec"]["template"]["containers"][0]
    return doc["spec"]["predictor"], doc["spec"]["predictor"]["model"]


def test_the_public_api_is_pinned():
    assert sorted(mlplatform.llm.deploy.__all__) == [
        "KINDS",
        "LlmCanary",
        "LlmDeployOptions",
        "LlmDeploySpec",
        "check",
        "planned",
        "prune",
        "render",
        "to_json",
        "to_yaml",
        "undeploy",
    ]


def test_the_llm_inference_service_carries_the_model_and_vllm_flags():
    # GIVEN TinyLlama (a bfloat16 checkpoint) on GCP with a 1024-token context
    docs = render(spec("gcp", max_model_len=1024, gpu_memory_utilization=0.85))
    # THEN an LLMInferenceService, its PodMonitor and its route are rendered, in that order
    assert [d["kind"] for d in docs] == ["LLMInferenceService", "PodMonitor", "HTTPRoute"]
    body = docs[0]["spec"]
    # AND KServe gets the pinned revision in its own hf:// form, and the served name
    assert body["model"] == {"uri": TINY_URI, "name": "tinyllama-1.1b-chat"}
    # AND vLLM gets the context, the memory share, and float16: the T4 has no bfloat16
    assert body["template"]["containers"][0]["args"] == [
        "--max-model-len=1024",
        "--gpu-memory-utilization=0.85",
        "--dtype=float16",
    ]
    assert body["template"]["containers"][0]["name"] == "main"  # KServe's template container
    assert body["replicas"] == 1
    assert body["template"]["serviceAccountName"] == "kserve-storage"


def test_the_inference_service_runs_kserves_vllm_runtime():
    isvc = render(spec("aws", "inferenceservice", max_model_len=2048))[0]
    model = isvc["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "vLLM"}
    assert model["runtime"] == "kserve-vllmserver"
    assert model["storageUri"] == TINY_URI
    # our served name comes after the runtime's --served-model-name={{.Name}} and wins
    assert model["args"][0] == "--served-model-name=tinyllama-1.1b-chat"
    assert "--max-model-len=2048" in model["args"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert isvc["spec"]["predictor"]["minReplicas"] == isvc["spec"]["predictor"]["maxReplicas"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("gpus", [1, 2])
def test_gpus_are_requested_and_limited(kind, gpus):
    pool = "gpu-l4" if gpus > 1 else None
    pod, container = _pod(render(spec("gcp", kind, gpus=gpus, pool=pool))[0])
    resources = container["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == str(gpus)
    assert resources["limits"]["nvidia.com/gpu"] == str(gpus)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_several_gpus_shard_the_model_by_tensor_parallelism():
    llmisvc = render(spec("gcp", gpus=2, pool="gpu-l4"))[0]
    assert llmisvc["spec"]["parallelism"] == {"tensor": 2}
    isvc = render(spec("gcp", "inferenceservice", gpus=2, pool="gpu-l4"))[0]
    assert "--tensor-parallel-size=2" in isvc["spec"]["predictor"]["model"]["args"]


def test_the_pool_is_picked_by_capacity_and_keeps_the_checkpoint_dtype_where_it_can():
    # GIVEN Mistral-7B with an 8k context: too big for a T4, fits a 24 GB card
    doc = render(spec("gcp", model="mistral-7b-instruct", max_model_len=8192, concurrency=4))[0]
    template = doc["spec"]["template"]
    assert template["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert "--dtype=bfloat16" in template["containers"][0]["args"]  # the L4 has bfloat16
    assert doc["metadata"]["annotations"]["mlplatform.io/gpu-pool"] == "gpu-l4"


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_that_does_not_fit_is_refused_before_rendering(kind):
    # GIVEN Mistral-7B's whole 32k context for 16 sequences: no GPU of any cloud holds that
    too_big = spec("aws", kind, model="mistral-7b-instruct", max_model_len=32768, concurrency=16)
    with pytest.raises(CapacityError, match="does not fit") as caught:
        render(too_big)
    assert "--max-model-len" in caught.value.hint  # it says what to change


def test_a_pool_asked_for_by_name_is_still_capacity_checked():
    with pytest.raises(CapacityError):
        render(spec("azure", model="mistral-7b-instruct", max_model_len=8192, pool="gpu"))


def test_pod_labels_leave_kserves_part_of_label_alone():
    # KServe selects LLMInferenceService pods by app.kubernetes.io/part-of=llminferenceservice
    # and copies spec.labels over its own: ours must not carry that key.
    doc = render(spec("azure"))[0]
    pod_labels = doc["spec"]["labels"]
    assert "app.kubernetes.io/part-of" not in pod_labels
    assert pod_labels["mlplatform.io/model-version"] == "1.3.0"
    assert pod_labels["azure.workload.identity/use"] == "true"  # the storage identity on AKS
    assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mlplatform"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("kind", KINDS)
def test_governance_labels_are_those_of_predictive_models(cloud, kind):
    meta = render(spec(cloud, kind))[0]["metadata"]
    assert {k: meta["labels"][k] for k in meta["labels"] if k.startswith("mlplatform.io/")} == {
        "mlplatform.io/model-name": "tinyllama-1.1b",
        "mlplatform.io/model-version": "1.3.0",
        "mlplatform.io/owner": "ml-team",
        "mlplatform.io/model-stage": "staging",
        "mlplatform.io/mlflow-run-id": "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5",
        "mlplatform.io/inference-service": "tinyllama-1-1b",
        "mlplatform.io/serving-kind": "llm",  # what `mlp undeploy llm` selects by
    }
    assert meta["annotations"]["mlplatform.io/mlflow-run-id"] == "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"


@pytest.mark.parametrize("kind", KINDS)
def test_the_pod_monitor_scrapes_vllm_on_its_serving_port(kind):
    docs = render(spec("gcp", kind))
    monitor = docs[1]
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["path"] == "/metrics"
    assert endpoint["portNumber"] == (8000 if kind == "llminferenceservice" else 8080)
    # THEN its selector matches the labels the served pods carry
    pod_labels = (
        docs[0]["spec"]["labels"]
        if kind == "llminferenceservice"
        else (docs[0]["spec"]["predictor"]["labels"])
    )
    kserve_labels = (
        {
            "app.kubernetes.io/part-of": "llminferenceservice",
            "app.kubernetes.io/component": "llminferenceservice-workload",
        }
        if kind == "llminferenceservice"
        else {"serving.kserve.io/inferenceservice": "tinyllama-1-1b"}
    )
    labels = {**pod_labels, **kserve_labels}  # what KServe adds to the pods
    selector = monitor["spec"]["selector"]
    assert all(labels.get(k) == v for k, v in selector["matchLabels"].items())
    assert all(e["key"] in labels for e in selector.get("matchExpressions", []))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_replicas": 0}, "at least one replica"),
        ({"gpus": 0}, "0 GPUs"),
        ({"gpu_memory_utilization": 1.5}, "not a fraction"),
        ({"max_model_len": 4096}, "outside 1..2048"),
        ({"kind": "deployment"}, "unknown kind"),
        ({"stage": "prod"}, "unknown stage"),
        ({"name": "Tiny_Llama"}, "cannot name"),
        ({"cloud": "oracle"}, "unknown cloud"),
        ({"gpus": 2}, "chosen by hand"),
        ({"pool": "gpu-h100"}, "no GPU pool 'gpu-h100'"),
    ],
)
def test_bad_options_are_refused_with_the_flag_that_fixes_them(changes, message):
    with pytest.raises(DeployError, match=message) as caught:
        render(spec(**changes))
    assert "Pass" in caught.value.hint


def test_an_unpinned_hugging_face_uri_is_refused():
    with pytest.raises(DeployError, match="not pinned"):
        render(spec(uri="hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0"))


def test_object_store_uris_are_mapped_per_cloud_and_kind():
    # s3:// on AWS: both kinds download it
    s3 = "s3://llms/tinyllama/v1"
    assert render(spec("aws", uri=s3))[0]["spec"]["model"]["uri"] == s3
    # abfs:// on Azure: KServe reads the blob URL, and only the InferenceService can
    abfs = "abfs://llms@mlplatformartifacts.dfs.core.windows.net/tinyllama/v1"
    isvc = render(spec("azure", "inferenceservice", uri=abfs))[0]
    blob = "https://mlplatformartifacts.blob.core.windows.net/llms/tinyllama/v1"
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == blob
    with pytest.raises(DeployError, match="cannot download") as caught:
        render(spec("azure", uri=abfs))
    assert "--kind inferenceservice" in caught.value.hint
    # gs:// likewise on GCP
    assert render(spec("gcp", "inferenceservice", uri="gs://llms/tiny"))[0]
    with pytest.raises(DeployError, match="cannot download"):
        render(spec("gcp", uri="gs://llms/tiny"))
    # another cloud's store is refused
    with pytest.raises(DeployError, match="not on Google Cloud Storage"):
        render(spec("gcp", uri=s3))


def test_the_inference_service_needs_mlflow_lineage():
    import dataclasses

    unregistered = dataclasses.replace(spec("gcp", "inferenceservice"), run_id="")
    with pytest.raises(DeployError, match="model-lineage policy"):
        render(unregistered)
    # the LLMInferenceService is not matched by that policy: rendered without annotations
    llmisvc = render(dataclasses.replace(spec("gcp"), run_id=""))[0]
    assert "mlplatform.io/mlflow-run-id" not in llmisvc["metadata"]["annotations"]


def test_rendering_is_deterministic():
    assert to_yaml(render(spec("azure"))) == to_yaml(render(spec("azure")))


@pytest.mark.parametrize("kind", KINDS)
def test_production_carries_the_registry_approval_and_author(kind):
    # GIVEN version 3 approved by ada in the registry, authored by alice
    doc = render(spec(kind=kind, stage="production", canaries=(canary(4, 10),)))
    primary, challenger = doc[0]["metadata"], doc[1]["metadata"]
    # THEN each version's object carries its own semver and approval, from the registry
    assert primary["annotations"]["mlplatform.io/approved-by"] == "ada"
    assert primary["annotations"]["mlplatform.io/approval-ticket"] == "CHG-1042"
    assert primary["annotations"]["mlplatform.io/author"] == "alice"
    assert primary["labels"]["mlplatform.io/model-version"] == "1.3.0"
    assert challenger["labels"]["mlplatform.io/model-version"] == "1.4.0"
    assert challenger["annotations"]["mlplatform.io/approved-by"] == "ada"


def test_production_refuses_an_unapproved_version_a_catalog_key_and_an_unapproved_canary():
    with pytest.raises(PromotionRejectedError, match=r"production\.approval"):
        render(spec(stage="production", facts=unapproved()))
    with pytest.raises(PromotionRejectedError, match=r"metadata\.semver") as caught:
        render(spec(stage="production", facts=None))  # a catalog key: no registry facts
    assert "production.approval" in caught.value.headline
    late = dataclasses.replace(canary(4, 10), facts=unapproved(4))
    with pytest.raises(PromotionRejectedError, match=r"production\.approval") as caught:
        render(spec(stage="production", canaries=(late,)))
    assert "tinyllama-1.1b v4" in (caught.value.details or "")


def test_a_catalog_key_outside_production_is_labelled_n00_with_the_settings_owner():
    meta = render(spec(facts=None))[0]["metadata"]
    assert meta["labels"]["mlplatform.io/model-version"] == "3.0.0"
    assert meta["labels"]["mlplatform.io/owner"] == "ml-team"
    assert "mlplatform.io/author" not in meta["annotations"]
