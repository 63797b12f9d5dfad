"""One process's tracer provider, built from the standard OpenTelemetry environment.

Tracing is on only when the environment asks for it (a laptop with no collector should not
log export errors): an exporter named in ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``;
``none`` for none), an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, which imply ``otlp``), or ``MLPLATFORM_TRACES_FILE``
(spans as JSON lines, one machine). ``OTEL_SDK_DISABLED=true`` turns everything off. The
service name is ``OTEL_SERVICE_NAME`` (else the caller's default), the resource takes
``OTEL_RESOURCE_ATTRIBUTES``; sampling (``OTEL_TRACES_SAMPLER``) and batching (``OTEL_BSP_*``)
are the SDK's own variables.

The provider is owned by the returned ``Tracing``, never installed as the global one: MLflow
3 keeps its own provider for its traces of LLM calls (``mlflow.tracing.provider``) and the two
must not share exporters. Every exporter runs behind a ``BatchSpanProcessor``: requests never
wait on the network or the disk. The SDK flushes at interpreter exit; short processes (the
launcher) call ``shutdown`` themselves before they exit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplatform.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

__all__ = ["TRACES_FILE_ENV", "Tracing", "configure_tracing"]

TRACES_FILE_ENV = "MLPLATFORM_TRACES_FILE"
_KNOWN = ("otlp", "console", "none")
_PROTOCOL = "http/protobuf"  # the OTLP exporter installed (no gRPC exporter in the image)


@dataclass(frozen=True)
class Tracing:
    """A process's tracing: ``tracer`` is None when tracing is off (callers then skip every
    span, so an untraced request pays one ``is None`` test)."""

    tracer: Tracer | None = None
    provider: TracerProvider | None = None

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export what is buffered; False when the exporters did not finish in time."""
        if self.provider is None:
            return True
        return bool(self.provider.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        """Flush and stop the exporters (at the end of a short process)."""
        if self.provider is not None:
            self.provider.shutdown()

    @classmethod
    def with_exporter(
        cls, exporter: SpanExporter, service_name: str, scope: str = "mlplatform"
    ) -> Tracing:
        """Tracing to ``exporter`` alone, span by span as each ends (tests, embedding: the
        SDK's ``InMemorySpanExporter`` sees every span as soon as it ends)."""
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        provider = _provider(service_name)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return cls(provider.get_tracer(scope), provider)


def configure_tracing(service_name: str, scope: str = "mlplatform") -> Tracing:
    """This process's tracing, from the environment (see the module docstring).

    Args:
        service_name: ``service.name`` unless ``OTEL_SERVICE_NAME`` (or the resource
            attributes) name one.
        scope: the instrumentation scope of the spans (``mlplatform.serving``).

    Raises:
        ConfigError: an unknown exporter, or an OTLP protocol other than ``http/protobuf``.
    """
    exporters = _exporters_asked(os.environ)
    if not exporters:
        return Tracing()
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = _provider(service_name)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider.get_tracer(scope), provider)


def _exporters_asked(environ: Any) -> list[SpanExporter]:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    found: list[SpanExporter] = []
    for name in _names(environ):
        if name == "otlp":
            found.append(_otlp(environ))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            found.append(ConsoleSpanExporter())
    path = environ.get(TRACES_FILE_ENV, "").strip()
    if path:
        from mlplatform.telemetry.jsonl import JsonLinesSpanExporter

        found.append(JsonLinesSpanExporter(Path(path)))
    return found


def _names(environ: Any) -> list[str]:
    """The exporters named in ``OTEL_TRACES_EXPORTER``; unset: ``otlp`` when an OTLP endpoint
    is set, else none (opt-in, unlike the SDK's default of ``otlp`` to localhost)."""
    raw = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not raw:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint else []
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in _KNOWN]
    if unknown:
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER names an exporter this image lacks: {', '.join(unknown)}",
            "Set OTEL_TRACES_EXPORTER to otlp, console or none (comma-separated), or unset "
            f"it; for spans in a file on this machine set {TRACES_FILE_ENV}=PATH.",
        )
    return [n for n in names if n != "none"]


def _otlp(environ: Any) -> SpanExporter:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or _PROTOCOL
    ).strip()
    if protocol != _PROTOCOL:
        raise ConfigError(
            f"OTLP protocol {protocol!r} is not supported here; spans go over {_PROTOCOL}",
            f"Set OTEL_EXPORTER_OTLP_PROTOCOL={_PROTOCOL} and point OTEL_EXPORTER_OTLP_ENDPOINT "
            "at the collector's OTLP/HTTP port (4318), e.g. "
            "http://opentelemetry-collector.monitoring.svc:4318.",
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression: the OTEL_* variables


def _provider(service_name: str) -> TracerProvider:
    """A provider (not the global one) whose resource is the environment's, with
    ``service.name`` defaulting to ``service_name``."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    return TracerProvider(resource=resource)
