"""The local executor: caching, forcing, parallel branches, retries, timeouts and failures."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from mlplatform.artifacts import materializers
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import PipelineDefinitionError, StepFailedError
from mlplatform.pipelines.local import (
    LocalExecutor,
    PipelineRunResult,
    ProgressEvent,
    RunOptions,
)

from . import flows


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "store")


def run_inproc(store: ArtifactStore, pipeline, params=None, **options) -> PipelineRunResult:
    return LocalExecutor(store, RunOptions(in_process=True, **options)).run(pipeline.graph, params)


def value(store: ArtifactStore, result: PipelineRunResult, node: str, name: str = "output"):
    ref = result.output(node, name)
    scratch = Path(store.root.removeprefix("file://"))  # unused by a local store
    return materializers.by_name(ref.type).read(store.fetch(ref, scratch))


def statuses(result: PipelineRunResult) -> dict[str, str]:
    return {n: o.status for n, o in result.steps.items()}


# ---- caching -------------------------------------------------------------------------------


def test_second_run_is_all_cached_with_the_same_outputs(store):
    # GIVEN a pipeline that ran once
    first = run_inproc(store, flows.squares, {"n": 5})
    assert statuses(first) == {"source": "ran", "square": "ran", "total": "ran"}
    assert value(store, first, "total") == 30

    # WHEN it runs again with the same parameters
    events: list[ProgressEvent] = []
    second = run_inproc(store, flows.squares, {"n": 5}, progress=events.append)

    # THEN nothing runs and the outputs are the same artifacts
    assert second.cached == ["source", "square", "total"]
    assert [e.status for e in events] == ["cached"] * 3
    assert {n: o.outputs for n, o in second.steps.items()} == {
        n: o.outputs for n, o in first.steps.items()
    }


def test_a_changed_parameter_reruns_what_depends_on_it(store):
    run_inproc(store, flows.squares, {"n": 5})
    again = run_inproc(store, flows.squares, {"n": 6})
    assert statuses(again) == {"source": "ran", "square": "ran", "total": "ran"}
    assert value(store, again, "total") == 55


def test_force_reruns_the_named_step_only(store):
    # GIVEN a cached pipeline
    run_inproc(store, flows.squares, {"n": 5})

    # WHEN one step is forced
    forced = run_inproc(store, flows.squares, {"n": 5}, force=("square",))

    # THEN it runs; its output is identical, so the step after it stays cached
    assert statuses(forced) == {"source": "cached", "square": "ran", "total": "cached"}


def test_force_of_an_unknown_step_is_rejected_before_running(store):
    with pytest.raises(PipelineDefinitionError, match="--force names unknown step") as info:
        run_inproc(store, flows.squares, force=("sqaure",))
    assert "source, square, total" in info.value.hint
    assert store.list("") == []


# ---- parallel branches ---------------------------------------------------------------------


def nap_intervals(tmp_path: Path, workers: int) -> list[tuple[float, float]]:
    store = ArtifactStore(tmp_path / f"store-{workers}")
    result = run_inproc(store, flows.naps, {"seconds": 0.3}, workers=workers)
    naps = [value(store, result, node) for node in ("nap", "nap-2")]
    return sorted((n["start"], n["end"]) for n in naps)


def test_independent_steps_run_at_the_same_time_with_two_workers(tmp_path):
    # GIVEN two independent sleeping steps WHEN run with two workers
    (_, first_end), (second_start, _) = nap_intervals(tmp_path, workers=2)

    # THEN their run intervals overlap: the second starts before the first ends
    assert second_start < first_end


def test_independent_steps_run_one_after_the_other_with_one_worker(tmp_path):
    (_, first_end), (second_start, _) = nap_intervals(tmp_path, workers=1)
    assert second_start >= first_end


# ---- retries -------------------------------------------------------------------------------


def test_a_flaky_step_succeeds_within_its_retries(store, tmp_path):
    # GIVEN a step that fails twice, then succeeds, with two retries
    counter = tmp_path / "calls"
    events: list[ProgressEvent] = []

    # WHEN it runs
    result = run_inproc(
        store, flows.flaky_flow, {"counter": str(counter), "failures": 2}, progress=events.append
    )

    # THEN it succeeded on the third attempt, after backing off 0.01 s then 0.02 s
    assert result.steps["flaky"].status == "ran"
    assert result.steps["flaky"].attempts == 3
    assert value(store, result, "flaky") == 3
    retrying = [e.message for e in events if e.status == "retrying"]
    assert retrying == [
        "attempt 2/3 in 0.01 s: transient failure 1",
        "attempt 3/3 in 0.02 s: transient failure 2",
    ]


def test_a_step_that_fails_more_often_than_its_retries_fails(store, tmp_path):
    # GIVEN a step that fails twice, with one retry
    counter = tmp_path / "calls"

    # WHEN it runs
    with pytest.raises(StepFailedError) as info:
        run_inproc(store, flows.flaky_once_flow, {"counter": str(counter), "failures": 2})

    # THEN it failed after two attempts with the last error
    outcome = info.value.result.steps["flaky-once"]
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.error == "ConnectionError: transient failure 2"
    assert counter.read_text() == "2"


# ---- failures ------------------------------------------------------------------------------


def test_a_failing_step_skips_its_dependents_and_lets_other_branches_finish(store):
    # GIVEN a pipeline with a failing branch beside an independent one
    # WHEN it runs
    with pytest.raises(StepFailedError) as info:
        run_inproc(store, flows.branches, {"fail": "true"})

    # THEN the error names the step and the exception, and says how to resume
    err = info.value
    assert err.step == "fragile"
    assert err.headline == "step 'fragile' failed: ValueError: bad batch of 4 rows"
    assert "`mlp pipeline run branches`" in err.hint
    assert "the 3 completed step(s) are cached" in err.hint
    assert 'raise ValueError(f"bad batch of {len(xs)} rows")' in err.traceback

    # AND the dependent was skipped while the other branch completed
    result = err.result
    assert result.status == "failed"
    assert statuses(result) == {
        "source": "ran",
        "fragile": "failed",
        "square": "ran",
        "report": "skipped",
        "total": "ran",
    }
    assert value(store, result, "total") == 14


def test_resuming_after_a_failure_runs_only_the_failed_step_and_its_dependents(store):
    # GIVEN a run that failed at one step
    with pytest.raises(StepFailedError):
        run_inproc(store, flows.branches, {"fail": "true"})

    # WHEN the cause is fixed and the pipeline is run again
    resumed = run_inproc(store, flows.branches, {"fail": "false"})

    # THEN the completed steps come from the cache
    assert statuses(resumed) == {
        "source": "cached",
        "fragile": "ran",
        "square": "cached",
        "report": "ran",
        "total": "cached",
    }
    assert value(store, resumed, "report") == {"rows": 4}


def test_the_resume_hint_uses_the_callers_command(store):
    options = {"resume_command": "mlp pipeline run branches -p fail=false"}
    with pytest.raises(StepFailedError) as info:
        run_inproc(store, flows.branches, {"fail": "true"}, **options)
    assert "`mlp pipeline run branches -p fail=false`" in info.value.hint


def test_a_value_of_the_wrong_type_fails_the_step_naming_the_output(store, loaded_modules):
    # GIVEN a step declared to return a DataFrame that returns a dict
    module = """
    import pandas as pd
    from mlplatform import pipeline, step

    @step
    def table() -> pd.DataFrame:
        return {"a": [1]}

    @pipeline(name="wrong-type")
    def wrong_type() -> None:
        table()
    """
    flow = _module_from_source(store, module).wrong_type

    # WHEN it runs THEN the step fails with a MaterializerError naming the output
    with pytest.raises(StepFailedError) as info:
        run_inproc(store, flow)
    assert info.value.headline.startswith(
        "step 'table' failed: MaterializerError: output 'output' of step 'table' is declared"
    )
    assert "the step returned dict" in info.value.headline


# ---- subprocess mode -----------------------------------------------------------------------

SLEEPER = """
import os
import subprocess
import time
from pathlib import Path

from mlplatform import pipeline, step


@step(timeout=2)
def sleeper(pid_file: str) -> int:
    child = subprocess.Popen(["sleep", "60"])
    Path(pid_file).write_text(f"{os.getpid()} {child.pid}")
    time.sleep(60)
    return 0


@pipeline(name="sleepy")
def sleepy(pid_file: str = "") -> None:
    sleeper(pid_file)
"""


def _module_from_source(store: ArtifactStore, source: str) -> ModuleType:
    """A module in a real file that is not on sys.path: the launcher must load it by path."""
    name = f"mod_{uuid.uuid4().hex[:10]}"
    path = Path(store.root.removeprefix("file://")).parent / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def loaded_modules():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("mod_"):
            del sys.modules[name]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting for its parent is dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_step_past_its_timeout_is_killed_with_its_children(store, tmp_path, loaded_modules):
    # GIVEN a step (in its own process) that starts a child and sleeps 60 s, with timeout=2
    # (2 s, not 1: the limit includes the step process's start, slow on a loaded machine)
    flow = _module_from_source(store, SLEEPER).sleepy
    pid_file = tmp_path / "pids"

    # WHEN it runs in subprocess mode
    started = time.monotonic()
    with pytest.raises(StepFailedError) as info:
        LocalExecutor(store, RunOptions(in_process=False)).run(
            flow.graph, {"pid_file": str(pid_file)}
        )

    # THEN it failed with a timeout long before the sleep would end
    assert time.monotonic() - started < 30
    assert info.value.headline == (
        "step 'sleeper' failed: TimeoutError: step timed out after 2 s and was killed"
    )
    # AND the step's process and the child it started are gone
    step_pid, child_pid = map(int, pid_file.read_text().split())
    with pytest.raises(ProcessLookupError):
        os.kill(step_pid, 0)
    deadline = time.monotonic() + 5
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child_pid)
    assert store.list("cache") == []


def test_subprocess_mode_gives_the_same_outputs_as_in_process(tmp_path):
    # GIVEN the same pipeline run in-process and as step subprocesses, in two stores
    inproc = run_inproc(ArtifactStore(tmp_path / "a"), flows.described, {"n": 6})
    sub_store = ArtifactStore(tmp_path / "b")
    sub = LocalExecutor(sub_store, RunOptions(in_process=False)).run(
        flows.described.graph, {"n": 6}
    )

    # THEN every step ran and every output has the same digest and the same cache key
    assert statuses(sub) == dict.fromkeys(statuses(inproc), "ran")
    for node, outcome in sub.steps.items():
        assert outcome.cache_key == inproc.steps[node].cache_key
        assert {k: o["digest"] for k, o in outcome.outputs.items()} == {
            k: o["digest"] for k, o in inproc.steps[node].outputs.items()
        }
    assert sub.steps["describe"].metrics == {"count": 6.0}
    assert value(sub_store, sub, "describe", "stats") == {"max": 25, "min": 0}
