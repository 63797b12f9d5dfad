"""Reading pipeline runs back for `mlp runs list|show`."""

from __future__ import annotations

import pytest

from mlplatform.errors import RegistryError
from mlplatform.pipelines.observer import PipelineRunInfo, StepOutcome
from mlplatform.tracking import MlflowObserver, get_run, list_runs


def record(uri: str, run_id: str, steps: tuple[str, ...]) -> PipelineRunInfo:
    """Report one pipeline run with the given steps through the real observer."""
    observer = MlflowObserver(uri, "exp")
    run = PipelineRunInfo(run_id=run_id, pipeline="churn", params={"model": "gbm"})
    observer.pipeline_started(run)
    for node in steps:
        tracking_id = observer.step_started(run, node, f"key-{node}")
        outcome = StepOutcome(
            node=node, status="ran", cache_key=f"key-{node}", tracking_run_id=tracking_id
        )
        observer.step_finished(run, outcome)
    observer.pipeline_finished(run, "succeeded")
    return run


def test_list_runs_shows_pipeline_runs_newest_first_without_their_steps(tracking_uri):
    # GIVEN two recorded pipeline runs of two steps each
    record(tracking_uri, "20260101-000000-aaaaaa", ("ingest", "train"))
    record(tracking_uri, "20260101-000001-bbbbbb", ("ingest", "train"))

    # WHEN runs are listed
    runs = list_runs(tracking_uri, "exp", 10)

    # THEN only the two parent runs are there, newest first, with their outcome
    assert [r.pipeline_run_id for r in runs] == [
        "20260101-000001-bbbbbb",
        "20260101-000000-aaaaaa",
    ]
    assert {(r.status, r.outcome, r.parent_run_id) for r in runs} == {
        ("FINISHED", "succeeded", None)
    }
    assert all(r.duration_s is not None and r.duration_s >= 0 for r in runs)
    assert len(list_runs(tracking_uri, "exp", 10, include_steps=True)) == 6


def test_get_run_by_mlflow_id_or_pipeline_run_id_includes_its_steps(tracking_uri):
    # GIVEN a recorded pipeline run
    record(tracking_uri, "20260101-000000-aaaaaa", ("ingest", "train"))
    parent = list_runs(tracking_uri, "exp")[0]

    # WHEN it is read by either id
    by_mlflow = get_run(parent.run_id, tracking_uri=tracking_uri)
    by_pipeline = get_run("20260101-000000-aaaaaa", tracking_uri=tracking_uri)

    # THEN both give the run, its params and its steps in order
    assert by_mlflow == by_pipeline
    assert by_mlflow.params == {"model": "gbm"}
    assert [(s.name, s.outcome) for s in by_mlflow.steps] == [("ingest", "ran"), ("train", "ran")]


def test_unknown_experiment_has_no_runs_and_unknown_run_is_an_error(tracking_uri):
    assert list_runs(tracking_uri, "never-used") == []
    with pytest.raises(RegistryError, match="no run with id 'nope'"):
        get_run("nope", tracking_uri=tracking_uri)
