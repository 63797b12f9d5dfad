"""Traces of the model server and the step launcher (OpenTelemetry).

Tracing is opt-in and configured from the standard OpenTelemetry environment, plus one
platform variable for a single machine (``MLPLATFORM_TRACES_FILE``): see ``configure_tracing``
and docs/observability.md. Each process owns its ``TracerProvider`` (``Tracing``): the global
provider is left alone, so MLflow's own tracing (LLM calls) keeps its isolated provider.

Light to import: the OpenTelemetry SDK is imported only when tracing is configured on.
"""

from __future__ import annotations

from mlplatform.telemetry.pods import COLLECTOR_ENDPOINT, pod_env, resource_attributes
from mlplatform.telemetry.propagation import (
    TRACEPARENT_ENV,
    context_from_environ,
    context_from_headers,
    ids_of,
    traceparent_of,
)
from mlplatform.telemetry.provider import TRACES_FILE_ENV, Tracing, configure_tracing
from mlplatform.telemetry.spans import optional_span

__all__ = [
    "COLLECTOR_ENDPOINT",
    "TRACEPARENT_ENV",
    "TRACES_FILE_ENV",
    "Tracing",
    "configure_tracing",
    "context_from_environ",
    "context_from_headers",
    "ids_of",
    "optional_span",
    "pod_env",
    "resource_attributes",
    "traceparent_of",
]
