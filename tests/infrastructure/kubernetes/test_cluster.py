"""Network policies, RBAC, quotas, Tetragon scopes, autoscaling targets."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlplatform.pipelines.argo.clouds import cloud as argo_cloud

from ._manifests import OVERLAYS, REPO, built, find, one

WORKLOAD = {"mlops", "mlflow", "kserve", "argo"}


def test_every_workload_namespace_denies_by_default() -> None:
    deny = {
        d["metadata"]["namespace"]: d for d in find(built("base"), "NetworkPolicy", "default-deny")
    }
    assert set(deny) == WORKLOAD
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


def test_scalers_are_prometheus_triggered_and_target_what_exists() -> None:
    scalers = {s["metadata"]["name"]: s for s in find(built("base"), "ScaledObject")}
    assert set(scalers) == {
        "gpu-workload-scaler",
        "training-workload-scaler",
        "inference-workload-scaler",
    }
    assert all(t["type"] == "prometheus" for s in scalers.values() for t in s["spec"]["triggers"])
    assert (
        "argo_workflows_gauge"
        in scalers["training-workload-scaler"]["spec"]["triggers"][0]["metadata"]["query"]
    )
    assert one(built("base"), "Deployment", "training-capacity")


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


def test_chaos_experiments_hit_one_pod_for_a_bounded_time() -> None:
    docs = built("../../examples/chaos-testing")
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["NetworkChaos", "NetworkChaos", "PodChaos", "Schedule", "StressChaos",
                     "StressChaos"]  # fmt: skip
    for doc in docs:
        spec = doc["spec"] if doc["kind"] != "Schedule" else doc["spec"]["podChaos"]
        assert spec["mode"] == "one", doc["metadata"]["name"]
        assert spec["duration"].endswith("m")
        assert int(spec["duration"][:-1]) <= 10
