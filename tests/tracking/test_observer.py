"""MlflowObserver: a parent run per pipeline run, a nested run per step, cache hits linked."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from mlplatform import pipeline, step
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import StepFailedError
from mlplatform.pipelines.context import log_metrics
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.pipelines.observer import PipelineRunInfo, StepOutcome
from mlplatform.tracking import MlflowObserver

RUN = PipelineRunInfo(
    run_id="20260101-120000-ab12cd",
    pipeline="churn-training",
    params={"model": "gbm", "rows": 500},
    git_commit="0123abc",
)


def runs_by_name(uri: str, experiment: str = "exp") -> dict:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}


def test_a_pipeline_run_is_a_parent_run_with_one_nested_run_per_step(tracking_uri):
    # GIVEN an observer on an empty tracking store
    observer = MlflowObserver(tracking_uri, "exp")

    # WHEN a two-step pipeline run is reported to it
    observer.pipeline_started(RUN)
    ingest_id = observer.step_started(RUN, "ingest", "key-ingest")
    observer.step_finished(
        RUN,
        StepOutcome(
            node="ingest",
            status="ran",
            cache_key="key-ingest",
            key_components={"code": "c0de", "params": "9a7a"},
            params={"rows": 500, "source": "sklearn://iris"},
            metrics={"rows": 500.0},
            duration_s=1.5,
            attempts=1,
            tracking_run_id=ingest_id,
        ),
    )
    observer.pipeline_finished(RUN, "succeeded")

    # THEN the parent carries the pipeline's tags and params and ended FINISHED
    runs = runs_by_name(tracking_uri)
    parent = runs["churn-training-ab12cd"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlplatform.pipeline"] == "churn-training"
    assert parent.data.tags["mlplatform.run_id"] == RUN.run_id
    assert parent.data.tags["mlplatform.git_commit"] == "0123abc"
    assert parent.data.params == {"model": "gbm", "rows": "500"}

    # AND the step is a nested run, with its params, metrics, key parts and status
    nested = runs["ingest"]
    assert nested.info.run_id == ingest_id
    assert nested.info.status == "FINISHED"
    assert nested.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert nested.data.tags["mlplatform.cache_key"] == "key-ingest"
    assert nested.data.tags["mlplatform.status"] == "ran"
    assert nested.data.tags["mlplatform.key.code"] == "c0de"
    assert nested.data.params == {"rows": "500", "source": "sklearn://iris"}
    assert nested.data.metrics == {"rows": 500.0, "duration_s": 1.5, "attempts": 1.0}


def test_a_cached_step_links_to_its_producer_run_instead_of_logging_again(tracking_uri):
    # GIVEN an observer and the tracking run that produced a step's outputs earlier
    observer = MlflowObserver(tracking_uri, "exp")
    producer = "f" * 32

    # WHEN the step is a cache hit (step_finished without step_started)
    observer.pipeline_started(RUN)
    observer.step_finished(
        RUN,
        StepOutcome(
            node="train",
            status="cached",
            cache_key="key-train",
            params={"model": "gbm"},
            metrics={"train_accuracy": 0.99},
            producer_tracking_run_id=producer,
        ),
    )
    observer.pipeline_finished(RUN, "succeeded")

    # THEN its nested run only links to the producer: no params, no metrics
    cached = runs_by_name(tracking_uri)["train"]
    assert cached.data.tags["mlplatform.status"] == "cached"
    assert cached.data.tags["mlplatform.cached_from_run_id"] == producer
    assert cached.data.tags["mlplatform.cache_key"] == "key-train"
    assert cached.data.params == {}
    assert cached.data.metrics == {}


def test_a_failed_step_fails_its_run_and_the_parent(tracking_uri):
    # GIVEN an observer
    observer = MlflowObserver(tracking_uri, "exp")

    # WHEN a step fails and the pipeline run ends failed
    observer.pipeline_started(RUN)
    run_id = observer.step_started(RUN, "validate", "key-validate")
    observer.step_finished(
        RUN,
        StepOutcome(
            node="validate",
            status="failed",
            cache_key="key-validate",
            error="DataValidationError: 12 nulls in column 'age'",
            tracking_run_id=run_id,
        ),
    )
    observer.pipeline_finished(RUN, "failed")

    # THEN the step's run is FAILED with the error as a tag, and so is the parent
    runs = runs_by_name(tracking_uri)
    assert runs["validate"].info.status == "FAILED"
    assert runs["validate"].data.tags["mlplatform.error"].startswith("DataValidationError")
    assert runs["churn-training-ab12cd"].info.status == "FAILED"


def test_long_values_and_many_params_are_logged_within_mlflow_limits(tracking_uri):
    # GIVEN a pipeline with 250 params (MLflow takes 100 per batch) and a huge value
    params = {f"p{i:03d}": i for i in range(250)}
    params["blob"] = "x" * 10_000
    run = PipelineRunInfo(run_id="r-1", pipeline="wide", params=params)

    # WHEN the run is recorded
    observer = MlflowObserver(tracking_uri, "exp")
    observer.pipeline_started(run)
    observer.pipeline_finished(run, "succeeded")

    # THEN every param is there, the long one truncated
    logged = runs_by_name(tracking_uri)["wide-r-1"].data.params
    assert len(logged) == 251
    assert len(logged["blob"]) <= 6000


# ---- with the real executor ---------------------------------------------------------------


@step
def numbers(n: int) -> list:
    return list(range(n))


@step
def summed(xs: list) -> int:
    log_metrics({"count": len(xs)})
    return sum(xs)


@step
def broken(total: int, fail: bool = False) -> int:
    if fail:
        raise ValueError("boom")
    return total


@pipeline(name="tiny")
def tiny(n: int = 4, fail: bool = False) -> None:
    broken(summed(numbers(n)), fail)


def test_the_executor_reports_runs_and_a_rerun_links_cached_steps_to_their_producers(
    tracking_uri, tmp_path
):
    # GIVEN the local executor with an MLflow observer, and a pipeline that ran once
    store = ArtifactStore(tmp_path / "store")
    options = RunOptions(in_process=True, observer=MlflowObserver(tracking_uri, "exp"))
    first = LocalExecutor(store, options).run(tiny.graph, {"n": 4})

    # WHEN it runs again with the same parameters
    second = LocalExecutor(store, options).run(tiny.graph, {"n": 4})

    # THEN the second run's steps are cached runs that point at the first run's step runs
    assert second.cached == ["numbers", "summed", "broken"]
    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name("exp").experiment_id
    for node in ("numbers", "summed", "broken"):
        found = client.search_runs([exp], f"tags.`mlplatform.node` = '{node}'")
        by_run = {r.data.tags["mlplatform.run_id"]: r for r in found}
        producer, cached = by_run[first.run_id], by_run[second.run_id]
        assert producer.data.tags["mlplatform.status"] == "ran"
        assert cached.data.tags["mlplatform.cached_from_run_id"] == producer.info.run_id
    summed_run = next(
        r
        for r in client.search_runs([exp], "tags.`mlplatform.node` = 'summed'")
        if r.data.tags["mlplatform.run_id"] == first.run_id
    )
    assert summed_run.data.metrics["count"] == 4.0


def test_the_executor_reports_a_failed_run_as_failed(tracking_uri, tmp_path):
    # GIVEN the executor with an MLflow observer
    options = RunOptions(in_process=True, observer=MlflowObserver(tracking_uri, "exp"))

    # WHEN a step raises
    with pytest.raises(StepFailedError):
        LocalExecutor(ArtifactStore(tmp_path / "store"), options).run(tiny.graph, {"fail": True})

    # THEN the failing step's run and the parent run are FAILED, the others FINISHED
    statuses = {name: r.info.status for name, r in runs_by_name(tracking_uri).items()}
    parent = next(name for name in statuses if name.startswith("tiny-"))
    assert statuses == {
        parent: "FAILED",
        "numbers": "FINISHED",
        "summed": "FINISHED",
        "broken": "FAILED",
    }
