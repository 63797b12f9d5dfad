"""The model server's traces: a real request through the real server makes request -> batch ->
predict spans (the SDK's in-memory exporter), a caller's ``traceparent`` is continued, the
request log carries the trace id, and with tracing off there are no spans at all."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from mlplatform.services._process import wait_until
from mlplatform.serving import build_app, start_background
from mlplatform.telemetry import TRACES_FILE_ENV, Tracing, configure_tracing

from ._container import free_port
from .conftest import MODEL, config
from .test_versions import v2_body

CALLER_TRACE = "0af7651916cd43dd8442eb0000000001"
CALLER_SPAN = "b7ad6b7169203331"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
def traced(registry, exporter):
    """The champion of the registry, served with tracing to the in-memory exporter."""
    tracing = Tracing.with_exporter(exporter, MODEL, scope="mlplatform.serving")
    app = build_app(config(MODEL, f"models:/{MODEL}@champion", registry), tracing=tracing)
    with start_background(app) as server:
        yield server
    tracing.shutdown()


def spans_of(exporter: InMemorySpanExporter, trace_id: int) -> dict[str, object]:
    return {s.name: s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id}


def test_a_request_is_traced_request_batch_predict(traced, exporter, churn_data, caplog):
    # GIVEN a traced server and the access log at INFO
    exporter.clear()
    caplog.set_level(logging.INFO, logger="mlplatform.serving.access")
    # WHEN one V2 request is sent
    answer = httpx.post(f"{traced.url}/v2/models/{MODEL}/infer", json=v2_body(churn_data[1][:3]))
    assert answer.status_code == 200, answer.text
    # THEN it answers with its traceparent, and that trace holds request -> batch -> predict
    version, trace_hex, span_hex, flags = answer.headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1
    spans = spans_of(exporter, int(trace_hex, 16))
    request = spans[f"POST /v2/models/{MODEL}/infer"]
    batch, predict = spans["batch"], spans["predict"]
    assert request.kind is SpanKind.SERVER
    assert request.parent is None
    assert format(request.context.span_id, "016x") == span_hex
    assert batch.parent.span_id == request.context.span_id
    assert predict.parent.span_id == batch.context.span_id
    # with who answered: the model, its version, the run that made it, the variant
    for span in (request, batch, predict):
        assert span.attributes["mlplatform.model.name"] == MODEL
        assert span.attributes["mlplatform.model.version"] == "1"
        assert span.attributes["mlplatform.model.variant"] == "primary"
        assert re.fullmatch(r"[0-9a-f]{32}", span.attributes["mlplatform.model.run_id"])
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["mlplatform.request.rows"] == 3
    assert batch.attributes["mlplatform.batch.rows"] >= 3
    assert request.resource.attributes["service.name"] == MODEL
    # AND the request's log line names its trace and span
    lines = [r.getMessage() for r in caplog.records if r.name == "mlplatform.serving.access"]
    assert f"POST /v2/models/{MODEL}/infer 200" in lines[-1]
    assert f"trace_id={trace_hex} span_id={span_hex}" in lines[-1]


def test_a_callers_traceparent_is_continued(traced, exporter, churn_data):
    exporter.clear()
    # WHEN the caller sends its trace context (V1 this time)
    rows = churn_data[1][:2].to_dict(orient="records")
    answer = httpx.post(
        f"{traced.url}/v1/models/{MODEL}:predict",
        json={"instances": rows},
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    assert answer.status_code == 200, answer.text
    # THEN the request span is a child of the caller's span, in the caller's trace
    spans = spans_of(exporter, int(CALLER_TRACE, 16))
    request = spans[f"POST /v1/models/{MODEL}:predict"]
    assert request.parent.span_id == int(CALLER_SPAN, 16)
    assert request.parent.is_remote
    assert {"batch", "predict"} <= set(spans)
    assert answer.headers["traceparent"].split("-")[1] == CALLER_TRACE


def test_an_error_answer_is_traced_with_its_status(traced, exporter):
    exporter.clear()
    answer = httpx.post(f"{traced.url}/v2/models/{MODEL}/infer", content=b"{not json")
    assert answer.status_code == 400
    trace_id = int(answer.headers["traceparent"].split("-")[1], 16)
    (request,) = spans_of(exporter, trace_id).values()  # no batch: refused before it
    assert request.attributes["http.response.status_code"] == 400
    assert request.status.status_code is StatusCode.UNSET  # a 4xx is the caller's error


def test_a_batch_links_every_request_it_served(traced, exporter, churn_data):
    exporter.clear()
    body = v2_body(churn_data[1][:2])

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=traced.url) as client:
            url = f"/v2/models/{MODEL}/infer"
            return await asyncio.gather(*(client.post(url, json=body) for _ in range(16)))

    # WHEN 16 requests come at once (however the batcher groups them)
    answers = asyncio.run(burst())
    assert {a.status_code for a in answers} == {200}
    spans = exporter.get_finished_spans()
    requests = {s.context.span_id: s for s in spans if s.kind is SpanKind.SERVER}
    batches = [s for s in spans if s.name == "batch"]
    # THEN every request is served by exactly one batch: its parent (the first) or linked
    served: list[int] = []
    for batch in batches:
        linked = [link.context.span_id for link in batch.links]
        served += [batch.parent.span_id, *linked]
        assert batch.attributes["mlplatform.batch.size"] == 1 + len(linked)
        for span_id in linked:  # and each linked request links back to its batch
            back = [link.context.span_id for link in requests[span_id].links]
            assert back == [batch.context.span_id]
    assert sorted(served) == sorted(requests)


def test_with_tracing_off_there_are_no_spans_and_no_header(iris_dir, monkeypatch, tmp_path, caplog):
    # GIVEN an environment that asks for no tracing
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "MLPLATFORM_TRACES_FILE"):
        monkeypatch.delenv(name, raising=False)
    tracing = configure_tracing("iris")
    assert not tracing.enabled
    path, _, x = iris_dir
    with start_background(build_app(config("iris", str(path)), tracing=tracing)) as server:
        answer = httpx.post(
            f"{server.url}/v1/models/iris:predict", json={"instances": x[:2].tolist()}
        )
    # THEN the request is answered without a trace context, and nothing was logged per request
    assert answer.status_code == 200
    assert "traceparent" not in answer.headers
    assert server.app.service.tracer is None
    assert not [r for r in caplog.records if r.name == "mlplatform.serving.access"]
    assert list(tmp_path.iterdir()) == []


def test_mlp_serve_traces_to_the_file_and_logs_each_request(iris_dir, tmp_path):
    """`mlp serve` (one machine) takes its tracing from the same environment as the container:
    the request's spans land in MLPLATFORM_TRACES_FILE, its access line on stderr."""
    # GIVEN `mlp serve` of a model folder with a traces file, and no other tracing asked for
    traces = tmp_path / "serve.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLPLATFORM_"))}
    env[TRACES_FILE_ENV] = str(traces)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlplatform", "serve", str(iris_dir[0]), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url, "model"), 120, 0.3)
        # WHEN one V1 request is served and the server is stopped
        answer = httpx.post(f"{url}/v1/models/model:predict", json={"instances": [[1, 2, 3, 4]]})
        assert answer.status_code == 200, answer.text
        trace_hex = answer.headers["traceparent"].split("-")[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    # THEN the request, its batch and the prediction are in the file, in the answer's trace
    spans = [json.loads(line) for line in traces.read_text().splitlines()]
    names = {s["name"] for s in spans if s["trace_id"] == trace_hex}
    assert names == {"POST /v1/models/model:predict", "batch", "predict"}
    # AND the access line names the request with the same trace id
    assert re.search(rf"POST /v1/models/model:predict 200 .* trace_id={trace_hex} ", stderr)


def _ready(url: str, model: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/models/{model}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
