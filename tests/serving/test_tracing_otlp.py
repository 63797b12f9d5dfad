"""The model server configured from the standard variables exports request -> batch ->
predict over OTLP/HTTP: what the cluster's collector would receive, decoded."""

from __future__ import annotations

import httpx

from _otlp import otlp_receiver
from mlplatform.serving import build_app, start_background
from mlplatform.telemetry import configure_tracing, resource_attributes

from .conftest import config


def test_the_server_exports_its_spans_over_otlp(iris_dir, monkeypatch):
    path, _, x = iris_dir
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "MLPLATFORM_TRACES_FILE"):
        monkeypatch.delenv(name, raising=False)
    with otlp_receiver() as received:
        # GIVEN the variables a rendered InferenceService sets, pointing at a collector here
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", received.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "iris")
        identity = {"mlplatform.model.name": "iris", "k8s.namespace.name": "kserve"}
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", resource_attributes(identity))
        tracing = configure_tracing("ignored", scope="mlplatform.serving")
        # WHEN one request is served and the exporter flushes
        with start_background(build_app(config("iris", str(path)), tracing=tracing)) as server:
            answer = httpx.post(
                f"{server.url}/v2/models/iris/infer",
                json={"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64",
                                  "data": x[:2].ravel().tolist()}]},
            )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert tracing.flush()
        tracing.shutdown()
    # THEN the collector got the three spans, parented, with the model's identity
    spans = received.spans()
    request, attributes, resource = spans["POST /v2/models/iris/infer"]
    batch, predict = spans["batch"][0], spans["predict"][0]
    assert request.trace_id.hex() == answer.headers["traceparent"].split("-")[1]
    assert batch.parent_span_id == request.span_id
    assert predict.parent_span_id == batch.span_id
    assert attributes["http.response.status_code"] == 200
    assert attributes["mlplatform.model.version"] == spans["predict"][1]["mlplatform.model.version"]
    assert resource["service.name"] == "iris"
    assert resource["k8s.namespace.name"] == "kserve"
