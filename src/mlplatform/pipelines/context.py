"""What a running step can see and report besides its inputs and outputs.

``current_step()`` tells a step which pipeline run it belongs to (for lineage tags);
``log_metrics``/``log_params`` record values for tracking. Outside a pipeline run
``current_step()`` is ``None`` and the log calls do nothing, so steps stay plain functions.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "StepContext",
    "StepReport",
    "current_step",
    "log_metrics",
    "log_params",
    "running",
]


@dataclass
class StepReport:
    """Metrics and params a step logged while it ran."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepContext:
    """Facts about the running step, for lineage.

    Attributes:
        pipeline: pipeline name.
        run_id: the pipeline run id (the same for every step of one run).
        node: this node's name.
        cache_key: this step's cache key.
        cache_keys: cache keys of every node computed so far in this run (upstream included).
        inputs: input name -> artifact reference dict (uri, digest, type, size).
        tracking_run_id: the MLflow run of this step, when tracking is on.
        git_commit: the commit of the working tree, if it is a git checkout.
        store_root: the run's artifact store (where the audit log of registry changes is).
        storage_options: its fsspec options.
    """

    pipeline: str
    run_id: str
    node: str
    cache_key: str
    cache_keys: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tracking_run_id: str | None = None
    git_commit: str | None = None
    store_root: str | None = None
    storage_options: Mapping[str, Any] = field(default_factory=dict)


_REPORT: contextvars.ContextVar[StepReport | None] = contextvars.ContextVar("report", default=None)
_CONTEXT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("ctx", default=None)


def current_step() -> StepContext | None:
    """The running step's context, or ``None`` when called outside a pipeline run."""
    return _CONTEXT.get()


def log_metrics(metrics: Mapping[str, float]) -> None:
    """Record numeric metrics of the running step (shown in MLflow's nested run)."""
    report = _REPORT.get()
    if report is not None:
        report.metrics.update({k: float(v) for k, v in metrics.items()})


def log_params(params: Mapping[str, Any]) -> None:
    """Record extra params of the running step."""
    report = _REPORT.get()
    if report is not None:
        report.params.update({k: str(v) for k, v in params.items()})


@contextmanager
def running(context: StepContext) -> Iterator[StepReport]:
    """Make ``context`` current and collect what the step logs while the block runs."""
    report = StepReport()
    tokens = (_REPORT.set(report), _CONTEXT.set(context))
    try:
        yield report
    finally:
        _REPORT.reset(tokens[0])
        _CONTEXT.reset(tokens[1])
