"""Every metric name an alert rule, a dashboard or a scaler may use, with the component that
exports it.

A rule that names a metric nobody exports never fires, and nothing says so. Each entry below
names its exporter and where its name is documented; ``tests/alerts/test_platform_rules.py``
checks every metric name in every rule of ``rule_groups()`` against this list, and
``tests/alerts/test_cost_dashboard.py`` every committed dashboard's panels and the KEDA scalers
that ``mlp deploy model`` and ``mlp deploy llm`` render. Names checked against
upstream sources in 2026-11 (KEDA 2.18 ``pkg/metricscollector/prommetrics.go``: the per-scaler
counter is ``keda_scaler_detail_errors_total``; the older ``keda_scaler_errors_total`` is gone).
vLLM's metrics (``alerts.vllm``, checked against vLLM 0.32) are scraped by the PodMonitor that
``mlp deploy llm`` renders beside each model; ``vllm_metrics_read`` lists the ones the platform
reads, for the test that scrapes a real vLLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mlplatform.alerts import vllm
from mlplatform.alerts.catalog import rule_groups
from mlplatform.alerts.llm_dashboard import llm_dashboard, panel_exprs
from mlplatform.drift import metrics as drift_metrics

__all__ = [
    "EXPORTED",
    "VLLM_EXPORTER",
    "Exported",
    "metric_names",
    "series_names",
    "vllm_metrics_read",
    "vllm_series_read",
]

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class Exported:
    """One exported metric: its type, exporter, and where the name is documented."""

    kind: Kind
    exporter: str
    source: str


_DRIFT = "mlplatform drift monitor (mlplatform.drift.metrics)"
_SERVING = "mlplatform model server (mlplatform.serving.metrics)"
VLLM_EXPORTER = "vLLM (scraped by the PodMonitor of mlp deploy llm)"
_CADVISOR = "kubelet cAdvisor (kube-prometheus-stack)"
_CADVISOR_DOC = (
    "kubernetes docs/reference/instrumentation/metrics; cadvisor docs/storage/prometheus.md"
)
_OPENCOST = "OpenCost (chart opencost, its ServiceMonitor)"

EXPORTED: dict[str, Exported] = {
    # Prometheus itself: one `up` series per scrape target (job="mlflow" for the MLflow server)
    "up": Exported("gauge", "Prometheus", "prometheus.io/docs/concepts/jobs_instances"),
    # KServe Python model server (kserve/metrics.py): latency histograms, label model_name
    "request_predict_seconds": Exported("histogram", "KServe ModelServer", "kserve/metrics.py"),
    "request_preprocess_seconds": Exported("histogram", "KServe ModelServer", "kserve/metrics.py"),
    "request_postprocess_seconds": Exported("histogram", "KServe ModelServer", "kserve/metrics.py"),
    "request_explain_seconds": Exported("histogram", "KServe ModelServer", "kserve/metrics.py"),
    # our serving metrics (KServe has no request counter by status): labels model, version,
    # variant (champion, challenger ...) and code; the server also exports KServe's
    # request_predict_seconds{model_name} above
    "mlplatform_inference_requests_total": Exported("counter", "mlplatform serving", _SERVING),
    "mlplatform_inference_request_duration_seconds": Exported(
        "histogram", "mlplatform serving", _SERVING
    ),
    "mlplatform_inference_batch_size": Exported("histogram", "mlplatform serving", _SERVING),
    "mlplatform_inference_queue_depth": Exported("gauge", "mlplatform serving", _SERVING),
    "mlplatform_inference_shed_total": Exported("counter", "mlplatform serving", _SERVING),
    "mlplatform_model_reloads_total": Exported("counter", "mlplatform serving", _SERVING),
    "mlplatform_model_info": Exported("gauge", "mlplatform serving", _SERVING),
    "mlplatform_payload_samples_total": Exported("counter", "mlplatform serving", _SERVING),
    # kube-state-metrics: labels namespace, pod, container (requests: also resource, unit;
    # extended resources such as nvidia.com/gpu appear as resource="nvidia_com_gpu")
    "kube_pod_container_resource_requests": Exported(
        "gauge", "kube-state-metrics", "kube-state-metrics docs/metrics/workload/pod-metrics.md"
    ),
    "kube_pod_container_status_restarts_total": Exported(
        "counter", "kube-state-metrics", "kube-state-metrics docs/metrics/workload/pod-metrics.md"
    ),
    # the pod's phase, one series per phase (1 for the current one): the cost panels count
    # running pods only
    "kube_pod_status_phase": Exported(
        "gauge", "kube-state-metrics", "kube-state-metrics docs/metrics/workload/pod-metrics.md"
    ),
    # the kubelet's cAdvisor (kube-prometheus-stack scrapes /metrics/cadvisor, job kubelet):
    # labels namespace, pod, container (container="" for the pod's cgroup, "POD" for pause)
    "container_cpu_usage_seconds_total": Exported("counter", _CADVISOR, _CADVISOR_DOC),
    "container_memory_working_set_bytes": Exported("gauge", _CADVISOR, _CADVISOR_DOC),
    # NVIDIA DCGM exporter: GPU utilisation in percent, labels gpu, UUID, Hostname, modelName
    # and, with Kubernetes pod mapping (the platform's values), the workload's namespace, pod
    # and container
    "DCGM_FI_DEV_GPU_UTIL": Exported(
        "gauge", "DCGM exporter", "dcgm-exporter etc/default-counters.csv"
    ),
    # OpenCost (chart 2.5.29, app 1.121.1; pkg/costmodel/metrics.go): node prices in $ per hour
    # (RAM per GiB-hour), labels node, instance, instance_type, region, provider_id, arch;
    # allocations = max(request, usage), labels namespace, pod, container, node
    **{
        name: Exported("gauge", _OPENCOST, "opencost pkg/costmodel/metrics.go")
        for name in (
            "node_cpu_hourly_cost",
            "node_ram_hourly_cost",
            "node_gpu_hourly_cost",
            "node_total_hourly_cost",
            "container_cpu_allocation",
            "container_memory_allocation_bytes",
            "container_gpu_allocation",
        )
    },
    # OpenCost 1.121+ with INFERENCE_COST_ENABLED: $ per million tokens by model_name,
    # cost_basis (allocation | usage), phase (none: blended, prompt, generation)
    "llm_cost_per_million_tokens": Exported(
        "gauge", _OPENCOST, "opencost pkg/inferencecost/exporter.go (1.121)"
    ),
    # KEDA operator (2.14+): labels namespace, scaledObject, scaler, triggerIndex, metric, type
    "keda_scaler_detail_errors_total": Exported(
        "counter", "KEDA operator", "keda pkg/metricscollector/prommetrics.go"
    ),
    "keda_scaled_object_errors_total": Exported(
        "counter", "KEDA operator", "keda pkg/metricscollector/prommetrics.go"
    ),
    # Argo Workflows controller (3.6+, 4.x): workflows that entered each phase, label phase
    "argo_workflows_total_count": Exported(
        "counter", "Argo Workflows controller", "argo-workflows docs/metrics.md"
    ),
    "argo_workflows_gauge": Exported(
        "gauge", "Argo Workflows controller", "argo-workflows docs/metrics.md"
    ),
    **{
        name: Exported("gauge", "mlplatform drift monitor", _DRIFT)
        for name in (
            drift_metrics.SCORE,
            drift_metrics.P_VALUE,
            drift_metrics.DETECTED,
            drift_metrics.DATASET_SHARE,
            drift_metrics.DATASET_DETECTED,
            drift_metrics.WINDOW_ROWS,
            drift_metrics.MISSING_SHARE,
            drift_metrics.REFERENCE_MISSING_SHARE,
        )
    },
    # vLLM 0.32's PrometheusStatLogger (vllm/v1/metrics/loggers.py): labels model_name, engine
    **{
        name: Exported(kind, VLLM_EXPORTER, "vllm/v1/metrics/loggers.py (vLLM 0.32)")
        for name, kind in vllm.METRICS.items()
    },
}

_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}

_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "exp", "floor", "group", "histogram_quantile", "holt_winters", "idelta",
    "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log2",
    "log10", "max", "max_over_time", "min", "min_over_time", "predict_linear",
    "present_over_time", "quantile", "quantile_over_time", "rate", "resets", "round",
    "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev", "stddev_over_time", "stdvar",
    "stdvar_over_time", "sum", "sum_over_time", "time", "timestamp", "topk", "vector",
}  # fmt: skip
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset", "inf", "nan"}  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_VARIABLES = re.compile(r"\$\{?\w+\}?")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords removed;
    Grafana's variables, ``$name`` or ``${name}``, are values, never metrics)."""
    text = _STRINGS.sub(" ", expr)
    text = _VARIABLES.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = re.sub(r"\b(?:\d+(?:ms|[smhdwy]))+\b", " ", text)  # durations: offset 5m
    text = re.sub(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", " ", text)
    found = set(_IDENT.findall(text))
    return {name for name in found if name.lower() not in _FUNCTIONS | _KEYWORDS}


def series_names() -> dict[str, str]:
    """Every series name that may appear in a rule (histograms as _bucket/_sum/_count), with
    its exporter."""
    return {
        name + suffix: entry.exporter
        for name, entry in EXPORTED.items()
        for suffix in _SUFFIXES[entry.kind]
    }


def vllm_series_read(*exprs: str) -> list[str]:
    """Every ``vllm:`` series the LLM alerts, the LLM dashboard and ``exprs`` select, as PromQL
    names them (``vllm:time_to_first_token_seconds_bucket``), sorted.

    Args:
        exprs: more PromQL to read, e.g. the queries of the rendered LLM scalers.
    """
    rules = [rule.expr for group in rule_groups() for rule in group.rules]
    every = [*rules, *panel_exprs(llm_dashboard()).values(), *exprs]
    return sorted({n for e in every for n in metric_names(e) if n.startswith("vllm:")})


def vllm_metrics_read(*exprs: str) -> list[str]:
    """The vLLM metric families that the LLM alerts, the LLM dashboard and ``exprs`` read, as
    vLLM's ``/metrics`` names them on its ``# TYPE`` lines (text format 0.0.4): a histogram by
    its base name, a counter with ``_total``, a gauge as is. Sorted.

    A ``vllm:`` name this module does not know comes back as written, so that a check
    against a real scrape fails on it. (prometheus_client's parser names a counter family
    without ``_total``: compare with ``family.name + "_total"`` for counters.)

    Args:
        exprs: more PromQL to read, e.g. the queries of the rendered LLM scalers.
    """
    family = {
        name + suffix: name for name, kind in vllm.METRICS.items() for suffix in _SUFFIXES[kind]
    }
    return sorted({family.get(series, series) for series in vllm_series_read(*exprs)})
