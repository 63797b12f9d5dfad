"""Scale to zero wakes up: with --min-replicas 0 a request is the signal that starts a pod.

Evaluated on the rendered objects the way the cluster would act on them: the Gateway sends
the route's traffic to its backends; the KEDA HTTP add-on's interceptor forwards a request whose
Host and path match an HTTPScaledObject to that object's Service once its Deployment has a
ready pod, and the add-on scales that Deployment; KServe v0.20 makes an HPA for autoscaler
class ``hpa``, a ScaledObject for ``keda``, and nothing for ``external`` (read from its
``autoscaler_reconciler.go`` and ``hpa_reconciler.go``), for the Deployment and Service it
names ``<name>-predictor``.
"""

from __future__ import annotations

import pytest
import yaml

from mlplatform.errors import DeployError
from mlplatform.serving.deploy import render
from mlplatform.serving.deploy.wake import INTERCEPTOR, INTERCEPTOR_PORT

from ._specs import spec
from .conftest import REPO

KSERVE_SCALERS = {"hpa": "HorizontalPodAutoscaler", "keda": "ScaledObject", "external": None}
SCALER_KINDS = {"HorizontalPodAutoscaler", "ScaledObject", "HTTPScaledObject"}


def by_kind(docs):
    return {d["kind"]: d for d in docs}


def predictor(docs):
    """The Deployment and Service KServe makes for the primary predictor (Standard mode)."""
    return f"{by_kind(docs)['InferenceService']['metadata']['name']}-predictor"


def scalers_of(docs, deployment):
    """Every scaler that targets ``deployment``: rendered ones, and the one KServe makes."""
    isvc = by_kind(docs)["InferenceService"]
    found = [
        d["kind"]
        for d in docs
        if d["kind"] in SCALER_KINDS and d["spec"]["scaleTargetRef"]["name"] == deployment
    ]
    kserve = KSERVE_SCALERS[isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"]]
    return found + ([f"{kserve} (KServe)"] if kserve else [])


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_a_request_at_zero_replicas_reaches_the_interceptor_which_wakes_the_predictor(cloud):
    # GIVEN a model deployed to scale to zero
    docs = render(spec(cloud, autoscaler="keda", min_replicas=0, max_replicas=4))
    route, hso = by_kind(docs)["HTTPRoute"], by_kind(docs)["HTTPScaledObject"]
    # THEN the route sends all of its traffic to the add-on's interceptor
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [
        {"name": INTERCEPTOR, "namespace": "keda", "port": INTERCEPTOR_PORT, "weight": 100}
    ]
    # AND the interceptor matches the route's requests (Host and path) to the HTTPScaledObject
    assert hso["metadata"]["namespace"] == route["metadata"]["namespace"]
    assert hso["spec"]["hosts"] == route["spec"]["hostnames"]
    assert hso["spec"]["pathPrefixes"] == [m["path"]["value"] for m in rule["matches"]]
    # AND forwards them to the primary predictor's Service, scaling its Deployment from 0
    target = hso["spec"]["scaleTargetRef"]
    assert (target["kind"], target["apiVersion"]) == ("Deployment", "apps/v1")
    assert target["name"] == target["service"] == predictor(docs) == "churn-model-predictor"
    assert target["port"] == 80
    assert hso["spec"]["replicas"] == {"min": 0, "max": 4}
    # AND the gateway waits for the interceptor at least as long as it holds a request
    held = int(hso["spec"]["timeouts"]["conditionWait"].removesuffix("s"))
    assert int(rule["timeouts"]["request"].removesuffix("s")) > held >= 60


def test_only_the_http_add_on_scales_the_predictor_at_zero():
    docs = render(spec(autoscaler="keda", min_replicas=0))
    isvc = by_kind(docs)["InferenceService"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    assert "autoScaling" not in isvc["spec"]["predictor"]
    assert isvc["spec"]["predictor"]["minReplicas"] == 0
    assert scalers_of(docs, predictor(docs)) == ["HTTPScaledObject"]


@pytest.mark.parametrize("autoscaler", ["hpa", "keda"])
def test_with_a_replica_at_least_kservess_own_scaler_is_the_only_one(autoscaler):
    docs = render(spec(autoscaler=autoscaler, min_replicas=1, canary=10))
    expected = KSERVE_SCALERS[autoscaler]
    assert scalers_of(docs, predictor(docs)) == [f"{expected} (KServe)"]
    assert "HTTPScaledObject" not in by_kind(docs)
    # AND the route goes straight to the predictors (pods exist to answer)
    backends = by_kind(docs)["HTTPRoute"]["spec"]["rules"][0]["backendRefs"]
    assert [b["name"] for b in backends] == ["churn-model-predictor", "churn-model-v4-predictor"]


def test_canaries_cannot_scale_to_zero():
    # KServe v0.20 gives a canary ceil(minReplicas * pct / 100) fixed replicas: 0 here
    with pytest.raises(DeployError, match="canaries cannot scale to zero") as caught:
        render(spec(autoscaler="keda", min_replicas=0, canary=10))
    assert "--min-replicas 1" in caught.value.hint


def test_the_hpa_still_cannot_scale_to_zero():
    with pytest.raises(DeployError, match="the HPA cannot scale to zero"):
        render(spec(autoscaler="hpa", min_replicas=0))


def test_the_interceptor_namespace_is_where_the_platform_installs_keda():
    charts = yaml.safe_load((REPO / "infrastructure/helm/versions.yaml").read_text())["charts"]
    docs = render(spec(autoscaler="keda", min_replicas=0))
    (backend,) = by_kind(docs)["HTTPRoute"]["spec"]["rules"][0]["backendRefs"]
    assert backend["namespace"] == charts["keda"]["namespace"]
