"""Rendered YAML for each cloud, with and without a canary, compared byte for byte.

A difference means the renderer's output changed. If that is intended, regenerate with
``MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/serving/deploy/test_golden.py`` and review
the diff like code. Every golden document also validates against the strict CRD schemas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from _golden import compare, existing
from mlplatform.serving.deploy import DeploySpec, render, to_yaml

from ._specs import features_spec, spec

GOLDEN = Path(__file__).with_name("golden")
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/serving/deploy/test_golden.py"
CASES: dict[str, DeploySpec] = {
    "aws.yaml": spec("aws"),
    "aws-canary.yaml": spec("aws", canary=10),
    "azure.yaml": spec("azure"),
    "azure-canary.yaml": spec("azure", canary=10),
    "gcp.yaml": spec("gcp"),
    "gcp-canary.yaml": spec("gcp", canary=10),
    "gcp-keda-production.yaml": spec(
        "gcp",
        canary=25,
        autoscaler="keda",
        min_replicas=1,
        stage="production",
    ),
    "aws-scale-to-zero.yaml": spec("aws", autoscaler="keda", min_replicas=0, max_replicas=3),
    "azure-sampled.yaml": spec("azure", canary=10, sample_fraction=0.01),
    "gcp-scale-to-zero-sampled.yaml": spec(
        "gcp", autoscaler="keda", min_replicas=0, sample_fraction=0.05, sample_retention_days=7
    ),
    # the champion trained on feature service churn, the challenger on every feature
    "aws-features.yaml": features_spec("aws", canary=10),
}
KINDS = ["ServingRuntime", "InferenceService", "HTTPRoute", "PodMonitor"]


@pytest.mark.parametrize("name", CASES)
def test_rendered_yaml_matches_the_golden_file(name):
    compare(GOLDEN / name, to_yaml(render(CASES[name])), REGENERATE)


@pytest.mark.parametrize("name", CASES)
def test_golden_files_validate_strictly(name, validate):
    path = existing(GOLDEN / name, REGENERATE)
    docs = list(yaml.safe_load_all(path.read_text()))
    wakes = CASES[name].options.min_replicas == 0
    assert [d["kind"] for d in docs] == KINDS + (["HTTPScaledObject"] if wakes else [])
    for doc in docs:
        validate(doc)


def test_every_golden_file_is_a_case():
    assert sorted(p.name for p in GOLDEN.glob("*.yaml")) == sorted(CASES)
