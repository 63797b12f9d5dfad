"""Autoscaling: each scaler targets a rendered object, no target has two, and zero can wake.

GIVEN every object of a cloud (overlay, chart, ``mlp deploy model`` and what KServe makes of it)
WHEN the scalers are read (``_autoscaling``) THEN none dangles, none fights another, and each
that may reach zero wakes on a signal that exists at zero.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import LlmCanary, LlmDeployOptions, LlmDeploySpec
from mlplatform.llm.deploy import render as render_llm

from ._autoscaling import (
    SKIP_SCALED_OBJECT as SKIP,
)
from ._autoscaling import (
    Scaler,
    dangling,
    fights,
    held,
    scalers,
    targets,
    wakes_from_zero,
)
from ._rendered import CLOUDS, all_docs, deploy_variants, kserve_made

PROM = "prometheus"
RUN = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"
# mlp deploy llm --kind inferenceservice: fixed, a KEDA range with a canary, scale to zero
LLM_MODES: dict[str, dict[str, Any]] = {
    "fixed": {"min_replicas": 1},
    "range": {"min_replicas": 1, "max_replicas": 3},
    "zero": {"min_replicas": 0, "max_replicas": 2},
}


def llm_docs(cloud: str) -> list[dict[str, Any]]:
    """`mlp deploy llm` in each mode (the range with a canary), and KServe's predictors."""
    model = CATALOG["tinyllama-1.1b"]
    docs: list[dict[str, Any]] = []
    for mode, scaling in LLM_MODES.items():
        options = LlmDeployOptions(cloud=cloud, kind="inferenceservice", name=f"llm-{mode}",
                                   **scaling)  # fmt: skip
        canaries = (LlmCanary(model, 4, 10, "challenger", RUN, "1"),) if mode == "range" else ()
        spec = LlmDeploySpec(model, options, version=3, run_id=RUN, experiment_id="1",
                             canaries=canaries)  # fmt: skip
        docs += render_llm(spec)
    return [*docs, *kserve_made(docs, cloud)]


def _so(name: str, target: str, minimum: int, query: str = "") -> dict[str, Any]:
    trig = [{"type": PROM, "metadata": {"query": query}}] if query else []
    return {
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": minimum, "triggers": trig},
    }


def _deployment(name: str) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "ns"}}


# ---- the evaluator, on hand-made cases -----------------------------------------------------
def test_a_scaler_of_nothing_dangles() -> None:
    docs = [_so("a", "web", 1), _so("b", "ghost", 1), _deployment("web")]
    assert dangling(scalers(docs), targets(docs)) == [
        "ScaledObject/ns/b targets Deployment/ghost, which is not rendered"
    ]


def test_two_scalers_of_one_target_fight() -> None:
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "ns"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1},
    }
    assert fights(scalers([_so("a", "web", 1), hpa]))
    assert not fights(scalers([_so("a", "web", 1), _so("b", "api", 1)]))


def test_a_query_on_the_scaled_pods_cannot_wake_them() -> None:
    own = scalers([_so("a", "web", 0, 'sum(rate(x{pod=~"web-.*"}[2m]))')])[0]
    labelled = scalers([_so("a", "web", 0, 'sum(rate(x{model="churn"}[2m]))')])[0]
    outside = scalers([_so("a", "web", 0, 'sum(envoy_requests{route="web"})')])[0]
    assert not wakes_from_zero(own, {})
    assert not wakes_from_zero(labelled, {"model": "churn"})
    assert wakes_from_zero(outside, {"model": "churn"})


def test_http_add_on_wakes_and_a_minimum_of_one_needs_no_waking() -> None:
    http = Scaler("HTTPScaledObject", "ns", "a", "Deployment", "web", 0)
    assert wakes_from_zero(http, {})
    assert wakes_from_zero(scalers([_so("a", "web", 1, 'x{pod=~"web-1"}')])[0], {})
    assert not wakes_from_zero(scalers([_so("a", "web", 0)])[0], {})  # no trigger at all


# ---- the rendered objects -----------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_scaler_targets_a_rendered_object(cloud: str) -> None:
    docs = all_docs(cloud)
    found = scalers(docs)
    assert any(s.kind == "HorizontalPodAutoscaler" for s in found)  # KServe's, for hpa
    assert dangling(found, targets(docs)) == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_no_two_scalers_share_a_target(cloud: str) -> None:
    assert fights(scalers(all_docs(cloud))) == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_what_may_reach_zero_wakes_on_a_signal_that_exists_at_zero(cloud: str) -> None:
    docs = all_docs(cloud)
    pods = {
        (d["metadata"].get("namespace"), d["metadata"]["name"]): d["spec"]
        .get("template", {})
        .get("metadata", {})
        .get("labels", {})
        for d in docs
        if d["kind"] == "Deployment"
    }
    asleep = [
        s.ident
        for s in scalers(docs)
        if not wakes_from_zero(s, pods.get((s.namespace, s.target), {}), held(docs))
    ]
    assert asleep == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_deploy_scale_to_zero_is_rendered_or_refused(cloud: str) -> None:
    """``--autoscaler keda --min-replicas 0`` either renders (then the checks above cover it)
    or is refused with a message; it is never silently something else."""
    outcome = deploy_variants(cloud)["keda-zero"]
    if not isinstance(outcome, str):
        assert any(s.minimum == 0 for s in scalers([*outcome]) + scalers(all_docs(cloud)))


# ---- the KEDA HTTP add-on as a trigger of our own ScaledObject (mlp deploy llm) -----------
def _hso(name: str, target: str, *, routes_only: bool) -> dict[str, Any]:
    annotations = {SKIP: "true"} if routes_only else {}
    return {
        "kind": "HTTPScaledObject",
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "spec": {"scaleTargetRef": {"name": target, "service": target}, "replicas": {"min": 0}},
    }


def _push(name: str, target: str, hso: str) -> dict[str, Any]:
    doc = _so(name, target, 0)
    address = "keda-add-ons-http-external-scaler.keda:9090"
    doc["spec"]["triggers"] = [
        {"type": "external-push", "metadata": {"scalerAddress": address, "httpScaledObject": hso}}
    ]
    return doc


def test_a_routing_only_http_scaled_object_is_no_second_scaler() -> None:
    # GIVEN the add-on told to make no ScaledObject, and ours pushing its queue
    docs = [_hso("m", "web", routes_only=True), _push("m", "web", "m"), _deployment("web")]
    # THEN one scaler, and it wakes on the interceptor's queue
    assert [s.kind for s in scalers(docs)] == ["ScaledObject"]
    assert fights(scalers(docs)) == []
    assert wakes_from_zero(scalers(docs)[0], {}, held(docs))
    # AND without the annotation the add-on makes its own ScaledObject: two scalers
    assert fights(scalers([_hso("m", "web", routes_only=False), _push("m", "web", "m")]))


def test_a_push_trigger_wakes_only_through_a_queue_for_its_own_target() -> None:
    elsewhere = [_hso("m", "api", routes_only=True), _push("m", "web", "m")]
    missing = [_push("m", "web", "ghost")]
    for docs in (elsewhere, missing):
        assert not wakes_from_zero(scalers(docs)[0], {}, held(docs))


def test_the_pods_own_cpu_and_metrics_api_cannot_wake_them() -> None:
    def so(trigger: dict[str, Any]) -> Scaler:
        doc = _so("a", "web", 0)
        doc["spec"]["triggers"] = [trigger]
        return scalers([doc])[0]

    assert not wakes_from_zero(so({"type": "cpu", "metadata": {"value": "60"}}), {})
    own = {"type": "metrics-api", "metadata": {"url": "http://web.ns.svc:8080/queue"}}
    assert not wakes_from_zero(so(own), {})
    broker = {"type": "metrics-api", "metadata": {"url": "http://broker.ns.svc/queue"}}
    assert wakes_from_zero(so(broker), {})


@pytest.mark.parametrize("cloud", CLOUDS)
def test_llm_scalers_target_their_predictors_alone_and_wake(cloud: str) -> None:
    # GIVEN what `mlp deploy llm` renders in every scaling mode, and what KServe makes of it
    docs = llm_docs(cloud)
    found = scalers(docs)
    assert {s.minimum for s in found} == {0, 1}  # scale to zero and a KEDA range are here
    # THEN every scaler targets a rendered Deployment, alone, and zero wakes
    assert dangling(found, targets(docs)) == []
    assert fights(found) == []
    assert [s.ident for s in found if not wakes_from_zero(s, {}, held(docs))] == []
