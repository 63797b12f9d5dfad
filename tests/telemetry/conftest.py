"""An environment that asks for no tracing, for each telemetry test to add to."""

from __future__ import annotations

import os

import pytest

TRACING_VARS = ("OTEL_", "MLPLATFORM_TRACES", "TRACEPARENT", "TRACESTATE")


@pytest.fixture(autouse=True)
def untraced(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No tracing variable set; the test sets the ones it is about."""
    for name in list(os.environ):
        if name.startswith(TRACING_VARS):
            monkeypatch.delenv(name)
    return monkeypatch
