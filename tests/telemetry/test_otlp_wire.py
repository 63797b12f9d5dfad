"""The bytes a collector gets: spans exported over OTLP/HTTP (protobuf) by this process and
by a real launcher process, received on loopback and decoded with the OTLP protobufs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from _otlp import otlp_receiver
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.telemetry import configure_tracing, ids_of, resource_attributes
from pipelines.test_launcher import spec_for, stored_array

REPO = Path(__file__).resolve().parents[2]


def test_spans_are_posted_to_v1_traces_as_otlp_protobuf(untraced):
    with otlp_receiver() as received:
        # GIVEN the standard variables pointing at a collector
        untraced.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", received.url)
        untraced.setenv("OTEL_RESOURCE_ATTRIBUTES", resource_attributes({"team": "ml"}))
        tracing = configure_tracing("wire-test", scope="tests.wire")
        assert tracing.tracer is not None
        # WHEN a span ends and the process flushes
        with tracing.tracer.start_as_current_span("work", attributes={"rows": 3}) as span:
            pass
        assert tracing.flush()
        tracing.shutdown()
    # THEN the collector got it at /v1/traces with its attributes and the resource
    assert set(received.paths) == {"/v1/traces"}
    sent, attributes, resource = received.spans()["work"]
    assert sent.trace_id.hex() == ids_of(span)[0]
    assert attributes == {"rows": 3}
    assert resource["service.name"] == "wire-test"
    assert resource["team"] == "ml"
    scope = received.requests[0].resource_spans[0].scope_spans[0].scope
    assert scope.name == "tests.wire"


def test_a_launcher_process_exports_its_step_before_it_exits(tmp_path, untraced):
    # GIVEN a step, and a launcher process configured as a pod is (OTEL_* variables)
    store = ArtifactStore(tmp_path / "store")
    arr = stored_array(store, tmp_path, np.array([4, 5]))
    spec = spec_for(store, "total", {"arr": arr}, {}, "w" * 64)
    spec_path, result_path = tmp_path / "spec.json", tmp_path / "result.json"
    spec_path.write_text(spec.to_json())
    with otlp_receiver() as received:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": received.url,
            "OTEL_RESOURCE_ATTRIBUTES": "mlplatform.pipeline.name=p,mlplatform.step.name=total",
        }
        argv = [sys.executable, "-m", "mlplatform.pipelines.launcher"]
        argv += ["--spec", str(spec_path), "--result", str(result_path)]
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    # THEN by the time it exited the collector had the step and its children
    assert done.returncode == 0, done.stderr
    spans = received.spans()
    assert set(spans) == {"step total", "fetch inputs", "run", "store outputs"}
    step, attributes, resource = spans["step total"]
    assert attributes["mlplatform.step.name"] == "total"
    assert attributes["mlplatform.step.cache_key"] == "w" * 64
    assert resource["service.name"] == "mlplatform-step"
    assert resource["mlplatform.pipeline.name"] == "p"
    for child in ("fetch inputs", "run", "store outputs"):
        assert spans[child][0].parent_span_id == step.span_id
