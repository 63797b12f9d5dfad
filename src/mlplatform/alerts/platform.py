"""The platform's own alerts (the seed's seven): serving, MLflow, pipelines, GPUs, autoscaling.

Each rule uses metrics that some component really exports (``exported.py`` lists them):

========================  =========================================================  ========
alert                     condition                                                   severity
========================  =========================================================  ========
HighInferenceLatency      KServe predict P95 > 1 s for 5 m                           warning
HighInferenceErrorRate    > 5 % of inference requests answered 5xx, for 5 m           critical
InferenceServiceRestarts  > 3 restarts of a model server container in an hour         warning
MLflowDown                the MLflow server's scrape fails for 2 m                   critical
HighPipelineFailureRate   > 10 % of Argo workflows failed in the last hour            warning
LowGPUUtilization         a GPU under 20 % busy for 30 m                              info
KEDAScalerErrors          a KEDA scaler keeps failing to read its metric for 5 m     warning
========================  =========================================================  ========
"""

from __future__ import annotations

from mlplatform.alerts.rule import AlertRule, RuleGroup

__all__ = ["GROUP", "INFERENCE_REQUESTS", "platform_rules"]

GROUP = "mlplatform-platform"
INFERENCE_REQUESTS = "mlplatform_inference_requests_total"  # labels: model, code (HTTP status)
_PREDICT = "request_predict_seconds_bucket"  # KServe ModelServer, label model_name


def platform_rules(runbook_url: str = "") -> RuleGroup:
    """The seven platform alerts as one group."""
    rules = (*_serving(runbook_url), *_platform(runbook_url))
    return RuleGroup(GROUP, rules)


def _serving(runbook_url: str) -> tuple[AlertRule, ...]:
    return (
        AlertRule(
            name="HighInferenceLatency",
            expr=(f"histogram_quantile(0.95, sum by (model_name, le) (rate({_PREDICT}[5m]))) > 1"),
            for_="5m",
            severity="warning",
            summary=(
                "P95 predict latency of {{ $labels.model_name }} is {{ $value | humanizeDuration }}"
            ),
            description=(
                "95 % of predictions of {{ $labels.model_name }} took up to "
                "{{ $value | humanizeDuration }} over 5 minutes (limit 1 s). Check the model "
                "server's CPU and memory, the batch size, and whether a new version is slower."
            ),
            labels={"component": "serving"},
            runbook_url=runbook_url,
        ),
        AlertRule(
            name="HighInferenceErrorRate",
            expr=(
                f'sum by (model) (rate({INFERENCE_REQUESTS}{{code=~"5.."}}[5m])) '
                f"/ sum by (model) (rate({INFERENCE_REQUESTS}[5m])) > 0.05"
            ),
            for_="5m",
            severity="critical",
            summary="{{ $labels.model }} fails {{ $value | humanizePercentage }} of requests",
            description=(
                "More than 5 % of the requests to {{ $labels.model }} were answered with a "
                "server error for 5 minutes. Read the model server's log; if a new version "
                "was promoted, `mlp models rollback` it."
            ),
            labels={"component": "serving"},
            runbook_url=runbook_url,
        ),
        AlertRule(
            name="InferenceServiceRestarts",
            expr=(
                "sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total"
                '{container="kserve-container"}[1h])) > 3'
            ),
            severity="warning",
            summary="Model server {{ $labels.namespace }}/{{ $labels.pod }} keeps restarting",
            description=(
                "The kserve-container of {{ $labels.pod }} restarted {{ $value }} times in the "
                "last hour. Look for OOMKilled in `kubectl describe pod` and at the previous "
                "container's log (`kubectl logs --previous`)."
            ),
            labels={"component": "serving"},
            runbook_url=runbook_url,
        ),
    )


def _platform(runbook_url: str) -> tuple[AlertRule, ...]:
    return (
        AlertRule(
            name="MLflowDown",
            expr='up{job="mlflow"} == 0',
            for_="2m",
            severity="critical",
            summary="MLflow tracking server {{ $labels.instance }} is unreachable",
            description=(
                "Prometheus could not scrape the MLflow server for 2 minutes: pipelines cannot "
                "record runs and model servers cannot load new versions. Locally: `mlp status` "
                "and `mlp logs mlflow`; on a cluster: the mlflow pods and their database."
            ),
            labels={"component": "mlflow"},
            runbook_url=runbook_url,
        ),
        AlertRule(
            name="HighPipelineFailureRate",
            expr=(
                'sum by (namespace) (increase(argo_workflows_total_count{phase=~"Failed|Error"}'
                "[1h])) / sum by (namespace) (increase(argo_workflows_total_count"
                '{phase=~"Succeeded|Failed|Error"}[1h])) > 0.1'
            ),
            severity="warning",
            summary="{{ $value | humanizePercentage }} of workflows failed in the last hour",
            description=(
                "More than 10 % of the Argo workflows that finished in the last hour failed. "
                "`mlp pipeline status` and `mlp pipeline logs` show which step, and the "
                "resume command."
            ),
            labels={"component": "pipelines"},
            runbook_url=runbook_url,
        ),
        AlertRule(
            name="LowGPUUtilization",
            expr="avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL) < 20",
            for_="30m",
            severity="info",
            summary="GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is {{ $value }} % busy",
            description=(
                "This GPU was under 20 % busy for 30 minutes: the workload on it may be "
                "oversized (fewer replicas, a smaller GPU, or batching would cost less)."
            ),
            labels={"component": "gpu"},
            runbook_url=runbook_url,
        ),
        AlertRule(
            name="KEDAScalerErrors",
            expr=(
                "sum by (namespace, scaledObject, scaler) "
                "(rate(keda_scaler_detail_errors_total[5m])) > 0"
            ),
            for_="5m",
            severity="warning",
            summary="KEDA scaler {{ $labels.scaler }} of {{ $labels.scaledObject }} fails",
            description=(
                "The scaler cannot read its metric, so {{ $labels.namespace }}/"
                "{{ $labels.scaledObject }} does not scale. `kubectl describe scaledobject` "
                "shows the error; check the trigger's address and credentials."
            ),
            labels={"component": "autoscaling"},
            runbook_url=runbook_url,
        ),
    )
