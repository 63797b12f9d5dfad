"""Every document the renderer can write validates against the strict CRD schemas (KServe
v0.20, Gateway API v1 standard channel, Prometheus Operator), and the schemas bite."""

from __future__ import annotations

import itertools

import pytest

from mlplatform.serving.deploy import render

from ._specs import spec

CLOUDS = ("aws", "azure", "gcp")
VARIANTS = {
    "plain": {},
    "canary": {"canary": 10},
    "keda": {"autoscaler": "keda", "min_replicas": 1, "canary": 1},
    "scale-to-zero": {"autoscaler": "keda", "min_replicas": 0},
    "sampled": {"sample_fraction": 0.2, "sample_retention_days": 7, "canary": 10},
    "production": {"stage": "production"},
}


@pytest.mark.parametrize(("cloud", "variant"), list(itertools.product(CLOUDS, VARIANTS)))
def test_rendered_documents_validate_strictly(cloud, variant, validate):
    for doc in render(spec(cloud, **VARIANTS[variant])):
        validate(doc)


def test_the_schemas_reject_an_http_scaled_object_without_a_port(validate):
    # GIVEN the add-on's scaler with neither port nor portName on its target (CEL: one of them)
    hso = render(spec(autoscaler="keda", min_replicas=0))[4]
    validate(hso)
    # THEN an unknown field is refused by the strict schema
    hso["spec"]["scaleTargetRef"]["namespace"] = "kserve"
    with pytest.raises(AssertionError, match="Additional properties"):
        validate(hso)


def test_the_schemas_reject_what_kserve_v0_20_rejects(validate):
    # GIVEN a canary whose model has no name (the v0.20 CRD requires it on canaries)
    isvc = render(spec(canary=10))[1]
    del isvc["spec"]["canary"][0]["predictor"]["model"]["name"]
    # THEN validation fails: the check is real, not a pass-through
    with pytest.raises(AssertionError, match="'name' is a required property"):
        validate(isvc)
    # AND a canary without its traffic share fails too
    isvc = render(spec(canary=10))[1]
    del isvc["spec"]["canary"][0]["trafficPercent"]
    with pytest.raises(AssertionError, match="'trafficPercent' is a required property"):
        validate(isvc)
