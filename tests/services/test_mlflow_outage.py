"""The team MLflow server stops in the middle of a pipeline run: the run goes on.

Real PostgreSQL and MLflow server (`mlp up`'s supervisor). The pipeline's steps never talk to
MLflow themselves, so the run can complete without it; the observer stops the server as the
middle step starts. When the server comes back before the end, everything queued is recorded
and the parent run is ended; when it never does, the run still completes and its report says
exactly what was not recorded and how to end the parent run, and following that works.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform import log_metrics, pipeline, step
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.services import Supervisor
from mlplatform.tracking.observer import MlflowObserver

from .conftest import config, project_home, running


@step
def load(n: int) -> int:
    return n


@step
def middle(x: int) -> int:
    log_metrics({"doubled": float(x * 2)})
    return x * 2


@step
def final(y: int) -> int:
    log_metrics({"final": float(y + 1)})
    return y + 1


@pipeline(name="outage")
def outage(n: int = 3) -> None:
    final(middle(load(n)))


class Outage(MlflowObserver):
    """Stops the MLflow server as ``middle`` starts; starts it again as ``final`` starts
    when asked to."""

    def __init__(self, team: Supervisor, *, comes_back: bool, **kwargs: Any) -> None:
        super().__init__(team.cfg.url("mlflow"), "outage", **kwargs)
        self.team, self.comes_back = team, comes_back
        self.stopped = self.restarted = False

    def step_started(self, run: Any, node: str, cache_key: str) -> str | None:
        if node == "middle":
            # what came before the outage is recorded first (the outbox sends in the
            # background), so that the report's "not recorded" list is exactly the later calls
            assert self._outbox.drain(30) == []
            self.team.down(["mlflow"])
            self.stopped = True
        if node == "final" and self.comes_back:
            self.team.up(["mlflow"])
            self.restarted = True
        return super().step_started(run, node, cache_key)


@pytest.fixture(scope="module")
def team() -> Iterator[Supervisor]:
    with project_home() as home, running(config(home), ("mlflow",)) as supervisor:
        yield supervisor


@pytest.fixture(autouse=True)
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The observer retries by itself; MLflow's own retries (minutes) would only slow this."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def runs_of(client: MlflowClient, run_id: str) -> dict[str, Any]:
    experiment = client.get_experiment_by_name("outage")
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], f"tags.`mlplatform.run_id` = '{run_id}'")
    return {
        ("parent" if "mlflow.parentRunId" not in r.data.tags else r.info.run_name): r for r in found
    }


def test_mlflow_back_before_the_end_gets_every_queued_event(team: Supervisor, tmp_path: Path):
    # GIVEN a run whose tracking server stops as its middle step starts, and is back later
    observer = Outage(team, comes_back=True, retry_s=0.2)
    executor = LocalExecutor(
        ArtifactStore(tmp_path / "store"), RunOptions(in_process=True, observer=observer)
    )
    # WHEN the pipeline runs
    result = executor.run(outage.graph, {"n": 3})
    # THEN the run completed, and nothing was left unrecorded
    assert observer.stopped
    assert observer.restarted
    assert result.status == "succeeded"
    assert result.unrecorded == []
    # AND the events queued during the outage are in MLflow: params, metrics, statuses
    runs = runs_of(MlflowClient(team.cfg.url("mlflow")), result.run_id)
    assert set(runs) == {"parent", "load", "middle", "final"}
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    assert runs["parent"].data.params == {"n": "3"}
    assert runs["middle"].data.metrics["doubled"] == 6.0
    assert runs["final"].data.metrics["final"] == 7.0
    assert runs["middle"].data.tags["mlflow.parentRunId"] == runs["parent"].info.run_id


def test_mlflow_never_back_completes_the_run_and_reports_what_was_not_recorded(
    team: Supervisor, tmp_path: Path
):
    # GIVEN a run whose tracking server stops as its middle step starts, for good
    observer = Outage(team, comes_back=False, retry_s=0.2, flush_s=2)
    executor = LocalExecutor(
        ArtifactStore(tmp_path / "store"), RunOptions(in_process=True, observer=observer)
    )
    try:
        # WHEN the pipeline runs
        result = executor.run(outage.graph, {"n": 4})
    finally:
        team.up(["mlflow"])  # back for the checks below
    # THEN the run completed all the same
    assert observer.stopped
    assert result.status == "succeeded"
    assert [o.status for o in result.steps.values()] == ["ran", "ran", "ran"]
    # AND the report names exactly what was not recorded: both later steps and the close
    report = "\n".join(result.unrecorded)
    assert "was unreachable" in report
    assert "step 'middle': its run" in report
    assert "step 'middle': status FINISHED" in report
    assert "step 'final': status FINISHED" in report
    assert f"pipeline run {result.run_id}: parent run ended FINISHED" in report
    assert "step 'load'" not in report  # recorded before the outage
    # AND it says the parent run is left RUNNING, and how to end it
    client = MlflowClient(team.cfg.url("mlflow"))
    runs = runs_of(client, result.run_id)
    assert runs["parent"].info.status == "RUNNING"
    assert runs["load"].info.status == "FINISHED"
    command = re.search(r"end it with: (python -c \"[^\"]+\")", report)
    assert command is not None, report
    assert runs["parent"].info.run_id in command.group(1)
    # WHEN the command is followed, MLflow being back THEN the parent run is ended
    args = command.group(1).split(" ", 2)
    subprocess.run([sys.executable, args[1], args[2].strip('"')], check=True, timeout=120)
    assert client.get_run(runs["parent"].info.run_id).info.status == "FINISHED"
