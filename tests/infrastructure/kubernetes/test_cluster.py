"""Network policies (the KServe webhook), RBAC, quotas, Tetragon scopes, autoscaling targets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlplatform.pipelines.argo.clouds import cloud as argo_cloud
from mlplatform.serving.deploy import DeployOptions

from ._manifests import OVERLAYS, REPO, built, find, one

WORKLOAD = {"mlops", "mlflow", "kserve", "argo"}


def test_every_workload_namespace_denies_by_default() -> None:
    deny = {
        d["metadata"]["namespace"]: d for d in find(built("base"), "NetworkPolicy", "default-deny")
    }
    assert set(deny) == WORKLOAD | {"feast"}  # the Feast feature server (issue 18)
    for policy in deny.values():
        assert policy["spec"]["podSelector"] == {}
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in policy["spec"]


def test_mlflow_is_reachable_from_its_clients_only() -> None:
    ingress = one(built("base"), "NetworkPolicy", "allow-mlflow-ingress")["spec"]["ingress"][0]
    sources = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in ingress["from"]
    }
    assert sources == {"argo", "kserve", "mlops", "envoy-gateway-system", "monitoring"}


def test_pipeline_identity_has_one_owner_the_platform_config_chart() -> None:
    """argo/mlplatform-pipelines (the compiled workflows' service account) and its cloud
    identity annotation come from helm/charts/platform-config, fed by Terraform outputs; the
    kustomize layer must not define it too, or Helm and Argo CD fight over it."""
    for target in ("base", *(f"overlays/{c}" for c in OVERLAYS)):
        assert not find(built(target), "ServiceAccount", "mlplatform-pipelines"), target
    chart = REPO / "infrastructure" / "helm" / "charts" / "platform-config"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values["pipelines"]["serviceAccountName"] == "mlplatform-pipelines"
    for cloud in OVERLAYS:
        assert argo_cloud(cloud).service_account == "mlplatform-pipelines"
    assert "kind: ServiceAccount" in (chart / "templates" / "workloads.yaml").read_text()


def test_gpu_quota_in_every_namespace_that_schedules_gpus() -> None:
    quotas = {
        q["metadata"]["namespace"]: q for q in find(built("base"), "ResourceQuota", "gpu-quota")
    }
    assert set(quotas) == {"argo", "kserve", "mlops"}
    assert all("requests.nvidia.com/gpu" in q["spec"]["hard"] for q in quotas.values())


def test_tetragon_policies_and_their_namespaces() -> None:
    docs = built("base")
    assert one(docs, "TracingPolicy", "container-escape-detection")
    calls = [
        k["call"]
        for k in one(docs, "TracingPolicy", "container-escape-detection")["spec"]["kprobes"]
    ]
    assert calls == ["sys_ptrace", "sys_setns"]
    scoped = {}
    for p in find(docs, "TracingPolicyNamespaced"):
        scoped.setdefault(p["metadata"]["name"], set()).add(p["metadata"]["namespace"])
    assert scoped == {
        "sensitive-file-access": WORKLOAD,
        "ml-network-connections": {"kserve", "argo", "mlops"},
        "suspicious-process-execution": {"kserve"},
    }
    exec_policy = one(docs, "TracingPolicyNamespaced", "suspicious-process-execution")
    values = exec_policy["spec"]["kprobes"][0]["selectors"][0]["matchArgs"][0]["values"]
    assert {"/wget", "/curl", "/nc"} <= set(values)


def _scale_target(scaler: dict) -> tuple[str, str, str]:
    """(kind, namespace, name) a ScaledObject or HPA scales (KEDA's default kind: Deployment)."""
    ref = scaler["spec"]["scaleTargetRef"]
    return ref.get("kind", "Deployment"), scaler["metadata"]["namespace"], ref["name"]


def _scalers(docs: tuple[dict, ...]) -> list[dict]:
    return find(docs, "ScaledObject") + find(docs, "HorizontalPodAutoscaler")


@pytest.mark.parametrize("target", ["base", *(f"overlays/{c}" for c in OVERLAYS)])
def test_every_scaler_targets_an_object_of_its_overlay_and_no_two_fight(target: str) -> None:
    # GIVEN a built overlay WHEN each ScaledObject/HPA's scaleTargetRef is resolved in it
    # THEN it names a rendered object, and no target has two scalers (they would fight)
    docs = built(target)
    rendered = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    targets = [_scale_target(s) for s in _scalers(docs)]
    assert targets, "no scaler: the check would pass vacuously"
    assert [t for t in targets if t not in rendered] == []
    assert len(targets) == len(set(targets)), targets


def test_a_scaler_of_an_object_not_rendered_is_caught() -> None:
    # the removed static scalers: the GPU one named llm-predictor, which nothing creates
    docs = (*built("base"), {"kind": "ScaledObject", "metadata": {"name": "gpu", "namespace":
            "kserve"}, "spec": {"scaleTargetRef": {"name": "llm-predictor"}}})  # fmt: skip
    rendered = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "kserve", "llm-predictor") in {_scale_target(s) for s in _scalers(docs)}
    assert ("Deployment", "kserve", "llm-predictor") not in rendered


def test_model_servers_have_no_static_scaler() -> None:
    # model servers are scaled by what `mlp deploy model` renders with them (KServe's HPA or
    # KEDA), never by a static ScaledObject here that would fight it
    for target in ("base", *(f"overlays/{c}" for c in OVERLAYS)):
        assert [s for s in _scalers(built(target)) if s["metadata"]["namespace"] == "kserve"] == []


def test_the_training_scaler_reads_the_argo_queue() -> None:
    scalers = {s["metadata"]["name"]: s for s in find(built("base"), "ScaledObject")}
    assert set(scalers) == {"training-workload-scaler"}
    assert all(t["type"] == "prometheus" for s in scalers.values() for t in s["spec"]["triggers"])
    query = scalers["training-workload-scaler"]["spec"]["triggers"][0]["metadata"]["query"]
    assert "argo_workflows_gauge" in query


def test_training_capacity_lands_where_the_compiler_sends_training_steps() -> None:
    for cloud in OVERLAYS:
        spec = one(built(f"overlays/{cloud}"), "Deployment", "training-capacity")["spec"][
            "template"
        ]["spec"]
        assert spec["nodeSelector"] == dict(argo_cloud(cloud).training_node_selector)


def test_aws_nodepools_come_from_platform_config_once() -> None:
    # Karpenter NodePools are rendered by the platform-config chart (one owner); the node pool
    # the aws overlay selects must be one of them, and this layer must not repeat them.
    files = REPO / "infrastructure/helm/charts/platform-config/files/karpenter"
    pools = {yaml.safe_load(Path(p).read_text())["metadata"]["name"] for p in files.glob("*.yaml")}
    assert pools == {"gpu-workloads", "training-workloads"}
    selector = argo_cloud("aws").training_node_selector["karpenter.sh/nodepool"]
    assert selector in pools
    assert not find(built("overlays/aws"), "NodePool")


# -- the KServe webhook behind default-deny -------------------------------------------------
API_SERVER = None  # a source without pod identity, namespace or known address
# kserve-resources v0.20.0: the controller pod's labels and its webhook container port
KSERVE_CONTROLLER = {"control-plane": "kserve-controller-manager", "controller-tools.k8s.io": "1.0",
                     "app.kubernetes.io/name": "kserve-controller-manager"}  # fmt: skip
WEBHOOK_PORT = (9443, "webhook-server")


def _selects(selector: dict, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and the Exists/DoesNotExist/In/NotIn expressions)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        values = e.get("values", [])
        ok = {
            "Exists": present,
            "DoesNotExist": not present,
            "In": value in values,
            "NotIn": value not in values,
        }
        if not ok[e["operator"]]:
            return False
    return True


def ingress_allowed(policies: list[dict], pod: dict[str, str], source: dict | None,
                    port: tuple[int, str]) -> bool:  # fmt: skip
    """NetworkPolicy ingress to ``pod`` (its labels) on ``port`` (number, name) over TCP.

    ``source`` is ``{"namespace": labels, "pod": labels}``, or ``None`` for traffic with no pod
    identity and an unknown address (the API server): only a rule without ``from``, or an
    ``ipBlock`` of 0.0.0.0/0 without ``except``, admits it. Policies are the namespace's; a pod
    no Ingress policy selects is open; an empty or missing ``from``/``ports`` matches all. Not
    modelled: ipBlock ranges, endPort, UDP/SCTP, and a podSelector-only peer is not limited to
    the policy's own namespace."""
    applying = [p for p in policies if "Ingress" in p["spec"]["policyTypes"]
                and _selects(p["spec"]["podSelector"], pod)]  # fmt: skip
    if not applying:
        return True

    def peer_ok(peer: dict) -> bool:
        if source is None:
            block = peer.get("ipBlock", {})
            return block.get("cidr") == "0.0.0.0/0" and not block.get("except")
        if "ipBlock" in peer:
            return False
        ns_ok = "namespaceSelector" not in peer or _selects(
            peer["namespaceSelector"], source["namespace"]
        )
        return ns_ok and _selects(peer.get("podSelector", {}), source["pod"])

    def port_ok(rule_port: dict) -> bool:
        wanted = rule_port.get("port")
        return rule_port.get("protocol", "TCP") == "TCP" and wanted in (None, *port)

    return any(
        (not rule.get("from") or any(peer_ok(p) for p in rule["from"]))
        and (not rule.get("ports") or any(port_ok(p) for p in rule["ports"]))
        for p in applying for rule in p["spec"].get("ingress", [])
    )  # fmt: skip


def test_the_ingress_evaluator_on_hand_made_policies() -> None:
    deny = {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    named = {"spec": {"podSelector": {"matchLabels": {"a": "1"}}, "policyTypes": ["Ingress"],
             "ingress": [{"ports": [{"protocol": "TCP", "port": "webhook-server"}]}]}}  # fmt: skip
    monitoring = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    from_ns = {"spec": {"podSelector": {}, "policyTypes": ["Ingress"],
               "ingress": [{"from": [{"namespaceSelector": monitoring}]}]}}  # fmt: skip
    mon = {"namespace": {"kubernetes.io/metadata.name": "monitoring"}, "pod": {}}
    assert ingress_allowed([], {"a": "1"}, API_SERVER, (9443, "x"))  # nothing selects it
    assert not ingress_allowed([deny], {"a": "1"}, API_SERVER, (9443, "x"))
    assert ingress_allowed([deny, named], {"a": "1"}, API_SERVER, (9443, "webhook-server"))
    assert not ingress_allowed([deny, named], {"a": "1"}, API_SERVER, (9443, "other"))
    assert not ingress_allowed([deny, named], {"a": "2"}, API_SERVER, (9443, "webhook-server"))
    assert ingress_allowed([deny, from_ns], {}, mon, (1, "x"))
    assert not ingress_allowed([deny, from_ns], {}, API_SERVER, (1, "x"))


@pytest.mark.parametrize("target", ["base", *(f"overlays/{c}" for c in OVERLAYS)])
def test_the_api_server_reaches_the_kserve_webhook(target: str) -> None:
    policies = [p for p in find(built(target), "NetworkPolicy")
                if p["metadata"]["namespace"] == "kserve"]  # fmt: skip
    assert ingress_allowed(policies, KSERVE_CONTROLLER, API_SERVER, WEBHOOK_PORT)
    # a sample of what stays denied: other ports of the controller, the webhook port of a
    # model server, and the controller's metrics proxy from the API server
    assert not ingress_allowed(policies, KSERVE_CONTROLLER, API_SERVER, (8443, "https"))
    predictor = {"serving.kserve.io/inferenceservice": "m"}
    assert not ingress_allowed(policies, predictor, API_SERVER, (9443, "webhook-server"))
    assert not ingress_allowed(policies, predictor, API_SERVER, (8080, "http"))


@pytest.mark.parametrize("target", ["base", *(f"overlays/{c}" for c in OVERLAYS)])
def test_the_keda_http_interceptor_reaches_predictors_on_http_only(target: str) -> None:
    # a model scaled to zero gets its requests through the add-on's interceptor (namespace
    # DeployOptions.keda_namespace), which forwards to the predictor's Service -> pod 8080
    keda = DeployOptions(cloud="aws", image="x").keda_namespace
    policies = [p for p in find(built(target), "NetworkPolicy")
                if p["metadata"]["namespace"] == "kserve"]  # fmt: skip
    interceptor = {"namespace": {"kubernetes.io/metadata.name": keda}, "pod": {}}
    predictor = {"serving.kserve.io/inferenceservice": "m"}
    assert ingress_allowed(policies, predictor, interceptor, (8080, "http"))
    assert not ingress_allowed(policies, predictor, interceptor, (8082, "grpc"))
    elsewhere = {"namespace": {"kubernetes.io/metadata.name": "mlops"}, "pod": {}}
    assert not ingress_allowed(policies, predictor, elsewhere, (8080, "http"))
