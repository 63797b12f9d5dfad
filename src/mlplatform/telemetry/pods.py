"""The tracing environment of a pod (pure): where to send spans, and who sends them.

Rendered InferenceServices and Argo step pods get the standard OpenTelemetry variables; the
cluster's collector (the ``opentelemetry-collector`` gateway release in ``monitoring``,
infrastructure/helm/common/opentelemetry-collector.yaml) takes OTLP over HTTP on 4318 and
forwards traces to Tempo.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

__all__ = ["COLLECTOR_ENDPOINT", "pod_env", "resource_attributes"]

COLLECTOR_ENDPOINT = "http://opentelemetry-collector.monitoring.svc:4318"


def resource_attributes(attributes: Mapping[str, str]) -> str:
    """``OTEL_RESOURCE_ATTRIBUTES``: ``key=value`` pairs joined by commas, values
    percent-encoded (the SDK decodes them), in the order given; empty values are left out."""
    return ",".join(f"{k}={quote(v, safe='')}" for k, v in attributes.items() if v)


def pod_env(service: str, attributes: Mapping[str, str]) -> list[tuple[str, str]]:
    """The tracing variables of a pod: the collector, the service name and its identity."""
    env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", COLLECTOR_ENDPOINT),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_SERVICE_NAME", service),
    ]
    encoded = resource_attributes(attributes)
    if encoded:
        env.append(("OTEL_RESOURCE_ATTRIBUTES", encoded))
    return env
