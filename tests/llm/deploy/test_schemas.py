"""Every document the LLM renderer writes validates against the strict CRD schemas (KServe
v0.20's LLMInferenceService v1alpha2 and InferenceService v1beta1, Prometheus Operator's
PodMonitor), and the schemas bite."""

from __future__ import annotations

import itertools

import pytest

from mlplatform.llm.deploy import render

from ._specs import CLOUDS, KINDS, spec

VARIANTS = {
    "tiny": {},
    "mistral-24gb": {"model": "mistral-7b-instruct", "max_model_len": 8192, "concurrency": 4},
    "two-gpus": {"gpus": 2, "pool": "gpu-l4", "replicas": 2},
    "own-image": {"image": "vllm/vllm-openai:v0.11.0", "stage": "production"},
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
