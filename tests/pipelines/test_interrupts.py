"""Ctrl-C and SIGTERM on a pipeline run: steps stopped, runs KILLED, nothing partial, resumable.

The CLI tests send a real signal to a real `mlp pipeline run` process whose middle step (a
subprocess, with a child of its own) waits on a gate file; the in-process test has the step
send SIGINT to its own process, as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform import pipeline, step
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.atomicfile import is_temporary
from mlplatform.pipelines.local import LocalExecutor, PipelineInterrupted, RunOptions
from mlplatform.tracking import MlflowObserver

FLOW = """
import os
import signal
import subprocess
import time
from pathlib import Path

from mlplatform import pipeline, step


@step
def first(n: int) -> int:
    return n + 1


@step
def slow(x: int, folder: str) -> int:
    here = Path(folder)
    if not (here / "gate").exists():
        if (here / "ignore-term").exists():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "300"])  # in the step's process group
        (here / "pids.partial").write_text(f"{os.getpid()} {child.pid}")
        (here / "pids.partial").rename(here / "pids")
        while not (here / "gate").exists():
            time.sleep(0.05)
    return x * 2


@step
def last(y: int) -> int:
    return y + 1


@pipeline(name="interruptible")
def interruptible(n: int = 1, folder: str = ".") -> None:
    last(slow(first(n), folder))
"""


def wait_for(check: Callable[[], Any], what: str, limit: float = 120) -> Any:
    """Poll ``check`` until it returns something truthy (the limit only guards a hang)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for its reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def recorded_pids(folder: Path) -> tuple[int, int] | None:
    path = folder / "pids"
    if not path.exists():
        return None
    step_pid, child_pid = map(int, path.read_text().split())
    return step_pid, child_pid


def runs_of(uri: str, run_id: str) -> dict[str, Any]:
    """The MLflow runs of one pipeline run by name: ``parent`` and one per step."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mlplatform")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], f"tags.`mlplatform.run_id` = '{run_id}'")
    return {
        ("parent" if "mlflow.parentRunId" not in r.data.tags else r.info.run_name): r for r in found
    }


def cache_files(store_root: Path, key: str) -> list[Path]:
    return [p for p in (store_root / "cache").rglob("*") if key in p.name]


def mlp_run(project: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlplatform",
        "pipeline",
        "run",
        "interruptible",
        "--file",
        str(project / "flow.py"),
        "-p",
        f"folder={project}",
        "--format",
        "json",
        *extra,
    ]


def _sigint_default() -> None:  # a test runner in the background may have SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    (tmp_path / "flow.py").write_text(FLOW)
    return tmp_path


@pytest.mark.parametrize(
    ("sig", "ignores_term"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["ctrl-c", "sigterm", "sigterm-ignored-then-sigkill"],
)
def test_a_signalled_cli_run_stops_its_steps_records_them_and_resumes(
    project: Path, sig: signal.Signals, ignores_term: bool
) -> None:
    if ignores_term:
        (project / "ignore-term").touch()
    # GIVEN `mlp pipeline run` (embedded profile) with its middle step running
    proc = subprocess.Popen(
        mlp_run(project, "--stop-grace", "1"),
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    try:
        step_pid, child_pid = wait_for(lambda: recorded_pids(project), "the slow step to start")
        # WHEN the CLI process gets the signal
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    # THEN it exits 130 and says what was interrupted and how to resume
    assert proc.returncode == 130, err
    assert f"interrupted by {sig.name}" in err
    assert "stopped: slow" in err
    assert "not started: last" in err
    assert "Resume with `mlp pipeline run interruptible --file" in err
    result = json.loads(out)
    assert result["status"] == "interrupted"
    assert {n: s["status"] for n, s in result["steps"].items()} == {
        "first": "ran",
        "slow": "interrupted",
    }
    # AND the step's whole process group is gone: the step and its child (no orphans)
    assert wait_for(lambda: gone(step_pid) and gone(child_pid), "the step's processes to exit")
    # AND MLflow has the parent run and the step's run KILLED, the finished step FINISHED
    uri = f"sqlite:///{project / '.mlplatform' / 'mlflow.db'}"
    runs = runs_of(uri, result["run_id"])
    assert runs["parent"].info.status == "KILLED"
    assert runs["parent"].data.tags["mlplatform.status"] == "interrupted"
    assert runs["slow"].info.status == "KILLED"
    assert runs["first"].info.status == "FINISHED"
    # AND nothing of the interrupted step is in the store: no cache entry, no partial object
    store_root = project / ".mlplatform" / "artifacts"
    assert cache_files(store_root, result["steps"]["slow"]["cache_key"]) == []
    assert cache_files(store_root, result["steps"]["first"]["cache_key"])
    assert not [p for p in store_root.rglob("*") if is_temporary(p)]

    # WHEN the same command runs again, the gate open
    (project / "gate").touch()
    again = subprocess.run(
        mlp_run(project), cwd=project, capture_output=True, text=True, timeout=300, check=False
    )
    # THEN it resumes: the completed step is cached, the rest runs, the run completes
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert {n: s["status"] for n, s in resumed["steps"].items()} == {
        "first": "cached",
        "slow": "ran",
        "last": "ran",
    }
    assert runs_of(uri, resumed["run_id"])["parent"].info.status == "FINISHED"


# ---- in-process -------------------------------------------------------------------------------


@step
def start(n: int) -> int:
    return n + 1


@step
def hold(x: int, folder: str) -> int:
    gate = Path(folder) / "gate"
    if not gate.exists():
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in the terminal does
        while not gate.exists():
            time.sleep(0.01)
    return x * 2


@step
def finish(y: int) -> int:
    return y + 1


@pipeline(name="interruptible-in-process")
def in_process_flow(n: int = 1, folder: str = ".") -> None:
    finish(hold(start(n), folder))


def test_ctrl_c_in_process_raises_keyboard_interrupt_after_marking_the_run_killed(
    tmp_path: Path,
) -> None:
    # GIVEN an in-process run whose middle step gets Ctrl-C while it runs
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = ArtifactStore(tmp_path / "store")
    options = RunOptions(
        in_process=True,
        stop_grace_s=5,
        observer=MlflowObserver(tracking_uri, "mlplatform"),
    )
    params = {"folder": str(tmp_path)}
    # WHEN it runs
    with pytest.raises(KeyboardInterrupt) as caught:
        LocalExecutor(store, options).run(in_process_flow.graph, params)
    # THEN the KeyboardInterrupt is ours: the step was stopped and recorded interrupted
    interrupted = caught.value
    assert isinstance(interrupted, PipelineInterrupted)
    assert interrupted.signal_name == "SIGINT"
    assert "stopped: hold" in interrupted.message
    result = interrupted.result
    assert {n: o.status for n, o in result.steps.items()} == {
        "start": "ran",
        "hold": "interrupted",
    }
    # AND the MLflow parent run and the step's run are KILLED
    runs = runs_of(tracking_uri, result.run_id)
    assert runs["parent"].info.status == "KILLED"
    assert runs["hold"].info.status == "KILLED"
    # AND no cache entry exists for the interrupted step
    assert cache_files(tmp_path / "store", result.steps["hold"].cache_key) == []

    # WHEN it runs again with the gate open THEN it resumes from the completed step
    (tmp_path / "gate").touch()
    resumed = LocalExecutor(store, options).run(in_process_flow.graph, params)
    assert {n: o.status for n, o in resumed.steps.items()} == {
        "start": "cached",
        "hold": "ran",
        "finish": "ran",
    }
