"""The platform's seven alerts: promtool cases that fire and cases that stay quiet, exported
metric names only, and the same groups as a PrometheusRule.

promtool (Debian package ``prometheus``) is a test tool: without it these tests fail and say
how to install it, they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlplatform.alerts import rule_groups, write_rules_file
from mlplatform.alerts.exported import EXPORTED, metric_names, series_names
from mlplatform.alerts.platform import GROUP, platform_rules
from mlplatform.alerts.render import prometheus_rule

REPO = Path(__file__).resolve().parents[2]
SEVEN = {
    "HighInferenceLatency": ("5m", "warning"),
    "HighInferenceErrorRate": ("5m", "critical"),
    "InferenceServiceRestarts": ("0s", "warning"),
    "MLflowDown": ("2m", "critical"),
    "HighPipelineFailureRate": ("0s", "warning"),
    "LowGPUUtilization": ("30m", "info"),
    "KEDAScalerErrors": ("5m", "warning"),
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run scripts/install-services.sh (Debian prometheus)")
    return found


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def promtool_test(tmp_path: Path, inputs: list[dict], checks: list[dict]) -> None:
    write_rules_file(rule_groups(), tmp_path / "rules.yaml")
    spec = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "alert_rule_test": checks}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run(
        [promtool(), "test", "rules", "test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def alert(name: str, labels: dict[str, str], summary: str, description: str) -> dict:
    _, severity = SEVEN[name]
    component = {r.name: r.labels["component"] for r in platform_rules().rules}[name]
    return {
        "exp_labels": {"severity": severity, "component": component, **labels},
        "exp_annotations": {"summary": summary, "description": description},
    }


def rule_text(name: str) -> tuple[str, str]:
    rule = next(r for r in platform_rules().rules if r.name == name)
    return rule.summary, rule.description


def test_the_seven_rules_have_the_seed_thresholds_and_pass_promtool_check(tmp_path):
    rules = {r.name: r for r in platform_rules().rules}
    assert {n: (r.for_, r.severity) for n, r in rules.items()} == SEVEN
    assert rules["HighInferenceLatency"].expr.endswith("> 1")
    assert rules["HighInferenceErrorRate"].expr.endswith("> 0.05")
    assert rules["InferenceServiceRestarts"].expr.endswith("> 3")
    assert "[1h]" in rules["InferenceServiceRestarts"].expr
    assert rules["HighPipelineFailureRate"].expr.endswith("> 0.1")
    assert rules["LowGPUUtilization"].expr.endswith("< 20")
    assert GROUP in [g.name for g in rule_groups()]
    path = write_rules_file([platform_rules()], tmp_path / "rules.yaml")
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_every_rule_uses_only_metrics_that_a_component_exports():
    # GIVEN the allow-list of exported series WHEN every rule's expression is read
    allowed = series_names()
    for group in rule_groups():
        for rule in group.rules:
            used = metric_names(rule.expr)
            # THEN each metric it selects is exported by someone, and it selects at least one
            assert used, rule.name
            assert used <= set(allowed), f"{rule.name} uses {used - set(allowed)}"
    assert all(entry.source and entry.exporter for entry in EXPORTED.values())


def test_metric_names_reads_promql_like_prometheus_would():
    expr = (
        'histogram_quantile(0.95, sum by (le, model_name) (rate(x_bucket{code=~"5.."}[5m]))) '
        "/ on (job) group_left sum without (pod) (y_total offset 5m) > bool 1e3 "
        'or absent(up{job="a"})'
    )
    assert metric_names(expr) == {"x_bucket", "y_total", "up"}
    assert "request_predict_seconds_bucket" in series_names()
    assert "request_predict_seconds" not in series_names()  # a histogram is read by its series


def test_the_prometheus_rule_carries_the_same_groups_and_passes_its_crd_schema():
    # GIVEN the strict PrometheusRule schema the cluster issue validates against
    folder = Path(
        os.environ.get("MLPLATFORM_CRD_SCHEMAS") or REPO / "infrastructure" / "schemas" / "crd"
    )
    schema_file = folder / "monitoring.coreos.com" / "prometheusrule_v1.json"
    if not schema_file.is_file():
        pytest.fail(f"no PrometheusRule schema at {schema_file}; set MLPLATFORM_CRD_SCHEMAS")
    # WHEN the platform's groups are rendered as a PrometheusRule
    resource = prometheus_rule(rule_groups(), labels={"release": "kube-prometheus-stack"})
    # THEN it validates, and its groups are those of the local rules file
    jsonschema.validate(json.loads(json.dumps(resource)), json.loads(schema_file.read_text()))
    assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert resource["spec"]["groups"] == [g.to_dict() for g in rule_groups()]


def test_latency_fires_for_a_slow_model_after_5m_and_not_for_a_fast_one(tmp_path):
    # GIVEN 10 predictions a minute: "slow" all between 1 s and 2.5 s, "fast" all under 0.5 s
    inputs = []
    for model, bucket in (("slow", "2.5"), ("fast", "0.5")):
        for le in ("0.5", "1", "2.5", "+Inf"):
            grows = float(le if le != "+Inf" else "inf") >= float(bucket)
            values = "0+10x20" if grows else "0x20"
            inputs.append(series("request_predict_seconds_bucket", values, model_name=model, le=le))
    summary, _ = rule_text("HighInferenceLatency")
    checks = [
        {"eval_time": "4m", "alertname": "HighInferenceLatency", "exp_alerts": []},  # pending
        {
            "eval_time": "10m",
            "alertname": "HighInferenceLatency",
            "exp_alerts": [
                alert(
                    "HighInferenceLatency",
                    {"model_name": "slow"},
                    "P95 predict latency of slow is 2.425s",
                    "95 % of predictions of slow took up to 2.425s over 5 minutes (limit 1 s). "
                    "Check the model server's CPU and memory, the batch size, and whether a new "
                    "version is slower.",
                )
            ],
        },
    ]
    assert "{{ $labels.model_name }}" in summary
    promtool_test(tmp_path, inputs, checks)


def test_error_rate_fires_over_5_percent_for_5m_and_stays_quiet_at_4_percent(tmp_path):
    # GIVEN "bad" answers 10 % of requests with 500, "ok" 4 % with 503, "good" none
    name = "mlplatform_inference_requests_total"
    inputs = [
        series(name, "0+10x20", model="bad", code="500"),
        series(name, "0+90x20", model="bad", code="200"),
        series(name, "0+4x20", model="ok", code="503"),
        series(name, "0+96x20", model="ok", code="200"),
        series(name, "0+100x20", model="good", code="200"),
        series(name, "0+30x20", model="good", code="404"),  # client errors are not ours
    ]
    checks = [
        {"eval_time": "4m", "alertname": "HighInferenceErrorRate", "exp_alerts": []},
        {
            "eval_time": "12m",
            "alertname": "HighInferenceErrorRate",
            "exp_alerts": [
                alert(
                    "HighInferenceErrorRate",
                    {"model": "bad"},
                    "bad fails 10% of requests",
                    "More than 5 % of the requests to bad were answered with a server error for "
                    "5 minutes. Read the model server's log; if a new version was promoted, "
                    "`mlp models rollback` it.",
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)


def test_restarts_fire_over_3_an_hour_for_the_model_container_only(tmp_path):
    # GIVEN a predictor container restarting every minute, one that restarted twice, and a
    # sidecar that restarts often (not the model server)
    name = "kube_pod_container_status_restarts_total"
    pod = {"namespace": "models"}
    inputs = [
        series(name, "0+1x70", **pod, pod="churn-predictor-1", container="kserve-container"),
        series(name, "0 0 1 1 2x66", **pod, pod="fraud-predictor-1", container="kserve-container"),
        series(name, "0+1x70", **pod, pod="ads-predictor-1", container="queue-proxy"),
    ]
    checks = [
        {"eval_time": "2m", "alertname": "InferenceServiceRestarts", "exp_alerts": []},
        {
            "eval_time": "60m",
            "alertname": "InferenceServiceRestarts",
            "exp_alerts": [
                alert(
                    "InferenceServiceRestarts",
                    {"namespace": "models", "pod": "churn-predictor-1"},
                    "Model server models/churn-predictor-1 keeps restarting",
                    "The kserve-container of churn-predictor-1 restarted 60 times in the last "
                    "hour. Look for OOMKilled in `kubectl describe pod` and at the previous "
                    "container's log (`kubectl logs --previous`).",
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)


def test_mlflow_down_fires_after_2m_unreachable_and_not_while_it_answers(tmp_path):
    # GIVEN the MLflow target answers for 2 minutes, then not; another instance always answers
    inputs = [
        series("up", "1 1 0x20", job="mlflow", instance="127.0.0.1:15000"),
        series("up", "1x22", job="mlflow", instance="mlflow-2:5000"),
        series("up", "0x22", job="prometheus", instance="127.0.0.1:19090"),  # not MLflow
    ]
    summary = "MLflow tracking server 127.0.0.1:15000 is unreachable"
    _, description = rule_text("MLflowDown")
    checks = [
        {"eval_time": "3m", "alertname": "MLflowDown", "exp_alerts": []},  # pending
        {
            "eval_time": "5m",
            "alertname": "MLflowDown",
            "exp_alerts": [
                alert(
                    "MLflowDown",
                    {"job": "mlflow", "instance": "127.0.0.1:15000"},
                    summary,
                    description,
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)


def test_pipeline_failures_fire_over_10_percent_an_hour_and_not_at_5(tmp_path):
    # GIVEN namespace "etl" fails 2 of 10 workflows a minute, "ml" 1 of 20, "ok" none
    name = "argo_workflows_total_count"
    inputs = [
        series(name, "0+2x70", namespace="etl", phase="Failed"),
        series(name, "0+8x70", namespace="etl", phase="Succeeded"),
        series(name, "0+1x70", namespace="ml", phase="Error"),
        series(name, "0+19x70", namespace="ml", phase="Succeeded"),
        series(name, "0+10x70", namespace="ok", phase="Succeeded"),
        series(name, "0+50x70", namespace="ok", phase="Running"),  # not finished: not counted
    ]
    checks = [
        {
            "eval_time": "60m",
            "alertname": "HighPipelineFailureRate",
            "exp_alerts": [
                alert(
                    "HighPipelineFailureRate",
                    {"namespace": "etl"},
                    "20% of workflows failed in the last hour",
                    "More than 10 % of the Argo workflows that finished in the last hour failed. "
                    "`mlp pipeline status` and `mlp pipeline logs` show which step, and the "
                    "resume command.",
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)


def test_low_gpu_utilization_fires_after_30m_under_20_percent(tmp_path):
    # GIVEN GPU 0 at 5 % for 40 minutes and GPU 1 busy
    name = "DCGM_FI_DEV_GPU_UTIL"
    inputs = [
        series(name, "5x40", Hostname="node-1", gpu="0", UUID="GPU-a", modelName="H100"),
        series(name, "90x40", Hostname="node-1", gpu="1", UUID="GPU-b", modelName="H100"),
    ]
    _, description = rule_text("LowGPUUtilization")
    checks = [
        {"eval_time": "20m", "alertname": "LowGPUUtilization", "exp_alerts": []},  # pending
        {
            "eval_time": "35m",
            "alertname": "LowGPUUtilization",
            "exp_alerts": [
                alert(
                    "LowGPUUtilization",
                    {"Hostname": "node-1", "gpu": "0"},
                    "GPU 0 on node-1 is 5 % busy",
                    description,
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)


def test_keda_scaler_errors_fire_when_a_scaler_keeps_failing(tmp_path):
    # GIVEN the churn scaler fails 3 times a minute; the fraud scaler never
    name = "keda_scaler_detail_errors_total"
    common = {"namespace": "models", "triggerIndex": "0", "type": "scaledobject"}
    inputs = [
        series(name, "0+3x20", **common, scaledObject="churn", scaler="prometheusScaler",
               metric="s0-prometheus"),
        series(name, "0x20", **common, scaledObject="fraud", scaler="prometheusScaler",
               metric="s0-prometheus"),
    ]  # fmt: skip
    _, description = rule_text("KEDAScalerErrors")
    checks = [
        {"eval_time": "3m", "alertname": "KEDAScalerErrors", "exp_alerts": []},  # pending
        {
            "eval_time": "10m",
            "alertname": "KEDAScalerErrors",
            "exp_alerts": [
                alert(
                    "KEDAScalerErrors",
                    {"namespace": "models", "scaledObject": "churn", "scaler": "prometheusScaler"},
                    "KEDA scaler prometheusScaler of churn fails",
                    description.replace("{{ $labels.namespace }}", "models").replace(
                        "{{ $labels.scaledObject }}", "churn"
                    ),
                )
            ],
        },
    ]
    promtool_test(tmp_path, inputs, checks)
