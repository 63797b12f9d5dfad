"""Tracing from the standard OpenTelemetry environment: opt-in, errors that say what to set,
the resource from the environment, and a provider of its own (MLflow's is left alone)."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace

import mlplatform.telemetry as telemetry
from mlplatform.errors import ConfigError
from mlplatform.telemetry import (
    TRACES_FILE_ENV,
    configure_tracing,
    context_from_environ,
    ids_of,
    pod_env,
    resource_attributes,
    traceparent_of,
)


def test_the_public_api():
    assert telemetry.__all__ == [
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


def test_tracing_is_off_unless_asked_for():
    tracing = configure_tracing("svc")
    assert not tracing.enabled
    assert tracing.tracer is None
    assert tracing.flush()
    tracing.shutdown()  # harmless when off


@pytest.mark.parametrize(
    ("variables", "on"),
    [
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", TRACES_FILE_ENV: "FILE"}, True),
        ({"OTEL_SDK_DISABLED": "true", TRACES_FILE_ENV: "FILE"}, False),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_which_variables_turn_tracing_on(untraced, tmp_path, variables, on):
    for name, value in variables.items():
        untraced.setenv(name, value.replace("FILE", str(tmp_path / "t.jsonl")))
    tracing = configure_tracing("svc")
    try:
        assert tracing.enabled is on
    finally:
        tracing.shutdown()


def test_an_unknown_exporter_says_which_ones_exist(untraced):
    untraced.setenv("OTEL_TRACES_EXPORTER", "otlp,zipkin")
    with pytest.raises(ConfigError, match="zipkin") as caught:
        configure_tracing("svc")
    assert "otlp, console or none" in caught.value.hint
    untraced.setenv("OTEL_TRACES_EXPORTER", "none")  # the hint, followed
    assert not configure_tracing("svc").enabled


def test_otlp_over_grpc_is_refused_with_the_http_port(untraced):
    untraced.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    untraced.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigError, match="'grpc' is not supported") as caught:
        configure_tracing("svc")
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in caught.value.hint
    untraced.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    tracing = configure_tracing("svc")
    assert tracing.enabled
    tracing.shutdown()


def test_the_resource_comes_from_the_environment(untraced, tmp_path):
    # GIVEN identity with characters the variable's syntax uses (percent-encoded)
    identity = {"mlplatform.model.name": "churn, v=2", "k8s.namespace.name": "kserve"}
    untraced.setenv("OTEL_RESOURCE_ATTRIBUTES", resource_attributes(identity))
    untraced.setenv(TRACES_FILE_ENV, str(tmp_path / "t.jsonl"))
    tracing = configure_tracing("default-name")
    assert tracing.provider is not None
    attributes = tracing.provider.resource.attributes
    assert attributes["mlplatform.model.name"] == "churn, v=2"
    assert attributes["k8s.namespace.name"] == "kserve"
    assert attributes["service.name"] == "default-name"
    tracing.shutdown()
    untraced.setenv("OTEL_SERVICE_NAME", "from-env")  # OTEL_SERVICE_NAME wins
    tracing = configure_tracing("default-name")
    assert tracing.provider is not None
    assert tracing.provider.resource.attributes["service.name"] == "from-env"
    tracing.shutdown()


def test_the_provider_is_not_installed_globally(untraced, tmp_path):
    untraced.setenv(TRACES_FILE_ENV, str(tmp_path / "t.jsonl"))
    before = trace.get_tracer_provider()
    tracing = configure_tracing("svc")
    assert trace.get_tracer_provider() is before
    assert trace.get_tracer_provider() is not tracing.provider
    tracing.shutdown()


def test_spans_go_to_the_file_one_parseable_line_each(untraced, tmp_path):
    # GIVEN spans to a file in a folder that does not exist yet
    path = tmp_path / "traces" / "svc.jsonl"
    untraced.setenv(TRACES_FILE_ENV, str(path))
    tracing = configure_tracing("svc", scope="tests")
    assert tracing.tracer is not None
    # WHEN a parent and a child span end and the process flushes
    with tracing.tracer.start_as_current_span("parent", attributes={"n": 1}) as parent:
        with tracing.tracer.start_as_current_span("child", attributes={"tags": ["a", "b"]}):
            pass
        parent.add_event("done", {"rows": 3})
    assert tracing.flush()
    tracing.shutdown()
    # THEN each span is one JSON line, ids in hex, parent linked
    child, top = (json.loads(line) for line in path.read_text().splitlines())
    trace_id, span_id = ids_of(parent)
    assert (top["trace_id"], top["span_id"], top["parent_span_id"]) == (trace_id, span_id, None)
    assert child["parent_span_id"] == span_id
    assert child["trace_id"] == trace_id
    assert child["attributes"] == {"tags": ["a", "b"]}
    assert top["events"][0]["name"] == "done"
    assert top["events"][0]["attributes"] == {"rows": 3}
    assert top["end_time_unix_nano"] >= top["start_time_unix_nano"]
    assert top["resource"]["service.name"] == "svc"
    assert top["scope"] == "tests"
    assert (path.stat().st_mode & 0o777) == 0o600


def test_a_traceparent_round_trips_through_the_environment(untraced, tmp_path):
    untraced.setenv(TRACES_FILE_ENV, str(tmp_path / "t.jsonl"))
    tracing = configure_tracing("svc")
    assert tracing.tracer is not None
    with tracing.tracer.start_as_current_span("caller") as caller:
        header = traceparent_of(caller)
    parent = context_from_environ({"TRACEPARENT": header})
    with tracing.tracer.start_as_current_span("callee", parent) as callee:
        pass
    assert ids_of(callee)[0] == ids_of(caller)[0]
    assert callee.parent is not None
    assert callee.parent.span_id == caller.get_span_context().span_id
    assert context_from_environ({}) is None
    assert context_from_environ({"TRACEPARENT": "garbage"}) is None
    tracing.shutdown()


def test_pod_env_points_at_the_cluster_collector():
    env = dict(pod_env("churn", {"mlplatform.model.version": "3", "mlplatform.model.alias": ""}))
    assert env == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://opentelemetry-collector.monitoring.svc:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": "churn",
        "OTEL_RESOURCE_ATTRIBUTES": "mlplatform.model.version=3",  # empty values left out
    }
