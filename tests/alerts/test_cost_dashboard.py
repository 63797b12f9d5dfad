"""The cost dashboard: the committed JSON is what ``mlplatform.alerts.cost_dashboard`` renders,
its prices are Grafana variables defaulting to ``mlplatform.cost.rates``, and every metric
that any dashboard, rule or scaler of the platform reads is exported by something the platform
deploys (``mlplatform.alerts.exported``). The panels' numbers are proven on a real Prometheus
in ``test_dashboards_on_prometheus.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from _golden import compare
from mlplatform.alerts import cost_dashboard, render_cost_dashboard, rule_groups
from mlplatform.alerts.cost_dashboard import FILE_NAME, PRICE_VARIABLES
from mlplatform.alerts.dashboard_view import expand, panel_queries
from mlplatform.alerts.exported import EXPORTED, metric_names, series_names
from mlplatform.cost.rates import CPU_CORE_HOUR, GPU_HOUR, MEMORY_GB_HOUR

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "infrastructure" / "kubernetes" / "base" / "monitoring" / "dashboards"
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/alerts/test_cost_dashboard.py"
TITLES = [
    "Estimated monthly cost (requests x prices x 730 h)",
    "OpenCost monthly cost",
    "Cost per hour by namespace (GPU included)",
    "Resource waste per hour (requests - usage)",
    "CPU efficiency (usage / requests)",
    "Memory efficiency (working set / requests)",
    "GPU utilisation by pod",
    "LLM cost per million tokens by model",
]


def test_the_committed_dashboard_is_the_rendered_one():
    compare(DASHBOARDS / FILE_NAME, render_cost_dashboard(), REGENERATE)


def test_it_is_provisioned_as_the_dashboard_cost_configmap():
    kustomization = yaml.safe_load((DASHBOARDS / "kustomization.yaml").read_text())
    maps = {m["name"]: m["files"] for m in kustomization["configMapGenerator"]}
    assert maps["dashboard-cost"] == [FILE_NAME]
    board = json.loads((DASHBOARDS / FILE_NAME).read_text())
    assert board["uid"] == "mlplatform-cost"


def test_the_prices_are_variables_defaulting_to_the_designs_rates():
    # GIVEN the dashboard WHEN its variables are read THEN each price is a text box an
    # operator can change, defaulting to the design's flat rate
    variables = {v["name"]: v for v in cost_dashboard()["templating"]["list"]}
    assert PRICE_VARIABLES == {"cpu_price": 0.048, "memory_price": 0.006, "gpu_price": 0.526}
    assert (CPU_CORE_HOUR, MEMORY_GB_HOUR, GPU_HOUR) == (0.048, 0.006, 0.526)
    for name, price in PRICE_VARIABLES.items():
        assert variables[name]["type"] == "textbox"
        assert float(variables[name]["query"]) == price
        assert float(variables[name]["current"]["value"]) == price
    # AND no panel writes a price as a number: they all go through the variables
    exprs = [t["expr"] for p in cost_dashboard()["panels"] for t in p["targets"]]
    assert not [e for e in exprs if re.search(r"0\.048|0\.006|0\.526", e)]
    used = {v for e in exprs for v in re.findall(r"\$(\w+)", e)}
    assert used == set(PRICE_VARIABLES)


def test_the_six_panels_and_opencost_and_llm_cost():
    panels = cost_dashboard()["panels"]
    assert [p["title"] for p in panels] == TITLES
    assert len({p["id"] for p in panels}) == len(panels)
    by_title = {p["title"]: p for p in panels}
    namespace = by_title["Cost per hour by namespace (GPU included)"]["targets"][0]["expr"]
    assert 'resource="nvidia_com_gpu"' in namespace
    assert "$gpu_price" in namespace
    opencost = by_title["OpenCost monthly cost"]["targets"]
    assert {n for t in opencost for n in metric_names(t["expr"])} >= {"node_total_hourly_cost"}
    llm = [t["expr"] for t in by_title["LLM cost per million tokens by model"]["targets"]]
    assert all("by (model_name)" in e for e in llm)


def test_expand_puts_in_the_variables_and_grafanas_intervals():
    board = cost_dashboard()
    assert expand("x * $gpu_price + ${cpu_price}", board) == "x * 0.526 + 0.048"
    assert expand("rate(x[$__rate_interval])", board, "2m") == "rate(x[2m])"
    assert all("$" not in e for e in panel_queries(board).values())


# ---- every metric read is exported --------------------------------------------------------
def _dashboards() -> dict[str, str]:
    exprs: dict[str, str] = {}
    for path in sorted(DASHBOARDS.glob("dashboard.*.json")):
        board = json.loads(path.read_text())
        exprs |= {f"{path.name}: {k}": e for k, e in panel_queries(board).items()}
    return exprs


def _queries(node: Any) -> list[str]:
    """Every Prometheus query in a rendered document (KServe's and KEDA's scaler metadata)."""
    if isinstance(node, list):
        return [q for item in node for q in _queries(item)]
    if not isinstance(node, dict):
        return []
    own = [node["query"]] if "serverAddress" in node and "query" in node else []
    return own + [q for value in node.values() for q in _queries(value)]


def _scalers() -> dict[str, str]:
    from llm.deploy._specs import CLOUDS
    from llm.deploy._specs import spec as llm_spec
    from mlplatform.llm.deploy import render as render_llm
    from mlplatform.serving.deploy import render as render_model
    from serving.deploy._specs import spec as model_spec

    exprs: dict[str, str] = {}
    for cloud in CLOUDS:
        for least in (0, 1):
            docs = render_model(model_spec(cloud, autoscaler="keda", min_replicas=least))
            exprs |= {f"mlp deploy model {cloud} min {least} [{i}]": q
                      for i, q in enumerate(_queries(docs))}  # fmt: skip
        # only the InferenceService kind scales (an LLMInferenceService has fixed replicas)
        for least in (0, 1):  # 0: scales to zero behind the KEDA HTTP add-on
            docs = render_llm(llm_spec(cloud, "inferenceservice", min_replicas=least,
                                       max_replicas=3))  # fmt: skip
            exprs |= {f"mlp deploy llm {cloud} min {least} [{i}]": q
                      for i, q in enumerate(_queries(docs))}  # fmt: skip
    return exprs


def test_the_platforms_scalers_are_found():
    scalers = _scalers()
    assert any("mlplatform_inference_requests_total" in q for q in scalers.values())
    assert any("vllm:num_requests_waiting" in q for q in scalers.values())


@pytest.mark.parametrize("source", ["dashboards", "scalers", "rules"])
def test_every_metric_a_dashboard_rule_or_scaler_reads_is_exported(source):
    # GIVEN every PromQL the platform ships of this kind
    exprs = {
        "dashboards": _dashboards,
        "scalers": _scalers,
        "rules": lambda: {r.name: r.expr for g in rule_groups() for r in g.rules},
    }[source]()
    assert exprs
    # WHEN the metric names each selects are read THEN each is exported by a component the
    # platform deploys, with where its name is documented
    allowed = series_names()
    unknown = {where: sorted(metric_names(e) - set(allowed)) for where, e in exprs.items()}
    assert {k: v for k, v in unknown.items() if v} == {}
    assert all(metric_names(e) for e in exprs.values())
    assert all(entry.exporter and entry.source for entry in EXPORTED.values())


def test_an_unexported_metric_is_caught():
    expr = expand(cost_dashboard()["panels"][0]["targets"][0]["expr"], cost_dashboard())
    wrong = expr.replace("kube_pod_status_phase", "kube_pod_status_phases")
    assert metric_names(wrong) - set(series_names()) == {"kube_pod_status_phases"}


def test_the_cost_sources_have_their_exporters():
    names = series_names()
    assert names["container_cpu_usage_seconds_total"].startswith("kubelet cAdvisor")
    assert names["node_total_hourly_cost"].startswith("OpenCost")
    assert names["llm_cost_per_million_tokens"].startswith("OpenCost")
    assert names["kube_pod_status_phase"] == "kube-state-metrics"
    assert names["DCGM_FI_DEV_GPU_UTIL"] == "DCGM exporter"


def test_grafana_variables_are_not_metric_names():
    assert metric_names("sum(x) * $gpu_price + y[$__rate_interval] * ${cpu_price}") == {"x", "y"}
