"""A span when there is a tracer, nothing when there is none."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

__all__ = ["optional_span"]


@contextlib.contextmanager
def optional_span(
    tracer: Tracer | None,
    name: str,
    attributes: Mapping[str, Any] | None = None,
    context: Context | None = None,
) -> Iterator[Span | None]:
    """``name`` as the current span for the block (an exception escaping it marks it failed
    and is recorded), child of ``context`` or of the current span; None without a tracer."""
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, context, attributes=attributes) as span:
        yield span
