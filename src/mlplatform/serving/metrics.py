"""Prometheus metrics of the model server, on the default registry beside KServe's own.

Series (the alert rules in ``mlplatform.alerts.platform`` and the Grafana inference dashboard
use these names; ``mlplatform.alerts.exported`` lists them)::

    mlplatform_inference_requests_total{model,version,variant,code}    counter
    mlplatform_inference_request_duration_seconds{model,version,variant}  histogram
    request_predict_seconds{model_name}                                 KServe's histogram
    mlplatform_inference_batch_size{model,variant}                      histogram (rows)
    mlplatform_inference_queue_depth{model,variant}                     gauge
    mlplatform_inference_shed_total{model,reason}                       counter (429/503)
    mlplatform_model_reloads_total{model,variant,outcome}               counter
    mlplatform_model_info{model,version,variant,alias}                  gauge, 1 when served
    mlplatform_payload_samples_total{model,outcome}                     counter (kept/dropped)
    mlplatform_feature_store_errors_total{model,reason}                 counter (requests)

Label children are cached per (model, version, variant, code): a request costs two dict
lookups and two atomic adds, not a label resolution each.
"""

from __future__ import annotations

from typing import Any

from kserve.metrics import PREDICT_HIST_TIME
from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_SIZE",
    "FEATURE_STORE_ERRORS",
    "MODEL_INFO",
    "QUEUE_DEPTH",
    "RELOADS",
    "REQUESTS",
    "REQUEST_SECONDS",
    "SAMPLES",
    "SHED",
    "RequestMetrics",
]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "mlplatform_inference_requests",
    "Inference requests answered, by HTTP status code",
    ["model", "version", "variant", "code"],
)
REQUEST_SECONDS = Histogram(
    "mlplatform_inference_request_duration_seconds",
    "Time from request to response of inference requests",
    ["model", "version", "variant"],
    buckets=_LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "mlplatform_inference_batch_size",
    "Rows predicted together in one micro-batch",
    ["model", "variant"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
QUEUE_DEPTH = Gauge(
    "mlplatform_inference_queue_depth", "Requests waiting for a batch", ["model", "variant"]
)
SHED = Counter(
    "mlplatform_inference_shed",
    "Requests refused to protect latency (queue_full: 429, timeout/not_ready: 503)",
    ["model", "reason"],
)
RELOADS = Counter(
    "mlplatform_model_reloads",
    "Alias hot-reloads of a variant",
    ["model", "variant", "outcome"],
)
MODEL_INFO = Gauge(
    "mlplatform_model_info",
    "1 for the version each variant serves",
    ["model", "version", "variant", "alias"],
)
SAMPLES = Counter(
    "mlplatform_payload_samples",
    "Requests sampled for drift (kept) or dropped because the buffer was full",
    ["model", "outcome"],
)
FEATURE_STORE_ERRORS = Counter(
    "mlplatform_feature_store_errors",
    "Requests whose features the online store could not give (unavailable: 503, "
    "entity_not_found: 422)",
    ["model", "reason"],
)


class RequestMetrics:
    """Cached label children for the per-request series of one model."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}
        self._predict = PREDICT_HIST_TIME.labels(model_name=model)

    def observe(self, version: str, variant: str, code: int, seconds: float) -> None:
        key = (version, variant, str(code))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(self.model, version, variant, key[2])
        counter.inc()
        if code < 400:
            latency = self._latency.get(key[:2])
            if latency is None:
                latency = self._latency[key[:2]] = REQUEST_SECONDS.labels(
                    self.model, version, variant
                )
            latency.observe(seconds)
            self._predict.observe(seconds)
