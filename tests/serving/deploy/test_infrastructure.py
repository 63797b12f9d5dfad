"""The rendered objects fit the platform they land on: the Gateway, the namespace's network
policies and Pod Security level, the platform PodMonitor, Prometheus and the metric names."""

from __future__ import annotations

import yaml

from mlplatform.alerts.exported import EXPORTED
from mlplatform.serving.deploy import DeployOptions, render
from mlplatform.serving.deploy.render import ISVC_KEY, PORT

from ._specs import spec
from .conftest import REPO

INFRA = REPO / "infrastructure"
BASE = INFRA / "kubernetes" / "base"
DEFAULTS = DeployOptions(cloud="aws", image="ghcr.io/mlplatform/mlplatform:0.1.0")


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_the_default_gateway_is_the_platform_gateway_kserve_uses():
    values = yaml.safe_load((INFRA / "helm/common/platform-config.yaml").read_text())
    charts = yaml.safe_load((INFRA / "helm/versions.yaml").read_text())["charts"]
    kserve = yaml.safe_load((INFRA / "helm/common/kserve.yaml").read_text())
    gateway = kserve["kserve"]["controller"]["gateway"]["ingressGateway"]["kserveGateway"]
    assert DEFAULTS.gateway_name == values["gateway"]["name"]
    assert DEFAULTS.gateway_namespace == charts["platform-config"]["namespace"]
    assert gateway == f"{DEFAULTS.gateway_namespace}/{DEFAULTS.gateway_name}"


def test_the_default_namespace_admits_the_gateway_and_prometheus_and_is_restricted():
    policies = load(BASE / "security/network-policies" / f"networkpolicy.{DEFAULTS.namespace}.yaml")
    ingress = [
        p
        for p in policies
        if "Ingress" in p["spec"]["policyTypes"]
        and {"key": ISVC_KEY, "operator": "Exists"}
        in p["spec"]["podSelector"].get("matchExpressions", [])
    ]
    assert ingress, f"no NetworkPolicy admits traffic to predictor pods in {DEFAULTS.namespace}"
    (rule,) = ingress[0]["spec"]["ingress"]
    sources = {
        f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for f in rule["from"]
    }
    assert {"envoy-gateway-system", "monitoring"} <= sources
    assert PORT in {p["port"] for p in rule["ports"]}
    namespaces = {
        n["metadata"]["name"]: n for n in load(BASE / "namespaces/namespace.platform.yaml")
    }
    labels = namespaces[DEFAULTS.namespace]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_pod_monitor_scrapes_like_the_platform_one():
    (platform,) = load(BASE / "monitoring/servicemonitors/podmonitor.kserve-predictors.yaml")
    ours = render(spec())[3]
    kserve_key, excluded = platform["spec"]["selector"]["matchExpressions"]
    # the same KServe key, and the platform monitor leaves out exactly the pods ours selects
    assert ours["spec"]["selector"]["matchExpressions"] == [kserve_key]
    assert excluded == {"key": "mlplatform.io/inference-service", "operator": "DoesNotExist"}
    assert excluded["key"] in ours["spec"]["selector"]["matchLabels"]
    (theirs,) = platform["spec"]["podMetricsEndpoints"]
    (mine,) = ours["spec"]["podMetricsEndpoints"]
    for key in ("portNumber", "path", "interval"):
        assert mine[key] == theirs[key], key
    assert theirs["relabelings"][0] in mine["relabelings"]


def test_keda_queries_the_platform_prometheus_for_an_exported_metric():
    (scaled,) = load(BASE / "autoscaling/keda/scaledobject.training-workload-scaler.yaml")
    assert DEFAULTS.prometheus_url == scaled["spec"]["triggers"][0]["metadata"]["serverAddress"]
    isvc = render(spec(autoscaler="keda", min_replicas=1))[1]
    (metric,) = isvc["spec"]["predictor"]["autoScaling"]["metrics"]
    query = metric["external"]["metric"]["query"]
    name = query.removeprefix("sum(rate(").split("{", 1)[0]
    assert name in EXPORTED
