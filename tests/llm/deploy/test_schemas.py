"""Every document the LLM renderer writes validates against the strict CRD schemas (KServe
v0.20's LLMInferenceService v1alpha2 and InferenceService v1beta1, Prometheus Operator's
PodMonitor, the Gateway API v1 HTTPRoute, KEDA's ScaledObject and the HTTP add-on's
HTTPScaledObject), and the schemas bite."""

from __future__ import annotations

import itertools

import pytest

from mlplatform.llm.deploy import render

from ._specs import CLOUDS, KINDS, canary, spec

VARIANTS = {
    "tiny": {},
    "mistral-24gb": {"model": "mistral-7b-instruct", "max_model_len": 8192, "concurrency": 4},
    "two-gpus": {"gpus": 2, "pool": "gpu-l4", "min_replicas": 2},
    "own-image": {
        "image": "vllm/vllm-openai:v0.11.0",
        "stage": "production",
    },
    "canaries": {"canaries": (canary(4, 10), canary(5, 5)), "hostname": "{name}.example.org"},
}
ISVC_ONLY = {  # KEDA scales only the InferenceService form
    "range": {"min_replicas": 1, "max_replicas": 3, "canaries": (canary(),)},
    "zero": {"min_replicas": 0, "max_replicas": 2},
}


@pytest.mark.parametrize(
    ("cloud", "kind", "variant"), list(itertools.product(CLOUDS, KINDS, VARIANTS))
)
def test_rendered_documents_validate_strictly(cloud, kind, variant, validate):
    changes = dict(VARIANTS[variant])
    if "pool" in changes:  # each cloud names its 24 GB pool differently
        changes["pool"] = {"aws": "gpu-workloads-a10g", "azure": "gpua10", "gcp": "gpu-l4"}[cloud]
    for doc in render(spec(cloud, kind, **changes)):
        validate(doc)


@pytest.mark.parametrize(("cloud", "variant"), list(itertools.product(CLOUDS, ISVC_ONLY)))
def test_scaled_documents_validate_strictly(cloud, variant, validate):
    docs = render(spec(cloud, "inferenceservice", **ISVC_ONLY[variant]))
    assert "ScaledObject" in {d["kind"] for d in docs}
    for doc in docs:
        validate(doc)


def test_the_route_and_scaler_schemas_are_strict(validate):
    docs = render(spec("aws", "inferenceservice", min_replicas=0, max_replicas=2))
    route, hso, so = docs[2], docs[3], docs[4]
    route["spec"]["rules"][0]["matches"][0]["headers"][0]["type"] = "Prefix"
    with pytest.raises(AssertionError, match="'Prefix' is not one of"):
        validate(route)
    hso["spec"]["scaleTargetRef"]["deployment"] = "x"  # the pre-0.9 field
    with pytest.raises(AssertionError, match="Additional properties"):
        validate(hso)
    del so["spec"]["scaleTargetRef"]["name"]
    with pytest.raises(AssertionError, match="'name' is a required property"):
        validate(so)


def test_the_llm_inference_service_schema_is_strict(validate):
    # GIVEN a valid LLMInferenceService
    doc = render(spec("gcp"))[0]
    validate(doc)
    # THEN a field v0.20 does not know is refused (scale to zero is not in the model spec)
    doc["spec"]["model"]["minReplicas"] = 0
    with pytest.raises(AssertionError, match="Additional properties"):
        validate(doc)
    # AND the model's URI is required
    doc = render(spec("gcp"))[0]
    del doc["spec"]["model"]["uri"]
    with pytest.raises(AssertionError, match="'uri' is a required property"):
        validate(doc)


def test_the_inference_service_schema_is_strict(validate):
    doc = render(spec("aws", "inferenceservice"))[0]
    doc["spec"]["predictor"]["model"]["modelFormat"]["runtime"] = "vllm"
    with pytest.raises(AssertionError, match="Additional properties"):
        validate(doc)
