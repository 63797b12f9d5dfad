"""The cost dashboard (Grafana JSON): the design's six panels at its flat prices, OpenCost's
own figures beside them, and the cost of a million LLM tokens by model.

The prices are dashboard variables (``$cpu_price`` per core-hour, ``$memory_price`` per
GB-hour with GB = 1e9 bytes, ``$gpu_price`` per GPU-hour), text boxes whose defaults are
``mlplatform.cost.rates``: an operator types the cloud's own rate and every panel follows.

What the panels read (names in ``mlplatform.alerts.exported``):

- requests: kube-state-metrics' ``kube_pod_container_resource_requests`` (``resource`` is
  ``cpu`` in cores, ``memory`` in bytes, ``nvidia_com_gpu`` for the extended resource
  ``nvidia.com/gpu``: kube-state-metrics v2 replaces ``.`` and ``/`` in a resource name by
  ``_``), counted only for pods in phase Running (``kube_pod_status_phase``): finished pipeline
  pods keep their requests in kube-state-metrics but cost nothing;
- usage: the kubelet's cAdvisor (``container_cpu_usage_seconds_total``,
  ``container_memory_working_set_bytes``), which kube-prometheus-stack scrapes; its pod-level
  (``container=""``) and pause-container (``container="POD"``) series are left out, and usage
  is matched to requests on ``namespace, pod, container``;
- GPUs: the DCGM exporter's ``DCGM_FI_DEV_GPU_UTIL`` (percent), whose series carry the GPU
  workload's ``namespace`` and ``pod`` (pod mapping on, scraped with ``honorLabels``);
- OpenCost (chart 2.5.29, app 1.121.1, ``pkg/costmodel/metrics.go``): node prices per hour
  (``node_ram_hourly_cost`` is per GiB, 1024^3 bytes), allocations (``container_*_allocation``:
  max of request and usage) and, from 1.121, ``llm_cost_per_million_tokens``
  (``pkg/inferencecost/exporter.go``; blended figure: no ``phase`` label);
- vLLM's token counters by ``model_name``, on pods whose ``namespace`` and ``pod`` the
  PodMonitor of ``mlp deploy llm`` adds: the LLM panel joins a model's pods to their GPU
  requests on those two labels, so it needs no recording rule and no pod label.

Pure: ``cost_dashboard()`` is the dashboard as data, ``render_cost_dashboard()`` its JSON text,
committed as ``infrastructure/kubernetes/base/monitoring/dashboards/dashboard.cost.json``
(a golden test compares them).
"""

from __future__ import annotations

import json
from typing import Any

from mlplatform.alerts import vllm
from mlplatform.alerts.grafana import dashboard
from mlplatform.cost.rates import CPU_CORE_HOUR, GPU_HOUR, HOURS_PER_MONTH, MEMORY_GB_HOUR

__all__ = ["FILE_NAME", "PRICE_VARIABLES", "cost_dashboard", "render_cost_dashboard"]

FILE_NAME = "dashboard.cost.json"
UID = "mlplatform-cost"
PRICE_VARIABLES = {
    "cpu_price": CPU_CORE_HOUR,
    "memory_price": MEMORY_GB_HOUR,
    "gpu_price": GPU_HOUR,
}
_DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
_RANGE = "5m"
_GB = "1e9"
_GIB = "1073741824"
_MONTH = f"{HOURS_PER_MONTH:g}"
_CONTAINER = "namespace, pod, container"
Doc = dict[str, Any]


def _requests(resource: str) -> str:
    return f'kube_pod_container_resource_requests{{resource="{resource}"}}'


def _running(expr: str) -> str:
    """``expr`` (series with namespace and pod) for pods in phase Running only."""
    phase = 'max by (namespace, pod) (kube_pod_status_phase{phase="Running"})'
    return f"({expr}) * on (namespace, pod) group_left () {phase}"


_CPU_USAGE = (
    f"sum by ({_CONTAINER}) "
    f'(rate(container_cpu_usage_seconds_total{{container!="", container!="POD"}}[{_RANGE}]))'
)
_MEMORY_USAGE = (
    f'sum by ({_CONTAINER}) (container_memory_working_set_bytes{{container!="", container!="POD"}})'
)

# dollars per hour of every running container's requests, one series per container and resource
DOLLARS_PER_HOUR = _running(
    f"{_requests('cpu')} * $cpu_price"
    f" or {_requests('memory')} / {_GB} * $memory_price"
    f" or {_requests('nvidia_com_gpu')} * $gpu_price"
)


def _efficiency(usage: str, resource: str) -> str:
    """Usage over requests by namespace, both over the containers that have both."""
    on = f"on ({_CONTAINER})"
    return (
        f"sum by (namespace) ({usage} and {on} {_requests(resource)})"
        f" / sum by (namespace) ({_requests(resource)} and {on} {usage})"
    )


def _idle(usage: str, resource: str) -> str:
    """Requests minus usage per container, never below 0 (keeps the ``resource`` label)."""
    return f"clamp_min({_requests(resource)} - on ({_CONTAINER}) group_left () {usage}, 0)"


WASTE_PER_HOUR = (
    f"sum by (namespace) ({_idle(_CPU_USAGE, 'cpu')} * $cpu_price"
    f" or {_idle(_MEMORY_USAGE, 'memory')} / {_GB} * $memory_price)"
)

_OPENCOST_ALLOCATED = (
    "sum(container_cpu_allocation * on (node) group_left () avg by (node) (node_cpu_hourly_cost))"
    f" + sum(container_memory_allocation_bytes / {_GIB}"
    " * on (node) group_left () avg by (node) (node_ram_hourly_cost))"
    " + (sum(container_gpu_allocation * on (node) group_left () avg by (node)"
    " (node_gpu_hourly_cost)) or vector(0))"
)

_M = vllm.MODEL_LABEL
_MODEL_GPU_DOLLARS = (
    f"sum by ({_M}) (sum by (namespace, pod) ({_requests('nvidia_com_gpu')})"
    f" * on (namespace, pod) group_left ({_M})"
    f" group by (namespace, pod, {_M}) ({vllm.GENERATION_TOKENS})) * $gpu_price"
)
_MILLION_TOKENS_PER_HOUR = (
    f"(sum by ({_M}) (rate({vllm.GENERATION_TOKENS}[{_RANGE}]))"
    f" + sum by ({_M}) (rate({vllm.PROMPT_TOKENS}[{_RANGE}]))) * 3600 / 1e6 > 0"
)
LLM_COST_PER_MILLION_TOKENS = f"{_MODEL_GPU_DOLLARS} / ({_MILLION_TOKENS_PER_HOUR})"
OPENCOST_LLM = f'avg by ({_M}) (llm_cost_per_million_tokens{{cost_basis="allocation", phase=""}})'

Target = tuple[str, str]  # (PromQL, legend)
_BY_NAMESPACE = "{{namespace}}"


def _panels() -> list[tuple[str, str, str, list[Target]]]:
    """(type, title, unit, targets) of every panel, in order."""
    month = f"sum({DOLLARS_PER_HOUR}) * {_MONTH}"
    return [
        ("stat", "Estimated monthly cost (requests x prices x 730 h)", "currencyUSD",
         [(month, "flat rate")]),
        ("stat", "OpenCost monthly cost", "currencyUSD",
         [(f"({_OPENCOST_ALLOCATED}) * {_MONTH}", "allocations"),
          (f"sum(node_total_hourly_cost) * {_MONTH}", "nodes")]),
        ("timeseries", "Cost per hour by namespace (GPU included)", "currencyUSD",
         [(f"sum by (namespace) ({DOLLARS_PER_HOUR})", _BY_NAMESPACE)]),
        ("timeseries", "Resource waste per hour (requests - usage)", "currencyUSD",
         [(WASTE_PER_HOUR, _BY_NAMESPACE)]),
        ("timeseries", "CPU efficiency (usage / requests)", "percentunit",
         [(_efficiency(_CPU_USAGE, "cpu"), _BY_NAMESPACE)]),
        ("timeseries", "Memory efficiency (working set / requests)", "percentunit",
         [(_efficiency(_MEMORY_USAGE, "memory"), _BY_NAMESPACE)]),
        ("timeseries", "GPU utilisation by pod", "percent",
         [('avg by (namespace, pod) (DCGM_FI_DEV_GPU_UTIL{pod!=""})',
           "{{namespace}}/{{pod}}")]),
        ("timeseries", "LLM cost per million tokens by model", "currencyUSD",
         [(LLM_COST_PER_MILLION_TOKENS, "{{model_name}} GPU requests"),
          (OPENCOST_LLM, "{{model_name}} OpenCost")]),
    ]  # fmt: skip


def cost_dashboard() -> Doc:
    """The dashboard, with the design's prices as its variables' defaults."""
    panels = [_panel(i, *spec) for i, spec in enumerate(_panels())]
    prices = [_price(n, v) for n, v in PRICE_VARIABLES.items()]
    return dashboard(
        UID, "mlplatform / Cloud cost", ["mlplatform", "cost"], panels, version=2, variables=prices
    )


def render_cost_dashboard() -> str:
    """The dashboard as the committed JSON file holds it."""
    return json.dumps(cost_dashboard(), indent=2) + "\n"


def _price(name: str, value: float) -> Doc:
    text = f"{value:g}"
    unit = {"cpu_price": "core", "memory_price": "GB", "gpu_price": "GPU"}[name]
    return {
        "name": name,
        "label": f"$ per {unit}-hour",
        "type": "textbox",
        "query": text,
        "current": {"text": text, "value": text},
        "options": [{"selected": True, "text": text, "value": text}],
        "hide": 0,
    }


def _panel(index: int, kind: str, title: str, unit: str, targets: list[Target]) -> Doc:
    return {
        "id": index + 1,
        "type": kind,
        "title": title,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": _DATASOURCE, "expr": e, "legendFormat": t}
            for n, (e, t) in enumerate(targets)
        ],
    }
