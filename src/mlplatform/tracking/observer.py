"""``MlflowObserver``: one MLflow parent run per pipeline run, one nested run per step.

The executor calls it from its own process; steps never talk to MLflow to be tracked. What
lands where::

    parent run  "<pipeline>-<short id>"     tags mlplatform.pipeline / .run_id / .git_commit,
                                            params = pipeline params, status FINISHED/FAILED
    └── nested run "<node>"                 tags mlflow.parentRunId, mlplatform.cache_key,
                                            mlplatform.status, mlplatform.key.<component>,
                                            params = step params, metrics + duration_s
                                            (+ cost_usd, tag mlplatform.cost_basis)
    └── nested run "<node>" (cache hit)     only mlplatform.status=cached, the cache key and
                                            mlplatform.cached_from_run_id (the producer run)
                                            (+ cost_usd 0: a cache hit runs nothing)

With a price basis (``cost``), each step run gets its estimated cost: its requested resources
(``PipelineRunInfo.resources``) x ``duration_s`` x the region's per-unit rates; the parent run
gets the sum as ``cost_usd`` and tags ``mlplatform.cost_cloud``, ``mlplatform.cost_region``,
``mlplatform.cost_as_of``.

Everything of one run is written with ``log_batch``. The calls go through an outbox sent in
order by one background thread, so MLflow being slow or unreachable never stops a run: calls
are retried until the server is back, and ``pipeline_finished`` reports what was not recorded.
An interrupted run (Ctrl-C, SIGTERM) ends KILLED, with its interrupted steps.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunStatus, RunTag

from mlplatform.cost import PriceBasis, Request, run_cost
from mlplatform.pipelines.observer import PipelineRunInfo, RunObserver, StepOutcome
from mlplatform.tracking._mlflow import client_for, ensure_experiment
from mlplatform.tracking._outbox import Outbox

__all__ = ["MlflowObserver"]

_MAX_PARAM = 6000
_MAX_TAG = 8000
_BATCH = 100
_FINAL_STATUS = {
    "ran": "FINISHED",
    "cached": "FINISHED",
    "failed": "FAILED",
    "skipped": "KILLED",
    "interrupted": "KILLED",
}
_CACHED_BASIS = "cached: a cache hit runs nothing and costs 0"
_PIPELINE_STATUS = {"failed": "FAILED", "error": "FAILED", "interrupted": "KILLED"}


class MlflowObserver:
    """Records pipeline runs in MLflow (implements ``RunObserver``).

    MLflow being unreachable never stops or fails a run: every call goes through an outbox
    (``_outbox.Outbox``) that a background thread sends in order, retrying while the server
    is away. ``pipeline_finished`` waits up to ``flush_s`` for the outbox to empty and returns
    exactly what was not recorded (and, for a parent run it could not end, how to end it).

    Args:
        tracking_uri: MLflow tracking URI, e.g. ``sqlite:////abs/.mlplatform/mlflow.db``.
        experiment: experiment that holds the runs; created if missing.
        wait_s: how long ``step_started`` waits for the step's run id (a step that logs a
            model needs it); not at all while MLflow is known to be unreachable.
        flush_s: how long ``pipeline_finished`` waits for queued calls.
        retry_s: the first pause before a failed call is tried again (it doubles to 10 s).
        cost: the price basis step costs are recorded with; None records no cost.
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment: str,
        *,
        wait_s: float = 10.0,
        flush_s: float = 30.0,
        retry_s: float = 0.5,
        cost: PriceBasis | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.wait_s, self.flush_s = wait_s, flush_s
        # MLflow writes "View run ... at: URL" to stdout when an HTTP-tracked run ends: the
        # pipeline's own report names the runs, and stdout is for results (--format json)
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        self._client = client_for(tracking_uri)
        self._outbox = Outbox(retry_s)
        self._experiment_id: str | None = None
        self._parents: dict[str, str] = {}
        self._steps: dict[tuple[str, str], str] = {}  # open step runs
        self._links: set[tuple[str, str]] = set()  # of those, cache hits' link runs
        self.cost = cost
        self._costs: dict[str, float] = {}  # pipeline run id -> the sum of its step costs

    def pipeline_started(self, run: PipelineRunInfo) -> None:
        """Create the parent run with the pipeline's tags and params."""
        tags = {"mlplatform.pipeline": run.pipeline, "mlplatform.run_id": run.run_id}
        if run.git_commit:
            tags["mlplatform.git_commit"] = run.git_commit

        def send() -> None:  # tried again after a failure: creates the run once
            parent = self._parents.get(run.run_id)
            if parent is None:
                parent = self._create_run(f"{run.pipeline}-{_short_id(run.run_id)}", tags)
                self._parents[run.run_id] = parent
            self._log(parent, params=run.params)

        self._outbox.submit(f"the parent run of pipeline run {run.run_id} (tags, params)", send)

    def step_started(self, run: PipelineRunInfo, node: str, cache_key: str) -> str | None:
        """Create the step's nested run; its id lets the step log into it (e.g. a model).

        ``None`` when MLflow did not answer in time: the run is created when it does.
        """

        def send() -> str:
            run_id = self._steps.get((run.run_id, node))
            if run_id is None:
                run_id = self._create_run(node, self._step_tags(run, node, cache_key, "running"))
                self._steps[(run.run_id, node)] = run_id
            return run_id

        call = self._outbox.submit(f"step {node!r}: its run", send)
        wait = 0.0 if self._outbox.stuck(self.wait_s) else self.wait_s
        return str(call.result) if call.done.wait(wait) and call.result else None

    def step_finished(self, run: PipelineRunInfo, outcome: StepOutcome) -> None:
        """Log the step's params, metrics and key parts, or link a cache hit to its producer."""
        cost = self._step_cost(run, outcome)

        def send() -> None:  # tried again after a failure: the step's run is kept until done
            step = (run.run_id, outcome.node)
            run_id = self._steps.get(step)
            if outcome.status == "cached" and (run_id is None or step in self._links):
                self._record_cached(step, run, outcome, cost)
                return
            tags = self._step_tags(run, outcome.node, outcome.cache_key, outcome.status)
            if run_id is None:
                run_id = self._steps[step] = self._create_run(outcome.node, tags)
            tags.update(_key_tags(outcome.key_components))
            if outcome.error:
                tags["mlplatform.error"] = outcome.error
            metrics = {**outcome.metrics, "duration_s": outcome.duration_s}
            if outcome.attempts:
                metrics["attempts"] = float(outcome.attempts)
            if cost is not None:
                metrics["cost_usd"], tags["mlplatform.cost_basis"] = cost
            self._log(run_id, params=outcome.params, metrics=metrics, tags=tags)
            self._client.set_terminated(run_id, _FINAL_STATUS.get(outcome.status, "FINISHED"))
            del self._steps[step]

        final = _FINAL_STATUS.get(outcome.status, "FINISHED")
        what = f"step {outcome.node!r}: status {final}, params, metrics and key tags"
        self._outbox.submit(what, send)

    def pipeline_finished(self, run: PipelineRunInfo, status: str) -> list[str]:
        """End the parent run (and any step run left open) with the run's status.

        Returns what could not be recorded within ``flush_s`` (empty when all was).
        """
        final = _PIPELINE_STATUS.get(status, "FINISHED")
        total = self._costs.pop(run.run_id, None)

        def send() -> None:
            for key in [k for k in self._steps if k[0] == run.run_id]:
                self._client.set_terminated(self._steps[key], "KILLED")
                del self._steps[key]
            parent = self._parents.get(run.run_id)
            if parent is not None:
                if total is not None:
                    self._log(parent, metrics={"cost_usd": total}, tags=self._cost_tags())
                self._client.set_tag(parent, "mlplatform.status", status)
                self._client.set_terminated(parent, final)
                del self._parents[run.run_id]

        self._outbox.submit(f"pipeline run {run.run_id}: parent run ended {final}", send)
        return self._report(run, self._outbox.drain(self.flush_s), final)

    def _report(self, run: PipelineRunInfo, left: list[str], final: str) -> list[str]:
        dropped, self._outbox.dropped = self._outbox.dropped, []
        lines = [f"MLflow refused {d}" for d in dropped]
        if not left:
            return lines
        why = self._outbox.last_error or "no answer"
        lines.append(
            f"MLflow at {self.tracking_uri} was unreachable ({why}); not recorded: "
            + "; ".join(left)
        )
        parent = self._parents.get(run.run_id)
        if parent is None:
            lines.append(f"pipeline run {run.run_id} has no parent run in MLflow")
        else:
            lines.append(
                f"parent run {parent} is left RUNNING; once MLflow is back, end it with: "
                f'python -c "from mlflow import MlflowClient; '
                f"MlflowClient('{self.tracking_uri}').set_terminated('{parent}', '{final}')\""
            )
        return lines

    # ---- internals --------------------------------------------------------------------
    def _step_cost(self, run: PipelineRunInfo, outcome: StepOutcome) -> tuple[float, str] | None:
        """The step's cost and its rate basis (added to the run's total); 0 for a cache hit;
        None without a price basis or when the step's resources are not known."""
        asked = run.resources.get(outcome.node)
        if self.cost is None or asked is None:
            return None
        if outcome.status == "cached":
            self._costs.setdefault(run.run_id, 0.0)
            return 0.0, _CACHED_BASIS
        request = Request.of(asked["cpu"], asked["memory"], int(asked.get("gpu", 0)))
        cost = run_cost(request, outcome.duration_s, self.cost.rates)
        self._costs[run.run_id] = self._costs.get(run.run_id, 0.0) + cost
        return cost, f"{request.basis(self.cost.rates)} x {outcome.duration_s:.3f} s"

    def _cost_tags(self) -> dict[str, str]:
        assert self.cost is not None
        return {
            "mlplatform.cost_cloud": self.cost.cloud,
            "mlplatform.cost_region": self.cost.region,
            "mlplatform.cost_as_of": self.cost.as_of.isoformat(),
        }

    def _record_cached(
        self,
        step: tuple[str, str],
        run: PipelineRunInfo,
        outcome: StepOutcome,
        cost: tuple[float, str] | None,
    ) -> None:
        run_id = self._steps.get(step)
        if run_id is None:
            tags = self._step_tags(run, outcome.node, outcome.cache_key, "cached")
            if outcome.producer_tracking_run_id:
                tags["mlplatform.cached_from_run_id"] = outcome.producer_tracking_run_id
            run_id = self._steps[step] = self._create_run(outcome.node, tags)
            self._links.add(step)
        if cost is not None:
            self._log(
                run_id, metrics={"cost_usd": cost[0]}, tags={"mlplatform.cost_basis": cost[1]}
            )
        self._client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
        del self._steps[step]
        self._links.discard(step)

    def _step_tags(
        self, run: PipelineRunInfo, node: str, cache_key: str, status: str
    ) -> dict[str, str]:
        tags = {
            "mlplatform.pipeline": run.pipeline,
            "mlplatform.run_id": run.run_id,
            "mlplatform.node": node,
            "mlplatform.cache_key": cache_key,
            "mlplatform.status": status,
        }
        parent = self._parents.get(run.run_id)
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        return tags

    def _create_run(self, name: str, tags: Mapping[str, str]) -> str:
        if self._experiment_id is None:
            self._experiment_id = ensure_experiment(
                self._client, self.experiment, self.tracking_uri
            )
        created = self._client.create_run(self._experiment_id, run_name=name, tags=dict(tags))
        return str(created.info.run_id)

    def _log(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        now = int(time.time() * 1000)
        p = [Param(_key(k), _text(v, _MAX_PARAM)) for k, v in (params or {}).items()]
        m = [Metric(_key(k), float(v), now, 0) for k, v in (metrics or {}).items()]
        t = [RunTag(k, _text(v, _MAX_TAG)) for k, v in (tags or {}).items()]
        for start in range(0, max(len(p), len(m), len(t)), _BATCH):
            part = slice(start, start + _BATCH)
            self._client.log_batch(run_id, metrics=m[part], params=p[part], tags=t[part])


def _key_tags(components: Mapping[str, Any]) -> dict[str, str]:
    return {
        f"mlplatform.key.{_key(name)}": _text(value, _MAX_TAG) for name, value in components.items()
    }


def _key(name: str) -> str:
    """An MLflow-safe key: letters, digits and ``_-./ `` only, at most 250 characters."""
    return re.sub(r"[^\w\-./ ]", "_", str(name))[:250]


def _text(value: object, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_id(run_id: str) -> str:
    """``20260101-120000-ab12cd`` -> ``ab12cd``; any other id -> its first 8 characters."""
    tail = run_id.rsplit("-", 1)[-1]
    return tail if "-" in run_id and len(tail) >= 6 else run_id[:8]


if TYPE_CHECKING:  # mypy checks that the observer satisfies the executor's protocol
    _protocol_check: type[RunObserver] = MlflowObserver
