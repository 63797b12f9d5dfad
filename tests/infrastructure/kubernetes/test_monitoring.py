"""Rules equal their Python source; every metric a dashboard, rule or scaler reads is exported."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mlplatform.alerts.exported import EXPORTED, metric_names, series_names

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
    ]


def _exprs() -> dict[str, str]:
    exprs: dict[str, str] = {}
    for cm in find(built("base"), "ConfigMap"):
        for key, text in cm["data"].items():
            for panel in json.loads(text)["panels"]:
                for target in panel["targets"]:
                    exprs[f"{key}: {panel['title']}"] = target["expr"]
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
        "dashboard-inference", "dashboard-cost", "dashboard-drift",
    }  # fmt: skip
    for board in boards:
        assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert board["metadata"]["namespace"] == "monitoring"


def test_cost_dashboard_uses_the_prices() -> None:
    cost = json.loads(
        one(built("base"), "ConfigMap", "dashboard-cost")["data"]["dashboard.cost.json"]
    )
    assert len(cost["panels"]) == 6
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
    assert find(built("base"), "ServiceMonitor") == []
