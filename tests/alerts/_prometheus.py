"""A real Prometheus over synthetic series whose answers are known, for the dashboard tests and
``scripts/render-dashboards.py``.

The series are written as OpenMetrics text, turned into TSDB blocks by ``promtool tsdb
create-blocks-from openmetrics`` and served by ``prometheus`` on loopback (both Debian 2.42, a
test tool: without them the tests fail and say how to install them, they never skip).
``CLUSTER`` is one small cluster: two namespaces, three pods, one LLM, OpenCost's prices; the
cost tests compute its answers by hand.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

INSTALL = "prometheus/promtool are missing: run scripts/install-test-tools.sh (Debian prometheus)"
START = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 15
MINUTES = 30
END = START + MINUTES * 60  # every query is evaluated here


@dataclass(frozen=True)
class Series:
    """One series: a constant gauge (``rate`` 0) or a counter growing ``rate`` per second."""

    name: str
    labels: dict[str, str]
    value: float = 0.0
    rate: float = 0.0

    def at(self, t: int) -> float:
        return self.value + self.rate * (t - START)


def _gauge(name: str, value: float, **labels: str) -> Series:
    return Series(name, labels, value=value)


def _counter(name: str, rate: float, **labels: str) -> Series:
    return Series(name, labels, rate=rate)


# ---- the synthetic cluster ---------------------------------------------------------------
GB = 1e9
GIB = 1024**3
# (namespace, pod, container, node): cpu request, memory request, GPUs, cpu used, memory used
CONTAINERS = {
    ("ml", "train-1", "trainer", "n1"): (1.0, 2 * GB, 1, 0.5, 1.5 * GB),
    ("ml", "serve-1", "server", "n2"): (0.4, 1 * GB, 0, 0.3, 0.5 * GB),
    ("ml", "serve-1", "proxy", "n2"): (0.1, None, 0, 0.3, 0.2 * GB),  # over its request
    ("llm", "chat-predictor-0", "main", "n1"): (2.0, 8 * GB, 1, 1.0, 6 * GB),
}
FINISHED = ("ml", "old-run-1", "step", "n2")  # phase Succeeded: 4 cores, 16 GB requested


def _kube() -> list[Series]:
    out: list[Series] = []
    req = "kube_pod_container_resource_requests"
    for (ns, pod, container, node), (cpu, mem, gpus, used_cpu, used_mem) in CONTAINERS.items():
        where = {"namespace": ns, "pod": pod, "container": container, "node": node}
        out.append(_gauge(req, cpu, **where, resource="cpu", unit="core"))
        if mem is not None:
            out.append(_gauge(req, mem, **where, resource="memory", unit="byte"))
        if gpus:
            out.append(_gauge(req, gpus, **where, resource="nvidia_com_gpu", unit="integer"))
        cadvisor = {"namespace": ns, "pod": pod, "container": container, "job": "kubelet"}
        out.append(_counter("container_cpu_usage_seconds_total", used_cpu, **cadvisor, cpu="total"))
        out.append(_gauge("container_memory_working_set_bytes", used_mem, **cadvisor))
    ns, pod, container, node = FINISHED
    where = {"namespace": ns, "pod": pod, "container": container, "node": node}
    out.append(_gauge(req, 4.0, **where, resource="cpu", unit="core"))
    out.append(_gauge(req, 16 * GB, **where, resource="memory", unit="byte"))
    for ns, pod in {(k[0], k[1]) for k in CONTAINERS} | {(FINISHED[0], FINISHED[1])}:
        for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
            running = "Succeeded" if pod == FINISHED[1] else "Running"
            value = 1.0 if phase == running else 0.0
            out.append(_gauge("kube_pod_status_phase", value, namespace=ns, pod=pod, phase=phase))
    # what the kubelet also reports and the panels must leave out: the pod's own cgroup
    # (container="") and the pause container
    for container in ("", "POD"):
        pod = {"namespace": "ml", "pod": "train-1", "container": container, "job": "kubelet"}
        out.append(_counter("container_cpu_usage_seconds_total", 5.0, **pod, cpu="total"))
        out.append(_gauge("container_memory_working_set_bytes", 50 * GB, **pod))
    return out


GPU_UTIL = {("ml", "train-1"): 70.0, ("llm", "chat-predictor-0"): 90.0}


def _dcgm() -> list[Series]:
    out = [
        _gauge("DCGM_FI_DEV_GPU_UTIL", util, Hostname="n1", gpu=str(i), UUID=f"GPU-{i}",
               modelName="NVIDIA L4", namespace=ns, pod=pod, container="main")
        for i, ((ns, pod), util) in enumerate(GPU_UTIL.items())
    ]  # fmt: skip
    # a GPU no pod holds: no workload labels, not a pod's utilisation
    out.append(_gauge("DCGM_FI_DEV_GPU_UTIL", 0.0, Hostname="n2", gpu="0", UUID="GPU-9",
                      modelName="NVIDIA L4"))  # fmt: skip
    return out


# OpenCost: per-node prices ($/h; RAM per GiB-hour) and allocations
NODE_PRICES = {"n1": (0.03, 0.004, 2.5, 5.0), "n2": (0.03, 0.004, 0.0, 0.5)}
ALLOCATIONS = {  # (namespace, pod, container, node): cores, bytes, GPUs
    ("ml", "train-1", "trainer", "n1"): (1.0, 2 * GIB, 1.0),
    ("ml", "serve-1", "server", "n2"): (0.4, 1 * GIB, 0.0),
}
LLM_OPENCOST = 0.9  # OpenCost's blended allocation-basis $ per million tokens of "chat"


def _opencost() -> list[Series]:
    out: list[Series] = []
    names = ("node_cpu_hourly_cost", "node_ram_hourly_cost", "node_gpu_hourly_cost",
             "node_total_hourly_cost")  # fmt: skip
    for node, prices in NODE_PRICES.items():
        for name, price in zip(names, prices, strict=True):
            out.append(_gauge(name, price, node=node, instance=node, instance_type="g6.xlarge",
                              job="opencost"))  # fmt: skip
    for (ns, pod, container, node), (cpu, mem, gpu) in ALLOCATIONS.items():
        where = {"namespace": ns, "pod": pod, "container": container, "node": node}
        out.append(_gauge("container_cpu_allocation", cpu, **where))
        out.append(_gauge("container_memory_allocation_bytes", mem, **where))
        if gpu:
            out.append(_gauge("container_gpu_allocation", gpu, **where))
    llm = {"model_name": "chat", "model_version": "unknown", "namespace": "llm"}
    out += [
        _gauge("llm_cost_per_million_tokens", LLM_OPENCOST, **llm, cost_basis="allocation"),
        _gauge("llm_cost_per_million_tokens", 0.3, **llm, cost_basis="usage"),
        _gauge("llm_cost_per_million_tokens", 0.5, **llm, cost_basis="allocation",
               phase="prompt", allocation_method="compute_time"),
    ]  # fmt: skip
    return out


# vLLM on llm/chat-predictor-0 (labels the PodMonitor adds: namespace, pod)
GENERATION_TOKENS_PER_S = 900.0
PROMPT_TOKENS_PER_S = 100.0


def _vllm() -> list[Series]:
    labels = {"model_name": "chat", "engine": "0", "namespace": "llm", "pod": "chat-predictor-0"}
    out = [
        _counter("vllm:generation_tokens_total", GENERATION_TOKENS_PER_S, **labels),
        _counter("vllm:prompt_tokens_total", PROMPT_TOKENS_PER_S, **labels),
        _gauge("vllm:num_requests_running", 3, **labels),
        _gauge("vllm:num_requests_waiting", 1, **labels),
        _gauge("vllm:kv_cache_usage_perc", 0.4, **labels),
    ]
    histograms = {
        "vllm:time_to_first_token_seconds_bucket": ("0.5", "1"),
        "vllm:inter_token_latency_seconds_bucket": ("0.01", "0.025"),
        "vllm:e2e_request_latency_seconds_bucket": ("2.5", "5"),
    }
    for name, (below, upper) in histograms.items():
        for le in (below, upper, "+Inf"):
            out.append(_counter(name, 0.0 if le == below else 2.0, **labels, le=le))
    return out


def _serving() -> list[Series]:
    out: list[Series] = []
    for model, ok, errors in (("churn", 9.0, 1.0), ("fraud", 5.0, 0.0)):
        where = {"model": model, "version": "1", "variant": "champion"}
        out.append(_counter("mlplatform_inference_requests_total", ok, **where, code="200"))
        out.append(_counter("mlplatform_inference_requests_total", errors, **where, code="500"))
        for le in ("0.05", "0.1", "+Inf"):
            rate = 0.0 if le == "0.05" else ok + errors
            out.append(_counter("request_predict_seconds_bucket", rate, model_name=model, le=le))
    return out


def _drift() -> list[Series]:
    model = {"model": "churn", "version": "1"}
    feature = {**model, "feature": "age", "test": "ks"}
    return [
        _gauge("mlplatform_drift_dataset_detected", 1, **model),
        _gauge("mlplatform_drift_dataset_share", 0.5, **model),
        _gauge("mlplatform_drift_window_rows", 1000, **model),
        _gauge("mlplatform_drift_score", 0.3, **feature),
        _gauge("mlplatform_drift_p_value", 0.01, **feature),
        _gauge("mlplatform_drift_missing_share", 0.1, model="churn", version="1", feature="age"),
        _gauge("mlplatform_drift_reference_missing_share", 0.02, model="churn", version="1",
               feature="age"),
    ]  # fmt: skip


def cluster() -> list[Series]:
    """Every synthetic series: the cost sources and what the other dashboards read."""
    return _kube() + _dcgm() + _opencost() + _vllm() + _serving() + _drift()


# ---- OpenMetrics, blocks, a running Prometheus --------------------------------------------
def openmetrics(series: list[Series]) -> str:
    """The series as OpenMetrics text, one family per name, a sample every ``STEP`` seconds."""
    lines: list[str] = []
    for name in sorted({s.name for s in series}):
        lines.append(f"# TYPE {name} unknown")
        for s in (s for s in series if s.name == name):
            inner = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            lines += [f"{name}{{{inner}}} {s.at(t):.10g} {t}" for t in range(START, END + 1, STEP)]
    return "\n".join([*lines, "# EOF", ""])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        import pytest

        pytest.fail(INSTALL)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_blocks(folder: Path, series: list[Series]) -> Path:
    """TSDB blocks of ``series`` under ``folder/data`` (``promtool tsdb create-blocks-from``)."""
    text = folder / "series.om"
    text.write_text(openmetrics(series))
    data = folder / "data"
    result = subprocess.run(
        [_tool("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(text), str(data)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"promtool could not build blocks: {result.stderr}")
    return data


@dataclass(frozen=True)
class Prometheus:
    url: str
    pid: int

    def query(self, expr: str, at: int = END) -> list[dict[str, Any]]:
        """The instant vector ``expr`` gives at ``at`` (a scalar as one unlabelled sample)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr, "time": at})
        body = answer.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('error', body)}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def values(self, expr: str, key: str | None = None) -> dict[str, float]:
        """``{label value of key (or ""): sample}`` of ``expr`` at the data's end."""
        return {
            (s["metric"].get(key, "") if key else ""): float(s["value"][1])
            for s in self.query(expr)
        }


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus did not become ready: {log.read_text()[-2000:]}")


@contextmanager
def running_prometheus(
    folder: Path, series: Callable[[], list[Series]] = cluster
) -> Iterator[Prometheus]:
    """Prometheus on loopback over blocks of ``series()``; stopped by its PID on exit."""
    data = build_blocks(folder, series())
    config = folder / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [_tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={data}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _ready(url, process, log)
        yield Prometheus(url, process.pid)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
