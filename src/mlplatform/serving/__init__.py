"""Model serving on the KServe protocol (V1 and V2 REST), built on the KServe SDK's types.

- ``config``: ``ServerConfig`` and its parts (variants, batching, sampling);
- ``loader``: a model reference (``mlplatform.grammar``) or folder -> the native flavour;
- ``signature``: the inputs a model accepts, and the 4xx checks of a request;
- ``tensors``: V2 tensors: datatypes, JSON and binary-extension decoding, binary answers;
- ``batcher``: micro-batching with a bounded queue, 429/503 with Retry-After;
- ``service``: variants, canary routing (sticky by header), alias hot-reload;
- ``sampler``: payload sampling to Parquet and the drift monitor;
- ``app``: the ASGI app (V1, V2, health, metrics, OpenAPI); ``server``: run it;
- ``kserve_model``: the same runtime as a ``kserve.Model`` for KServe's ModelServer;
- ``deploy``: render InferenceService, HTTPRoute and PodMonitor for a cloud.
"""

from __future__ import annotations

from mlplatform.serving.config import (
    BatchConfig,
    SamplingConfig,
    ServerConfig,
    VariantConfig,
    variants_for,
)
from mlplatform.serving.server import BackgroundServer, build_app, serve, start_background

__all__ = [
    "BackgroundServer",
    "BatchConfig",
    "SamplingConfig",
    "ServerConfig",
    "VariantConfig",
    "build_app",
    "serve",
    "start_background",
    "variants_for",
]
