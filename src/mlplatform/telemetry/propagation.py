"""W3C trace context in and out: ``traceparent`` headers, the ``TRACEPARENT`` variable, and
the hex ids a log line carries so that logs and traces join.

A caller's ``traceparent`` header continues its trace in the model server; a process started
with ``TRACEPARENT`` in its environment (the OpenTelemetry convention for environment
variables as context carriers) continues its parent's trace, as the launcher does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

__all__ = [
    "TRACEPARENT_ENV",
    "context_from_environ",
    "context_from_headers",
    "ids_of",
    "traceparent_of",
]

TRACEPARENT_ENV = "TRACEPARENT"
TRACESTATE_ENV = "TRACESTATE"
_HEADERS = (b"traceparent", b"tracestate")


def context_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> Context | None:
    """The caller's trace context from ASGI headers, or None when it sent none."""
    carrier = {k.decode(): v.decode("latin-1") for k, v in headers if k in _HEADERS}
    return _extract(carrier) if "traceparent" in carrier else None


def context_from_environ(environ: Mapping[str, str]) -> Context | None:
    """The parent's trace context from ``TRACEPARENT`` (and ``TRACESTATE``), or None."""
    parent = environ.get(TRACEPARENT_ENV)
    if not parent:
        return None
    return _extract({"traceparent": parent, "tracestate": environ.get(TRACESTATE_ENV, "")})


def traceparent_of(span: Span) -> str:
    """The ``traceparent`` value that continues ``span``'s trace ("" for an invalid span)."""
    from opentelemetry.trace import set_span_in_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, set_span_in_context(span))
    return carrier.get("traceparent", "")


def ids_of(span: Span) -> tuple[str, str]:
    """``(trace_id, span_id)`` in lowercase hex, as Tempo and the JSON lines show them."""
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _extract(carrier: dict[str, str]) -> Context | None:
    from opentelemetry.trace import get_current_span
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract(carrier)
    return context if get_current_span(context).get_span_context().is_valid else None
