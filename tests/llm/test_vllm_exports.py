"""Every vLLM metric the platform reads is one the real engine exports.

The names come from the LLM alerts and dashboard (``vllm_metrics_read``) and from the
queries of every ScaledObject ``mlp deploy llm`` renders (range and scale-to-zero, all three
clouds); the scrape is the shared tiny-model engine's ``/metrics`` (vLLM 0.32, CPU build).
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlplatform.alerts.exported import vllm_metrics_read
from mlplatform.llm.deploy import render

from ._engine import LlmEndpoint
from .deploy._specs import CLOUDS, spec


def _scaler_queries() -> list[str]:
    queries = []
    for cloud in CLOUDS:
        for scaling in (
            {"min_replicas": 0, "max_replicas": 2},
            {"min_replicas": 1, "max_replicas": 3},
        ):
            for doc in render(spec(cloud, "inferenceservice", **scaling)):
                if doc["kind"] == "ScaledObject":
                    queries += [
                        t["metadata"]["query"]
                        for t in doc["spec"]["triggers"]
                        if t["type"] == "prometheus"
                    ]
    return queries


@pytest.fixture(scope="module")
def exported(llm_endpoint: LlmEndpoint) -> set[str]:
    # one request first, so that every histogram has samples (a fresh engine exports them all
    # anyway; this keeps the check about names, not about traffic)
    httpx.post(
        f"{llm_endpoint.openai_base}/completions",
        json={"model": llm_endpoint.model, "prompt": "count", "max_tokens": 3},
        timeout=60,
    ).raise_for_status()
    text = httpx.get(llm_endpoint.metrics_url, timeout=10).text
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return {name for name in names if name.startswith("vllm:")}


def test_the_scalers_read_vllm_metrics():
    queries = _scaler_queries()
    assert queries  # the renderer does emit vLLM-driven scalers
    assert all("vllm:" in query for query in queries)


def test_every_metric_read_is_exported_by_the_real_engine(exported: set[str]):
    read = vllm_metrics_read(*_scaler_queries())
    assert len(read) >= 7  # TTFT, ITL, E2E, tokens, running, waiting, KV cache
    missing = [name for name in read if name not in exported]
    assert not missing, f"read by the platform but not exported by vLLM: {missing}"


def test_the_check_fails_on_a_name_vllm_does_not_export(exported: set[str]):
    read = vllm_metrics_read("rate(vllm:gpu_cache_usage_perc[5m])")  # the pre-0.10 name
    assert [name for name in read if name not in exported] == ["vllm:gpu_cache_usage_perc"]
