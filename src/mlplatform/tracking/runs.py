"""Read pipeline runs back from MLflow, as small records a CLI can print (``mlp runs``),
and the past durations of a pipeline's steps (``mlp cost estimate pipeline``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from mlplatform.errors import RegistryError
from mlplatform.tracking._mlflow import (
    existing_client,
    is_not_found,
    quoted,
    registry_errors,
    to_datetime,
)

__all__ = ["RunDetail", "RunSummary", "get_run", "list_runs", "step_durations"]

_PARENT_ONLY = "tags.mlflow.parentRunId IS NULL"
_HINT = "Run `mlp runs list` to see the recorded runs, and check the tracking URI."


@dataclass(frozen=True)
class RunSummary:
    """One MLflow run: a pipeline run (parent) or one of its steps (nested).

    ``status`` is MLflow's (RUNNING, FINISHED, FAILED, KILLED); ``outcome`` is mlplatform's
    (``succeeded``/``failed`` for a pipeline run, ``ran``/``cached``/``failed`` for a step).
    ``cost_usd`` is the estimated cost the observer recorded (None: none recorded).
    """

    run_id: str
    name: str
    status: str
    outcome: str | None
    duration_s: float | None
    start_time: datetime | None
    end_time: datetime | None
    pipeline: str | None = None
    pipeline_run_id: str | None = None
    parent_run_id: str | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class RunDetail(RunSummary):
    """A run with its params, metrics and tags, and its step runs in start order."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    steps: list[RunSummary] = field(default_factory=list)


def list_runs(
    tracking_uri: str, experiment: str, max_results: int = 20, *, include_steps: bool = False
) -> list[RunSummary]:
    """The newest runs of ``experiment`` (pipeline runs only unless ``include_steps``).

    An experiment that does not exist yet has no runs, nor has a store not created yet.
    """
    client = existing_client(tracking_uri)
    if client is None:
        return []
    with registry_errors(f"cannot list the runs of experiment {experiment!r}", _HINT):
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        runs = client.search_runs(
            [found.experiment_id],
            filter_string="" if include_steps else _PARENT_ONLY,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
    return [_summary(r) for r in runs]


def get_run(run_id: str, *, tracking_uri: str) -> RunDetail:
    """A run by its MLflow run id or by its mlplatform pipeline run id.

    Raises:
        RegistryError: no run has that id.
    """
    client = existing_client(tracking_uri)
    run = None
    if client is not None:
        run = _by_mlflow_id(client, run_id) or _by_pipeline_run_id(client, run_id)
    if client is None or run is None:
        raise RegistryError(f"there is no run with id {run_id!r}", _HINT)
    with registry_errors(f"cannot read the steps of run {run_id!r}", _HINT):
        steps = client.search_runs(
            [run.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = {quoted(run.info.run_id)}",
            max_results=1000,
            order_by=["attributes.start_time ASC"],
        )
    return RunDetail(
        **vars(_summary(run)),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        steps=[_summary(s) for s in steps],
    )


def step_durations(
    tracking_uri: str, experiment: str, pipeline: str, per_step: int = 20
) -> dict[str, list[float]]:
    """The recorded ``duration_s`` of the newest ``per_step`` successful runs of each step of
    ``pipeline`` (cache hits ran nothing and are left out), newest first.

    Empty when the pipeline has no recorded step run in ``experiment``.
    """
    client = existing_client(tracking_uri)
    if client is None:
        return {}
    with registry_errors(f"cannot read the step runs of pipeline {pipeline!r}", _HINT):
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return {}
        runs = client.search_runs(
            [found.experiment_id],
            filter_string=f"tags.`mlplatform.pipeline` = {quoted(pipeline)} "
            "and tags.`mlplatform.status` = 'ran' and tags.mlflow.parentRunId IS NOT NULL",
            max_results=5000,
            order_by=["attributes.start_time DESC"],
        )
    durations: dict[str, list[float]] = {}
    for run in runs:
        node, seconds = run.data.tags.get("mlplatform.node"), run.data.metrics.get("duration_s")
        if node is not None and seconds is not None and len(durations.get(node, ())) < per_step:
            durations.setdefault(node, []).append(seconds)
    return durations


def _by_mlflow_id(client: MlflowClient, run_id: str) -> Run | None:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if is_not_found(exc) or "invalid" in exc.message.lower():
            return None
        raise RegistryError(f"cannot read run {run_id!r}: {exc.message}", _HINT) from exc


def _by_pipeline_run_id(client: MlflowClient, run_id: str) -> Run | None:
    with registry_errors(f"cannot search for run {run_id!r}", _HINT):
        experiments = [e.experiment_id for e in client.search_experiments()]
        if not experiments:
            return None
        found = client.search_runs(
            experiments,
            filter_string=f"tags.`mlplatform.run_id` = {quoted(run_id)} and {_PARENT_ONLY}",
            max_results=1,
        )
    return found[0] if found else None


def _summary(run: Run) -> RunSummary:
    tags = run.data.tags
    start, end = to_datetime(run.info.start_time), to_datetime(run.info.end_time)
    return RunSummary(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        status=run.info.status,
        outcome=tags.get("mlplatform.status"),
        duration_s=(end - start).total_seconds() if start and end else None,
        start_time=start,
        end_time=end,
        pipeline=tags.get("mlplatform.pipeline"),
        pipeline_run_id=tags.get("mlplatform.run_id"),
        parent_run_id=tags.get("mlflow.parentRunId"),
        cost_usd=run.data.metrics.get("cost_usd"),
    )
