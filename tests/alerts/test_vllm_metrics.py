"""vLLM's metric names: each constant is a metric the installed vLLM declares, with that type;
``vllm_metrics_read`` lists what the platform reads; the PodMonitor that ``mlp deploy llm``
renders scrapes them (so they count as exported)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from llm.deploy._specs import CLOUDS, KINDS, spec
from mlplatform.alerts import vllm
from mlplatform.alerts.exported import (
    EXPORTED,
    VLLM_EXPORTER,
    metric_names,
    series_names,
    vllm_metrics_read,
    vllm_series_read,
)
from mlplatform.errors import LlmEngineError
from mlplatform.llm.deploy import render
from mlplatform.llm.local.venv import llm_python

READ = [
    "vllm:e2e_request_latency_seconds",
    "vllm:generation_tokens_total",
    "vllm:inter_token_latency_seconds",
    "vllm:kv_cache_usage_perc",
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:time_to_first_token_seconds",
]
# The port vLLM serves its API and /metrics on: `vllm serve ... --port 8000` in KServe v0.20's
# LLMInferenceService template; 8080 in its kserve-vllmserver ClusterServingRuntime.
VLLM_PORT = {"llminferenceservice": 8000, "inferenceservice": 8080}
# Labels KServe puts on the pods beside the ones we render: the workload of an
# LLMInferenceService; the predictor of an InferenceService.
KSERVE_POD_LABELS = {
    "llminferenceservice": {"app.kubernetes.io/part-of": "llminferenceservice",
                            "app.kubernetes.io/component": "llminferenceservice-workload"},
    "inferenceservice": {"serving.kserve.io/inferenceservice": "<name>"},
}  # fmt: skip


def declared_by_vllm() -> dict[str, str]:
    """``{family as /metrics names it: type}`` from the installed vLLM's stat logger source."""
    try:
        python = llm_python(Path(__file__).parent)
    except LlmEngineError as exc:
        pytest.fail(f"{exc.headline} {exc.hint}")
    found = subprocess.run(
        [str(python), "-c", "import importlib.util as u; "
         "print(u.find_spec('vllm').submodule_search_locations[0])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    source = (Path(found) / "v1" / "metrics" / "loggers.py").read_text()
    pattern = r'self\._(gauge|counter|histogram)_cls\(\s*name="(vllm:[a-z0-9_]+)"'
    declared = re.findall(pattern, source)
    assert len(declared) > 20, "vLLM's stat logger changed shape: read loggers.py again"
    return {name + ("_total" if kind == "counter" else ""): kind for kind, name in declared}


def test_every_constant_is_a_metric_the_installed_vllm_declares_with_that_type():
    declared = declared_by_vllm()
    assert {name: declared.get(name) for name in vllm.METRICS} == vllm.METRICS
    # the names older releases used are gone, so nothing may read them
    assert "vllm:time_per_output_token_seconds" not in declared
    assert "vllm:gpu_cache_usage_perc" not in declared


def test_vllm_metrics_count_as_exported_with_their_series():
    assert {n for n, e in EXPORTED.items() if e.exporter == VLLM_EXPORTER} == set(vllm.METRICS)
    names = series_names()
    assert names["vllm:time_to_first_token_seconds_bucket"] == VLLM_EXPORTER
    assert names["vllm:generation_tokens_total"] == VLLM_EXPORTER
    assert "vllm:time_to_first_token_seconds" not in names  # read by its series
    assert metric_names("sum by (model_name) (vllm:num_requests_waiting)") == {
        "vllm:num_requests_waiting"
    }


def test_vllm_metrics_read_lists_the_families_of_the_alerts_and_the_dashboard():
    assert vllm_metrics_read() == READ
    assert "vllm:time_to_first_token_seconds_bucket" in vllm_series_read()
    # GIVEN a scaler's query, a name vLLM does not export, and a metric of someone else
    scaler = "sum(vllm:request_queue_time_seconds_sum) / sum(vllm:request_queue_time_seconds_count)"
    read = vllm_metrics_read(scaler, "avg(vllm:gpu_cache_usage_perc)", "up == 0")
    # THEN the scaler's family is added, the unknown name kept as written (a scrape check
    # then fails on it), and only vLLM's names are listed
    assert read == sorted([*READ, "vllm:request_queue_time_seconds", "vllm:gpu_cache_usage_perc"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_rendered_podmonitor_scrapes_vllm_on_its_pods(cloud, kind):
    # GIVEN a rendered LLM deployment WHEN its PodMonitor is read
    docs = render(spec(cloud, kind))
    service = docs[0]
    monitors = [d for d in docs if d["kind"] == "PodMonitor"]
    assert len(monitors) == 1
    monitor = monitors[0]["spec"]
    # THEN it looks in the service's namespace, at vLLM's port and path
    assert monitor["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    (endpoint,) = monitor["podMetricsEndpoints"]
    assert endpoint["portNumber"] == VLLM_PORT[kind]
    assert endpoint.get("path", "/metrics") == "/metrics"
    # AND selects the pods KServe runs for this service (our labels and KServe's)
    name = service["metadata"]["name"]
    rendered = service["spec"].get("labels") or service["metadata"]["labels"]
    kserve = {k: v.replace("<name>", name) for k, v in KSERVE_POD_LABELS[kind].items()}
    pod_labels = {**rendered, **kserve}
    selector = monitor["selector"]
    assert selector.get("matchLabels", {}).items() <= pod_labels.items()
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "Exists"
        assert expression["key"] in pod_labels


def test_the_rendered_llm_scalers_read_only_known_vllm_metrics():
    # GIVEN the ScaledObjects of the LLM golden files (what `mlp deploy llm` renders)
    golden = Path(__file__).resolve().parents[1] / "llm" / "deploy" / "golden"
    docs = [d for f in sorted(golden.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    queries = [trigger["metadata"]["query"]
               for d in docs if d and d["kind"] == "ScaledObject"
               for trigger in d["spec"]["triggers"] if trigger["type"] == "prometheus"]  # fmt: skip
    assert queries, "no LLM ScaledObject in the golden files"
    # WHEN they are read with the alerts and the dashboard THEN every family is a known one
    assert set(vllm_metrics_read(*queries)) <= set(vllm.METRICS)
    assert set(vllm_metrics_read(*queries)) >= {vllm.REQUESTS_WAITING, vllm.KV_CACHE_USAGE}
