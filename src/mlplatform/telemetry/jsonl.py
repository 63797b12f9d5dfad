"""Spans as JSON lines in a local file: the trace viewer of one machine is ``grep`` and ``jq``.

One span per line, field names after OTLP's (snake case), ids in the lowercase hex that W3C
``traceparent`` headers, Tempo and the server's request log use::

    {"trace_id": "4bf9...", "span_id": "00f0...", "parent_span_id": null, "name": "step train",
     "kind": "INTERNAL", "start_time_unix_nano": 1700000000000000000, "end_time_unix_nano": ...,
     "status": {"code": "OK", "message": null}, "attributes": {...}, "events": [...],
     "links": [...], "resource": {"service.name": "mlplatform-step", ...},
     "scope": "mlplatform.pipelines"}

Appends only: each export is one ``write`` to a file opened with ``O_APPEND``, so the step
processes of a parallel pipeline run can share one file without interleaving lines. The file
is a log, not a document others replace, so it is appended to rather than written through
``atomicfile``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["JsonLinesSpanExporter", "span_record"]

log = logging.getLogger(__name__)


class JsonLinesSpanExporter(SpanExporter):
    """Appends each exported span to ``path`` as one JSON line (folders made as needed)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = "".join(json.dumps(span_record(s), default=str) + "\n" for s in spans).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("cannot write spans to %s: %s", self.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """The JSON line of one finished span."""
    context = span.get_span_context()
    status = span.status
    return {
        "trace_id": _hex(context.trace_id if context else 0, 32),
        "span_id": _hex(context.span_id if context else 0, 16),
        "parent_span_id": _hex(span.parent.span_id, 16) if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "status": {"code": status.status_code.name, "message": status.description},
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": e.name, "time_unix_nano": e.timestamp, "attributes": dict(e.attributes or {})}
            for e in span.events
        ],
        "links": [
            {
                "trace_id": _hex(link.context.trace_id, 32),
                "span_id": _hex(link.context.span_id, 16),
                "attributes": dict(link.attributes or {}),
            }
            for link in span.links
        ],
        "resource": dict(span.resource.attributes),
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
    }


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")
