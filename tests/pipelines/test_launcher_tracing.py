"""The launcher's traces: a real launcher process running a tiny step writes step -> fetch
inputs -> run -> store outputs to the traces file, continues a ``TRACEPARENT`` it is given,
marks a failed step and a cache hit, and writes nothing when tracing is off."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines import launcher
from mlplatform.telemetry import Tracing

from ._helpers import environ_without, run_process
from .test_launcher import spec_for, stored_array

REPO = Path(__file__).resolve().parents[2]
PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACK_RUN = "0123456789abcdef0123456789abcdef"


def run_launcher(tmp_path: Path, spec, **env: str):
    """The launcher as the local executor starts it, in its own process, with ``env`` added
    to an environment that asks for no tracing."""
    spec_path, result_path = tmp_path / "spec.json", tmp_path / "result.json"
    spec_path.write_text(spec.to_json())
    argv = [sys.executable, "-m", "mlplatform.pipelines.launcher"]
    argv += ["--spec", str(spec_path), "--result", str(result_path)]
    environ = {**environ_without("OTEL_", "MLPLATFORM_TRACES", "TRACEPARENT"), **env}
    done = run_process(argv, REPO, environ, timeout=120)
    return done, json.loads(result_path.read_text())


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def a_step(tmp_path: Path, **changes):
    store = ArtifactStore(tmp_path / "store")
    arr = stored_array(store, tmp_path, np.array([1, 2, 3]))
    spec = spec_for(store, "total", {"arr": arr}, {}, "t" * 64)
    return store, replace(spec, tracking_run_id=TRACK_RUN, **changes)


def test_a_step_is_one_trace_of_four_spans_in_the_traces_file(tmp_path):
    # GIVEN a step and a traces file for this machine
    _, spec = a_step(tmp_path)
    traces = tmp_path / "traces" / "steps.jsonl"
    # WHEN the launcher runs it
    done, result = run_launcher(tmp_path, spec, MLPLATFORM_TRACES_FILE=str(traces))
    assert done.returncode == 0, done.stderr
    assert result["status"] == "ok"
    # THEN the file holds the step and its three children, one parseable line each
    spans = {s["name"]: s for s in read_lines(traces)}
    assert set(spans) == {"step total", "fetch inputs", "run", "store outputs"}
    step = spans["step total"]
    assert step["parent_span_id"] is None
    for child in ("fetch inputs", "run", "store outputs"):
        assert spans[child]["trace_id"] == step["trace_id"]
        assert spans[child]["parent_span_id"] == step["span_id"]
    order = [spans[n]["start_time_unix_nano"] for n in ("fetch inputs", "run", "store outputs")]
    assert order == sorted(order)
    assert step["attributes"] == {
        "mlplatform.pipeline.name": "p",
        "mlplatform.pipeline.run_id": "run-1",
        "mlplatform.step.name": "total",
        "mlplatform.step.cache_key": "t" * 64,
        "mlplatform.mlflow.run_id": TRACK_RUN,
        "mlplatform.step.status": "ok",
        "mlplatform.step.cache_hit": False,
    }
    assert spans["fetch inputs"]["attributes"] == {"mlplatform.step.inputs": 1}
    assert step["status"]["code"] == "UNSET"
    assert step["resource"]["service.name"] == "mlplatform-step"
    assert step["scope"] == "mlplatform.pipelines"


def test_a_traceparent_in_the_environment_is_continued(tmp_path):
    _, spec = a_step(tmp_path)
    traces = tmp_path / "t.jsonl"
    # WHEN the launcher is started inside a caller's trace (TRACEPARENT)
    done, _ = run_launcher(
        tmp_path,
        spec,
        MLPLATFORM_TRACES_FILE=str(traces),
        TRACEPARENT=f"00-{PARENT_TRACE}-{PARENT_SPAN}-01",
        OTEL_SERVICE_NAME="nightly-training",
    )
    assert done.returncode == 0, done.stderr
    # THEN every span is in the caller's trace and the step is the caller's span's child
    spans = {s["name"]: s for s in read_lines(traces)}
    assert {s["trace_id"] for s in spans.values()} == {PARENT_TRACE}
    assert spans["step total"]["parent_span_id"] == PARENT_SPAN
    assert spans["step total"]["resource"]["service.name"] == "nightly-training"


def test_a_failed_step_is_marked_failed(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    spec = spec_for(store, "fragile", {}, {"xs": [1, 2], "fail": True}, "f" * 64)
    traces = tmp_path / "t.jsonl"
    done, result = run_launcher(tmp_path, spec, MLPLATFORM_TRACES_FILE=str(traces))
    assert done.returncode == 1
    assert result["status"] == "error"
    spans = {s["name"]: s for s in read_lines(traces)}
    assert spans["step fragile"]["status"]["code"] == "ERROR"
    assert "ValueError: bad batch of 2 rows" in spans["step fragile"]["status"]["message"]
    assert spans["run"]["status"]["code"] == "ERROR"
    assert [e["name"] for e in spans["run"]["events"]] == ["exception"]
    assert "store outputs" not in spans


def test_a_cache_hit_is_one_span_marked_as_a_hit(tmp_path):
    # GIVEN a step already run once (its cache entry written)
    _, spec = a_step(tmp_path, check_cache=True)
    assert launcher.execute(spec).status == "ok"
    exporter = InMemorySpanExporter()
    tracing = Tracing.with_exporter(exporter, "mlplatform-step")
    # WHEN it runs again, traced
    result = launcher.execute(spec, tracer=tracing.tracer)
    # THEN one span says it was a hit, with no children
    assert result.status == "cached"
    (span,) = exporter.get_finished_spans()
    assert span.name == "step total"
    assert span.attributes["mlplatform.step.cache_hit"] is True
    assert span.attributes["mlplatform.step.status"] == "cached"
    assert span.status.status_code is StatusCode.UNSET


def test_with_tracing_off_no_spans_and_no_file(tmp_path):
    _, spec = a_step(tmp_path)
    before = set(tmp_path.rglob("*"))
    done, result = run_launcher(tmp_path, spec)
    assert done.returncode == 0, done.stderr
    assert result["status"] == "ok"
    created = {p for p in set(tmp_path.rglob("*")) - before if "store" not in p.parts}
    assert created == {tmp_path / "spec.json", tmp_path / "result.json"}
    assert not list(tmp_path.rglob("*.jsonl"))


def test_a_traced_pipeline_run_is_one_trace_with_each_step_under_the_run(tmp_path, monkeypatch):
    # GIVEN a traces file, and the squares pipeline run by the local executor (step processes)
    from mlplatform.pipelines.local import LocalExecutor, RunOptions

    from . import flows

    for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "TRACEPARENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    traces = tmp_path / "run.jsonl"
    monkeypatch.setenv("MLPLATFORM_TRACES_FILE", str(traces))
    store = ArtifactStore(tmp_path / "store")
    result = LocalExecutor(store, RunOptions(in_process=False)).run(flows.squares.graph, {"n": 3})
    # THEN one trace: the run's span, each step's span its child, the steps' children below
    spans = read_lines(traces)
    (run,) = [s for s in spans if s["name"] == "pipeline squares"]
    assert run["parent_span_id"] is None
    assert run["attributes"]["mlplatform.pipeline.run_id"] == result.run_id
    assert run["attributes"]["mlplatform.pipeline.status"] == "succeeded"
    assert run["resource"]["service.name"] == "mlplatform-pipeline"
    assert {s["trace_id"] for s in spans} == {run["trace_id"]}
    steps = [s for s in spans if s["name"].startswith("step ")]
    assert sorted(s["name"] for s in steps) == sorted(f"step {n}" for n in result.steps)
    assert all(s["parent_span_id"] == run["span_id"] for s in steps)
