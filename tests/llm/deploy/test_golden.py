"""Rendered YAML per cloud and kind (and a canary, a KEDA range and scale to zero), compared
byte for byte.

A difference means the renderer's output changed. If that is intended, regenerate with
``MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm/deploy/test_golden.py`` and review the
diff like code. Every golden document also validates against the strict CRD schemas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from _golden import compare, existing
from mlplatform.llm.deploy import LlmDeploySpec, render, to_yaml

from ._specs import CLOUDS, KINDS, canary, spec

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm/deploy/test_golden.py"
SHORT = {"llminferenceservice": "llmisvc", "inferenceservice": "isvc"}
CASES: dict[str, LlmDeploySpec] = {
    f"{cloud}-{SHORT[kind]}.yaml": spec(cloud, kind, max_model_len=2048)
    for cloud in CLOUDS
    for kind in KINDS
}
CASES["gcp-llmisvc-mistral-l4.yaml"] = spec(
    "gcp", model="mistral-7b-instruct", max_model_len=8192, concurrency=4
)
CASES["azure-isvc-codellama-a10.yaml"] = spec(
    "azure", "inferenceservice", model="codellama-7b-instruct", max_model_len=4096, concurrency=2
)
CASES["gcp-llmisvc-canary.yaml"] = spec("gcp", max_model_len=2048, canaries=(canary(4, 10),))
CASES["aws-isvc-canary-scaled.yaml"] = spec(
    "aws", "inferenceservice", max_model_len=2048, max_replicas=3, canaries=(canary(4, 20),)
)
CASES["azure-isvc-zero.yaml"] = spec(
    "azure", "inferenceservice", max_model_len=2048, min_replicas=0, max_replicas=2
)
CASES["gcp-isvc-zero.yaml"] = spec(
    "gcp", "inferenceservice", max_model_len=2048, min_replicas=0, max_replicas=2,
    hostname="{name}.models.example.com",
)  # fmt: skip
KINDS_OUT = {
    "gcp-llmisvc-canary.yaml": [
        "LLMInferenceService", "LLMInferenceService", "PodMonitor", "HTTPRoute"
    ],
    "aws-isvc-canary-scaled.yaml": [
        "InferenceService", "InferenceService", "PodMonitor", "HTTPRoute", "ScaledObject",
        "ScaledObject",
    ],
    "azure-isvc-zero.yaml": [
        "InferenceService", "PodMonitor", "HTTPRoute", "HTTPScaledObject", "ScaledObject"
    ],
    "gcp-isvc-zero.yaml": [
        "InferenceService", "PodMonitor", "HTTPRoute", "HTTPScaledObject", "ScaledObject"
    ],
}  # fmt: skip
ONE_VERSION = {
    "llminferenceservice": ["LLMInferenceService", "PodMonitor", "HTTPRoute"],
    "inferenceservice": ["InferenceService", "PodMonitor", "HTTPRoute"],
}


@pytest.mark.parametrize("name", CASES)
def test_rendered_yaml_matches_the_golden_file(name):
    compare(GOLDEN / name, to_yaml(render(CASES[name])), REGENERATE)


@pytest.mark.parametrize("name", CASES)
def test_golden_files_validate_strictly(name, validate):
    path = existing(GOLDEN / name, REGENERATE)
    docs = list(yaml.safe_load_all(path.read_text()))
    expected = KINDS_OUT.get(name) or ONE_VERSION[CASES[name].options.kind]
    assert [d["kind"] for d in docs] == expected
    for doc in docs:
        validate(doc)


def test_every_golden_file_is_a_case():
    assert sorted(p.name for p in GOLDEN.glob("*.yaml")) == sorted(CASES)
