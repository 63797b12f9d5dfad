"""Rules equal their Python source; every metric a dashboard, rule or scaler reads is exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlplatform.alerts.exported import EXPORTED, metric_names, series_names

from .._tree import CLOUDS, releases_on
from ._manifests import REPO, built, find, one, script

# Metrics the dashboards read beyond mlplatform.alerts.exported.EXPORTED (none today; add an
# entry with its exporter and where the name is documented if a dashboard needs one).
EXTRA_EXPORTED: dict[str, tuple[str, str]] = {}


def test_prometheus_rule_equals_the_alerts_source() -> None:
    assert script().check_rules_file() == []
    rule = one(built("base"), "PrometheusRule", "mlplatform-alerts")
    assert [g["name"] for g in rule["spec"]["groups"]] == [
        "mlplatform-drift",
        "mlplatform-platform",
        "mlplatform-llm",
    ]


def _exprs() -> dict[str, str]:
    exprs: dict[str, str] = {}
    for cm in find(built("base"), "ConfigMap"):
        for key, text in cm["data"].items():
            for panel in json.loads(text)["panels"]:
                for target in panel["targets"]:
                    exprs[f"{key}: {panel['title']} [{target['refId']}]"] = target["expr"]
    for so in find(built("base"), "ScaledObject"):
        for trig in so["spec"]["triggers"]:
            exprs[f"ScaledObject {so['metadata']['name']}"] = trig["metadata"]["query"]
    rule = one(built("base"), "PrometheusRule", "mlplatform-alerts")
    for group in rule["spec"]["groups"]:
        exprs |= {f"rule {r['alert']}": r["expr"] for r in group["rules"]}
    return exprs


def test_every_metric_used_is_exported() -> None:
    known = set(series_names()) | set(EXTRA_EXPORTED)
    unknown = {where: sorted(metric_names(e) - known) for where, e in _exprs().items()}
    assert {k: v for k, v in unknown.items() if v} == {}
    assert not set(EXTRA_EXPORTED) & set(EXPORTED)


def test_dashboards_are_labelled_for_the_sidecar() -> None:
    boards = find(built("base"), "ConfigMap")
    assert {b["metadata"]["name"] for b in boards} == {
        "dashboard-inference", "dashboard-cost", "dashboard-drift", "dashboard-llm",
    }  # fmt: skip
    for board in boards:
        assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert board["metadata"]["namespace"] == "monitoring"


def test_cost_dashboard_uses_the_prices() -> None:
    cost = json.loads(
        one(built("base"), "ConfigMap", "dashboard-cost")["data"]["dashboard.cost.json"]
    )
    assert len(cost["panels"]) == 8  # the design's six, OpenCost's figures, LLM cost per token
    text = json.dumps(cost)
    assert all(price in text for price in ("0.048", "0.006", "0.526"))


def test_inference_dashboard_panels() -> None:
    data = one(built("base"), "ConfigMap", "dashboard-inference")["data"]
    titles = [p["title"] for p in json.loads(data["dashboard.inference.json"])["panels"]]
    assert titles == ["Requests per second", "P95 latency by model", "Active models",
                      "Error rate (5xx)", "Request rate by model"]  # fmt: skip


def test_kserve_podmonitor_selects_on_the_inferenceservice_label() -> None:
    monitor = one(built("base"), "PodMonitor", "kserve-predictors")
    # on the key (its value is each service's name), leaving out the pods of services that
    # `mlp deploy model` rendered with their own PodMonitor (no series scraped twice)
    assert monitor["spec"]["selector"] == {
        "matchExpressions": [
            {"key": "serving.kserve.io/inferenceservice", "operator": "Exists"},
            {"key": "mlplatform.io/inference-service", "operator": "DoesNotExist"},
        ]
    }


def test_mlflow_keda_argo_servicemonitors_come_from_their_charts() -> None:
    # GIVEN the charts' values WHEN read THEN each enables its ServiceMonitor (so this layer
    # does not repeat them: a second monitor would scrape every series twice)
    common = REPO / "infrastructure" / "helm" / "common"
    values = {n: yaml.safe_load(Path(common / f"{n}.yaml").read_text())
              for n in ("mlflow", "keda", "argo-workflows")}  # fmt: skip
    assert values["mlflow"]["serviceMonitor"]["enabled"] is True
    assert values["keda"]["prometheus"]["operator"]["serviceMonitor"]["enabled"] is True
    assert values["argo-workflows"]["controller"]["serviceMonitor"]["enabled"] is True
    # the feast-feature-server chart (0.66.0) has no ServiceMonitor template: this layer has its one
    assert [m["metadata"]["name"] for m in find(built("base"), "ServiceMonitor")] == [
        "feast-feature-server"
    ]


# -- KEDA's metrics are scraped on every cloud ----------------------------------------------
# The AKS KEDA add-on's operator pods (kube-system, label app=keda-operator, container
# keda-operator, metrics on :8080): Azure/AKS#4090, Azure/karpenter-provider-azure#949 and the
# AKS docs' `kubectl get pods -n kube-system -l app=keda-operator`; not checked on a cluster.
AKS_KEDA_OPERATOR = {"namespace": "kube-system", "labels": {"app": "keda-operator"},
                     "container": "keda-operator", "port": 8080}  # fmt: skip


def _chart_scrapes_keda_operator(cloud: str) -> bool:
    """The keda chart is installed on ``cloud`` with its operator's monitor enabled."""
    if "keda" not in releases_on(cloud):
        return False
    common = REPO / "infrastructure" / "helm" / "common" / "keda.yaml"
    operator = yaml.safe_load(common.read_text())["prometheus"]["operator"]
    monitors = (operator.get("serviceMonitor", {}), operator.get("podMonitor", {}))
    return bool(operator.get("enabled")) and any(m.get("enabled") for m in monitors)


def _monitor_scrapes_aks_keda_operator(monitor: dict) -> bool:
    """A rendered PodMonitor selects the add-on's operator pods and scrapes port 8080 of the
    keda-operator container (by a declared port, or by the pod IP when none is declared)."""
    spec, pod = monitor["spec"], AKS_KEDA_OPERATOR
    if pod["namespace"] not in spec.get("namespaceSelector", {}).get("matchNames", []):
        return False
    if any(pod["labels"].get(k) != v for k, v in spec["selector"].get("matchLabels", {}).items()):
        return False
    for endpoint in spec["podMetricsEndpoints"]:
        rules = endpoint.get("relabelings", [])
        keeps_container = any(r.get("action") == "keep" and r.get("regex") == pod["container"]
                              and r["sourceLabels"] == ["__meta_kubernetes_pod_container_name"]
                              for r in rules)  # fmt: skip
        by_ip = any(r.get("targetLabel") == "__address__"
                    and r.get("replacement") == f"$1:{pod['port']}" for r in rules)  # fmt: skip
        if endpoint.get("portNumber") == pod["port"] or (keeps_container and by_ip):
            return endpoint.get("path", "/metrics") == "/metrics"
    return False


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_metric_the_keda_alert_reads_is_scraped_on_every_cloud(cloud: str) -> None:
    # GIVEN the KEDA alert's metrics (exported by the KEDA operator) WHEN the monitors of this
    # cloud are listed (the keda chart's, the overlay's PodMonitors) THEN exactly one scrapes
    # the operator: none and the alert can never fire, two and every series is doubled
    rule = one(built("base"), "PrometheusRule", "mlplatform-alerts")
    expr = next(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]
                if r.get("alert") == "KEDAScalerErrors")  # fmt: skip
    exporters = {series_names()[m] for m in metric_names(expr)}
    assert exporters == {"KEDA operator"}
    overlay = [m for m in find(built(f"overlays/{cloud}"), "PodMonitor")
               if _monitor_scrapes_aks_keda_operator(m)]  # fmt: skip
    scrapers = len(overlay) + _chart_scrapes_keda_operator(cloud)
    assert scrapers == 1, f"{cloud}: {scrapers} monitors scrape the KEDA operator"


def test_prometheus_may_reach_kube_system() -> None:
    # Nothing here restricts Prometheus' egress (monitoring) or ingress to kube-system, where
    # the add-on's operator runs; the clouds' own policies there are not ours (docs).
    for cloud in CLOUDS:
        policies = find(built(f"overlays/{cloud}"), "NetworkPolicy")
        assert not [p for p in policies if p["metadata"]["namespace"] == "kube-system"]
        assert not [p for p in policies if p["metadata"]["namespace"] == "monitoring"
                    and "Egress" in p["spec"]["policyTypes"]]  # fmt: skip
