"""Autoscaling: each scaler targets a rendered object, no target has two, and zero can wake.

GIVEN every object of a cloud (overlay, chart, ``mlp deploy model`` and what KServe makes of it)
WHEN the scalers are read (``_autoscaling``) THEN none dangles, none fights another, and each
that may reach zero wakes on a signal that exists at zero.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._autoscaling import Scaler, dangling, fights, scalers, targets, wakes_from_zero
from ._rendered import CLOUDS, all_docs, deploy_variants

PROM = "prometheus"


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
        if not wakes_from_zero(s, pods.get((s.namespace, s.target), {}))
    ]
    assert asleep == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_deploy_scale_to_zero_is_rendered_or_refused(cloud: str) -> None:
    """``--autoscaler keda --min-replicas 0`` either renders (then the checks above cover it)
    or is refused with a message; it is never silently something else."""
    outcome = deploy_variants(cloud)["keda-zero"]
    if not isinstance(outcome, str):
        assert any(s.minimum == 0 for s in scalers([*outcome]) + scalers(all_docs(cloud)))
