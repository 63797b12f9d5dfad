"""Chaos: every experiment selects a rendered workload in a namespace open to injection.

GIVEN the experiments of examples/chaos-testing, every pod of a cloud (``_rendered``), the
namespaces' annotations and the chaos-mesh values WHEN each selector is evaluated (``_chaos``)
THEN it selects at least one pod, and every selected pod may be injected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from ..kubernetes._manifests import built
from ._chaos import injectable, selected, spec_of
from ._rendered import CLOUDS, values, workloads

PODS: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
    ("kserve", "churn-predictor", {"app": "churn", "tier": "web"}, {"team": "ml"}),
    ("kserve", "other", {"app": "other"}, {}),
    ("mlflow", "mlflow", {"app": "churn"}, {}),
]


def test_labels_and_namespaces_are_anded() -> None:
    assert selected({"namespaces": ["kserve"], "labelSelectors": {"app": "churn"}}, "x", PODS) == [
        "churn-predictor"
    ]
    assert selected({"labelSelectors": {"app": "churn"}}, "mlflow", PODS) == ["mlflow"]


def test_expressions_annotations_and_pod_names() -> None:
    exp = {"namespaces": ["kserve"], "expressionSelectors": [{"key": "tier", "operator": "Exists"}]}
    assert selected(exp, "x", PODS) == ["churn-predictor"]
    assert selected(
        {"namespaces": ["kserve"], "annotationSelectors": {"team": "ml"}}, "x", PODS
    ) == ["churn-predictor"]
    assert selected({"pods": {"kserve": ["other"]}, "namespaces": ["kserve"]}, "x", PODS) == [
        "other"
    ]


def test_a_schedule_carries_its_experiment() -> None:
    inner: dict[str, Any] = {"selector": {}}
    assert spec_of({"kind": "Schedule", "spec": {"type": "PodChaos", "podChaos": inner}}) is inner


def test_the_namespace_filter_needs_the_annotation() -> None:
    ns: list[dict[str, Any]] = [
        {"metadata": {"name": "a", "annotations": {"chaos-mesh.org/inject": "enabled"}}},
        {"metadata": {"name": "b"}},
    ]
    assert injectable(ns, True) == {"a"}
    assert injectable(ns, False) is None


def _experiments() -> list[dict[str, Any]]:
    return list(built("../../examples/chaos-testing"))


def _cases() -> list[tuple[str, str]]:
    return [(c, e["metadata"]["name"]) for c in CLOUDS for e in _experiments()]


@pytest.mark.parametrize(("cloud", "name"), _cases())
def test_every_experiment_selects_an_injectable_rendered_pod(cloud: str, name: str) -> None:
    (experiment,) = [e for e in _experiments() if e["metadata"]["name"] == name]
    spec, home = spec_of(experiment), experiment["metadata"]["namespace"]
    pods: list[tuple[str, str, Mapping[str, str], Mapping[str, str]]] = [
        (w.namespace, w.ident, w.labels, {}) for w in workloads(cloud)
    ]
    namespaces = [d for d in built(f"overlays/{cloud}") if d["kind"] == "Namespace"]
    filter_on = bool(
        values("chaos-mesh", cloud).get("controllerManager", {}).get("enableFilterNamespace")
    )
    allowed = injectable(namespaces, filter_on)
    hit = selected(spec["selector"], home, pods)
    assert hit, f"{name} selects no rendered pod on {cloud}"
    namespaces_hit = {ns for ns, ident, _, _ in pods if ident in hit}
    assert allowed is None or namespaces_hit <= allowed, (
        f"{name}: pods in {namespaces_hit - (allowed or set())} cannot be injected "
        "(no chaos-mesh.org/inject=enabled annotation)"
    )
    if "target" in spec:
        assert selected(spec["target"]["selector"], home, pods), (
            f"{name}: its target selects nothing"
        )
