"""The vLLM metrics the platform reads, named once: the LLM alerts, the LLM dashboard and the
LLM scalers use these constants.

Names and types checked against vLLM 0.32's ``vllm/v1/metrics/loggers.py`` (the
``PrometheusStatLogger``); every one carries the labels ``model_name`` (the served model name)
and ``engine``. A constant is the metric family as vLLM's ``/metrics`` names it on its
``# TYPE`` line (Prometheus text format 0.0.4): a histogram by its base name (PromQL reads its
``_bucket``, ``_sum`` and ``_count`` series), a counter with its ``_total``.
``tests/alerts/test_vllm_metrics.py`` checks them against the installed vLLM's source; the lead's
engine test checks them against a real scrape (``exported.vllm_metrics_read``).

vLLM 0.32 has no ``vllm:time_per_output_token_seconds`` (older releases did): the inter-token
latency is ``vllm:inter_token_latency_seconds``, and the per-request mean is
``vllm:request_time_per_output_token_seconds``. The KV-cache gauge is
``vllm:kv_cache_usage_perc`` (a share, 1 = full), not the older ``vllm:gpu_cache_usage_perc``.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "E2E_LATENCY",
    "GENERATION_TOKENS",
    "INTER_TOKEN_LATENCY",
    "KV_CACHE_USAGE",
    "METRICS",
    "MODEL_LABEL",
    "PROMPT_TOKENS",
    "QUEUE_TIME",
    "REQUESTS_RUNNING",
    "REQUESTS_WAITING",
    "REQUEST_SUCCESS",
    "TIME_PER_OUTPUT_TOKEN",
    "TTFT",
]

Kind = Literal["counter", "gauge", "histogram"]

MODEL_LABEL = "model_name"  # vLLM's label: the --served-model-name

# scheduler state (gauges)
REQUESTS_RUNNING = "vllm:num_requests_running"  # requests in the running batch
REQUESTS_WAITING = "vllm:num_requests_waiting"  # requests queued, not yet admitted to a batch
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"  # share of KV-cache blocks in use, 0..1
# tokens and requests (counters)
GENERATION_TOKENS = "vllm:generation_tokens_total"  # output tokens
PROMPT_TOKENS = "vllm:prompt_tokens_total"  # prefill tokens
REQUEST_SUCCESS = "vllm:request_success_total"  # finished requests, label finished_reason
# latencies (histograms, seconds)
TTFT = "vllm:time_to_first_token_seconds"
INTER_TOKEN_LATENCY = "vllm:inter_token_latency_seconds"
TIME_PER_OUTPUT_TOKEN = "vllm:request_time_per_output_token_seconds"  # mean per request
E2E_LATENCY = "vllm:e2e_request_latency_seconds"
QUEUE_TIME = "vllm:request_queue_time_seconds"

METRICS: dict[str, Kind] = {
    REQUESTS_RUNNING: "gauge",
    REQUESTS_WAITING: "gauge",
    KV_CACHE_USAGE: "gauge",
    GENERATION_TOKENS: "counter",
    PROMPT_TOKENS: "counter",
    REQUEST_SUCCESS: "counter",
    TTFT: "histogram",
    INTER_TOKEN_LATENCY: "histogram",
    TIME_PER_OUTPUT_TOKEN: "histogram",
    E2E_LATENCY: "histogram",
    QUEUE_TIME: "histogram",
}
