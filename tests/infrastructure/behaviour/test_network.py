"""Network: the flows the platform needs pass the rendered NetworkPolicies; others do not.

GIVEN a cloud's NetworkPolicies and namespaces (overlay) and its pods (``_rendered``) WHEN each
flow of the table is evaluated (``_network``) THEN it is allowed, and each sampled flow that
the platform does not need is denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mlplatform.serving.deploy.render import DeployOptions

from ..kubernetes._manifests import built
from ._network import Endpoint, allowed, selects
from ._rendered import CLOUDS, Workload, all_docs, workloads

Doc = dict[str, Any]


# ---- the evaluator, on hand-made cases -----------------------------------------------------
def _policy(ns: str, spec: dict[str, Any]) -> Doc:
    return {"kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": ns}, "spec": spec}


WEB = Endpoint("web", "shop", {"app": "web"}, (("http", 8080, "TCP"),))
CLIENT = Endpoint("client", "shop", {"app": "client"})
OUTSIDE = Endpoint("internet", ip="203.0.113.7")
DENY_ALL = _policy("shop", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def test_without_policies_everything_is_allowed() -> None:
    assert allowed([], CLIENT, WEB, 8080)


def test_default_deny_isolates_both_directions() -> None:
    assert not allowed([DENY_ALL], CLIENT, WEB, 8080)
    assert not allowed([DENY_ALL], CLIENT, OUTSIDE, 443)


def test_a_named_port_resolves_against_the_destination_pod() -> None:
    allow = _policy(
        "shop",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"ports": [{"port": "http"}]}],
        },
    )
    assert allowed([allow], CLIENT, WEB, 8080)
    assert not allowed([allow], CLIENT, WEB, 9090)
    other = Endpoint("web2", "shop", {"app": "web"}, (("metrics", 8080, "TCP"),))
    assert not allowed([allow], CLIENT, other, 8080)


def test_policy_types_default_to_ingress_plus_egress_when_egress_is_given() -> None:
    ingress_only = _policy("shop", {"podSelector": {}, "ingress": []})
    assert allowed([ingress_only], CLIENT, OUTSIDE, 443)  # egress not isolated
    assert not allowed([ingress_only], CLIENT, WEB, 8080)


def test_namespace_and_pod_selector_in_one_peer_are_anded() -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"team": "a"}},
        "podSelector": {"matchLabels": {"app": "client"}},
    }
    allow = _policy(
        "shop", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]}
    )
    labels = {"other": {"team": "a"}}
    assert allowed([allow], Endpoint("c", "other", {"app": "client"}), WEB, 8080, namespaces=labels)
    assert not allowed([allow], Endpoint("c", "other", {"app": "x"}), WEB, 8080, namespaces=labels)
    assert not allowed([allow], Endpoint("c", "third", {"app": "client"}), WEB, 8080)


def test_ip_blocks_match_outside_addresses_less_their_exceptions() -> None:
    egress = _policy(
        "shop",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["203.0.113.0/24"]}}],
                    "ports": [{"port": 443, "endPort": 444}],
                }
            ],
        },
    )
    assert allowed([egress], CLIENT, Endpoint("s3", ip="52.216.8.1"), 444)
    assert not allowed([egress], CLIENT, OUTSIDE, 443)
    assert not allowed([egress], CLIENT, Endpoint("s3", ip="52.216.8.1"), 80)
    assert not allowed([egress], CLIENT, WEB, 443)  # a pod is not matched by an ipBlock


def test_match_expressions() -> None:
    sel = {
        "matchExpressions": [
            {"key": "a", "operator": "In", "values": ["1"]},
            {"key": "b", "operator": "DoesNotExist"},
        ]
    }
    assert selects(sel, {"a": "1"})
    assert not selects(sel, {"a": "1", "b": "x"})


# ---- the platform's flows -----------------------------------------------------------------
API_SERVER = Endpoint("API server (control plane)", ip="10.0.0.10")
OBJECT_STORE = Endpoint("object store", ip="52.216.8.1")
ENVOY = Endpoint(
    "gateway (Envoy proxy)",
    "envoy-gateway-system",
    {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"},
)
PROMETHEUS_LABELS = {"app.kubernetes.io/name": "prometheus"}


def _endpoint(w: Workload) -> Endpoint:
    ports = tuple(
        (p.get("name", ""), int(p["containerPort"]), p.get("protocol", "TCP"))
        for c in w.pod_spec.get("containers", [])
        for p in c.get("ports", [])
    )
    return Endpoint(w.ident, w.namespace, dict(w.labels), ports)


def _find(cloud: str, source: str, name: str) -> Endpoint:
    found = [w for w in workloads(cloud) if w.source.startswith(source) and name in w.name]
    assert found, f"no rendered pod {source} {name} on {cloud}"
    return _endpoint(found[0])


def _namespaces(cloud: str) -> dict[str, Mapping[str, str]]:
    return {
        d["metadata"]["name"]: d["metadata"].get("labels", {})
        for d in built(f"overlays/{cloud}")
        if d["kind"] == "Namespace"
    }


def _scrape_targets(cloud: str) -> list[tuple[Endpoint, int]]:
    """Every pod a rendered PodMonitor selects, on its endpoint's port; and the chart
    ServiceMonitors we enable on workload namespaces (MLflow 5000, Argo's controller 9090)."""
    found = []
    for mon in (d for d in all_docs(cloud) if d["kind"] == "PodMonitor"):
        spec = mon["spec"]
        names = spec.get("namespaceSelector", {}).get("matchNames", [mon["metadata"]["namespace"]])
        for w in workloads(cloud):
            if w.namespace in names and selects(spec.get("selector", {}), w.labels):
                for ep in spec["podMetricsEndpoints"]:
                    found.append((_endpoint(w), int(ep.get("portNumber", 0))))
    found.append((_find(cloud, "helm values mlflow", "mlflow"), 5000))
    found.append((_find(cloud, "helm values argo-workflows", "workflow-controller"), 9090))
    return found


def _keda_operator(cloud: str) -> Endpoint:
    """KEDA's operator: the keda chart's pod on EKS and GKE, the AKS managed add-on's pod
    (kube-system, label app=keda-operator, as podmonitor.keda-operator.yaml selects it)."""
    if cloud == "azure":
        return Endpoint("KEDA operator (AKS add-on)", "kube-system", {"app": "keda-operator"})
    return _find(cloud, "helm values keda", "keda-operator")


def flows(cloud: str) -> list[tuple[str, Endpoint, Endpoint, int]]:
    """(why, source, destination, port) the platform needs."""
    prometheus = _find(cloud, "helm values kube-prometheus-stack", "prometheus")
    kserve = _find(cloud, "helm values kserve", "controller-manager")
    kyverno = _find(cloud, "helm values kyverno", "admissionController")
    mlflow = _find(cloud, "helm values mlflow", "mlflow")
    step = _find(cloud, "argo compiler", "step-train")
    predictor = _find(cloud, "mlp deploy model", "predictor")
    interceptor = _find(cloud, "helm values keda-add-ons-http", "interceptor")
    scaler = _find(cloud, "helm values keda-add-ons-http", "external-scaler")
    keda_operator = _keda_operator(cloud)
    collector = _find(cloud, "helm values opentelemetry-collector", "collector")
    table = [
        ("API server calls the KServe webhook", API_SERVER, kserve, 9443),
        ("API server calls the Kyverno webhook", API_SERVER, kyverno, 9443),
        ("pipeline step logs to MLflow", step, mlflow, 5000),
        ("pipeline step reads and writes the object store", step, OBJECT_STORE, 443),
        ("the gateway routes requests to a predictor", ENVOY, predictor, 8080),
        (
            "the KEDA HTTP interceptor forwards to a predictor that scales to zero",
            Endpoint(
                "KEDA HTTP interceptor",
                DeployOptions.keda_namespace,
                {"app.kubernetes.io/component": "interceptor"},
            ),
            predictor,
            8080,
        ),
        ("a predictor loads its model from the artifact store", predictor, OBJECT_STORE, 443),
        ("the gateway routes a scale-to-zero model to the KEDA HTTP interceptor", ENVOY,
         interceptor, 8080),
        ("the rendered KEDA HTTP interceptor forwards to a predictor", interceptor, predictor,
         8080),
        ("the KEDA HTTP scaler reads the interceptor's queue", scaler, interceptor, 9090),
        ("KEDA's operator asks the HTTP add-on's scaler for its metric", keda_operator, scaler,
         9090),
        ("a predictor writes request samples to the artifact store", predictor, OBJECT_STORE,
         443),
        ("a predictor reads its version's drift reference profile from MLflow", predictor,
         mlflow, 5000),
        ("the gateway calls body-based routing (ext_proc) for an LLM request", ENVOY,
         _find(cloud, "helm values body-based-routing", "body-based-router"), 9004),
        ("a predictor sends its traces to the OpenTelemetry collector (OTLP/HTTP)", predictor,
         collector, 4318),
        ("a pipeline step sends its traces to the OpenTelemetry collector (OTLP/HTTP)", step,
         collector, 4318),
    ]  # fmt: skip
    table += [
        (f"Prometheus scrapes {t.name}", prometheus, t, port) for t, port in _scrape_targets(cloud)
    ]
    return table


def denied_samples(cloud: str) -> list[tuple[str, Endpoint, Endpoint, int]]:
    step = _find(cloud, "argo compiler", "step-train")
    predictor = _find(cloud, "mlp deploy model", "predictor")
    mlflow = _find(cloud, "helm values mlflow", "mlflow")
    notebook = Endpoint("notebook", "mlops", {"app": "notebook"})
    outside = Endpoint("the internet", ip="203.0.113.7")
    interceptor = _find(cloud, "helm values keda-add-ons-http", "interceptor")
    anyone = Endpoint("a pod in a namespace without policies", "default", {"app": "x"})
    return [
        ("a notebook calls a predictor directly", notebook, predictor, 8080),
        ("a pipeline step calls a predictor", step, predictor, 8080),
        ("the internet reaches MLflow without the gateway", outside, mlflow, 5000),
        ("a predictor opens SSH to the internet", predictor, outside, 22),
        (
            "a predictor calls Argo's controller",
            predictor,
            _find(cloud, "helm values argo-workflows", "workflow-controller"),
            9090,
        ),
        ("the KEDA HTTP interceptor scrapes a predictor's metrics port", interceptor, predictor,
         8082),
        ("a pipeline step goes around the gateway through the KEDA HTTP interceptor", step,
         interceptor, 8080),
        ("a pod outside the gateway calls the KEDA HTTP interceptor", anyone, interceptor, 8080),
        ("a pod calls the KEDA HTTP interceptor's admin port", anyone, interceptor, 9090),
        ("a pod calls the KEDA HTTP scaler", anyone,
         _find(cloud, "helm values keda-add-ons-http", "external-scaler"), 9090),
        ("a pipeline step calls body-based routing", step,
         _find(cloud, "helm values body-based-routing", "body-based-router"), 9004),
    ]  # fmt: skip


def _policies(cloud: str) -> list[Doc]:
    return [d for d in all_docs(cloud) if d["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_flow_the_platform_needs_is_allowed(cloud: str) -> None:
    ns = _namespaces(cloud)
    blocked = [
        f"{why}: {src.name} -> {dst.name}:{port}"
        for why, src, dst, port in flows(cloud)
        if not allowed(_policies(cloud), src, dst, port, namespaces=ns)
    ]
    assert blocked == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_sample_of_other_flows_is_denied(cloud: str) -> None:
    ns = _namespaces(cloud)
    open_ = [
        why
        for why, src, dst, port in denied_samples(cloud)
        if allowed(_policies(cloud), src, dst, port, namespaces=ns)
    ]
    assert open_ == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_flow_table_covers_every_scrape_target(cloud: str) -> None:
    # the PodMonitors select the rendered predictors: the scrape flows are not vacuous
    assert any("predictor" in t.name for t, _ in _scrape_targets(cloud))
