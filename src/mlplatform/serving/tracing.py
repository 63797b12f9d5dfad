"""The model server's spans: request -> batch -> predict.

One inference request is one ``SERVER`` span (``POST /v2/models/NAME/infer``), continuing the
caller's trace when it sends a ``traceparent`` header. A batch serves many requests: its
``batch`` span is a child of the *first* request of the batch (so that request's trace shows
request -> batch -> predict end to end) and carries a link to every other request's span;
each of those request spans gets a link back to the batch span. ``predict`` is the model call
on the predict thread, a child of ``batch``. Health, metadata and ``/metrics`` are not traced:
probes and scrapes would drown the inference traces.

Attributes (``mlplatform.*`` beside the HTTP semantic conventions):

- request: ``http.request.method``, ``http.route``, ``url.path``,
  ``http.response.status_code``, ``mlplatform.model.name``, and once answered
  ``mlplatform.model.version``, ``mlplatform.model.run_id``, ``mlplatform.model.variant``,
  ``mlplatform.request.rows``;
- batch and predict: the model's name, version, run id and variant, ``mlplatform.batch.size``
  (requests) and ``mlplatform.batch.rows``.

With tracing off nothing here runs: callers test ``tracer is None`` first.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from mlplatform.telemetry import Tracing, configure_tracing

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from mlplatform.serving.loader import LoadedModel

__all__ = [
    "ACCESS_LOG",
    "BatchTrace",
    "annotate_request",
    "end_request",
    "model_attributes",
    "server_tracing",
    "start_request",
]

ACCESS_LOG = "mlplatform.serving.access"


def server_tracing(name: str) -> Tracing:
    """A model server's tracing from the OpenTelemetry environment (``mlplatform.telemetry``;
    service name: the model's), for ``mlp serve`` and the container alike. With tracing on, the
    access log (one line per inference request, with its trace and span ids) is on too, to
    stderr when nothing else handles it."""
    found = configure_tracing(name, scope="mlplatform.serving")
    if found.enabled:
        access = logging.getLogger(ACCESS_LOG)
        access.setLevel(logging.INFO)
        if not access.hasHandlers():
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            access.addHandler(handler)
    return found


def model_attributes(name: str, variant: str, model: LoadedModel) -> dict[str, Any]:
    """The served version's identity, as span attributes."""
    attributes = {
        "mlplatform.model.name": name,
        "mlplatform.model.version": model.version,
        "mlplatform.model.variant": variant,
    }
    if model.run_id:
        attributes["mlplatform.model.run_id"] = model.run_id
    return attributes


def start_request(
    tracer: Tracer, method: str, path: str, route: str | None, model: str, parent: Context | None
) -> Span:
    """The span of one inference request (the caller's trace continued from ``parent``)."""
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": path,
        "mlplatform.model.name": model,
    }
    if route:
        attributes["http.route"] = route
    name = f"{method} {route}" if route else method
    return tracer.start_span(name, parent, kind=SpanKind.SERVER, attributes=attributes)


def annotate_request(model: LoadedModel, variant: str, rows: int) -> None:
    """Who answered the current request span: version, run id, variant, rows."""
    span = trace.get_current_span()
    span.set_attributes(model_attributes(model.name, variant, model))
    span.set_attribute("mlplatform.request.rows", rows)


def end_request(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:  # a server span's error is a 5xx; a 4xx is the caller's
        span.set_status(Status(StatusCode.ERROR))
    span.end()


class BatchTrace:
    """The ``batch`` span of one batch and its ``predict`` child (see the module docstring)."""

    def __init__(
        self,
        tracer: Tracer,
        variant: str,
        model: LoadedModel,
        requests: Sequence[Span | None],
        rows: int,
    ) -> None:
        self._tracer = tracer
        traced = [s for s in requests if s is not None and s.get_span_context().is_valid]
        self.attributes = {
            **model_attributes(model.name, variant, model),
            "mlplatform.batch.size": len(requests),
            "mlplatform.batch.rows": rows,
        }
        parent = trace.set_span_in_context(traced[0]) if traced else None
        links = [Link(s.get_span_context()) for s in traced[1:]]
        self.span = tracer.start_span("batch", parent, links=links, attributes=self.attributes)
        back = self.span.get_span_context()
        for request in traced[1:]:
            request.add_link(back)

    @contextlib.contextmanager
    def predict(self) -> Iterator[None]:
        """The ``predict`` span around the model call; an exception marks it failed."""
        context = trace.set_span_in_context(self.span)
        span = self._tracer.start_span("predict", context, attributes=self.attributes)
        try:
            yield
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            span.end()

    def end(self) -> None:
        self.span.end()
