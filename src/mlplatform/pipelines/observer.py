"""The observer interface: how executors tell tracking (MLflow) what happens in a run.

Executors call an observer from the parent process only; steps never import MLflow to be
tracked. An observer must not fail a run: what it cannot record it returns from
``pipeline_finished`` and the executor reports it. ``NullObserver`` is the default when
tracking is off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["NullObserver", "PipelineRunInfo", "RunObserver", "StepOutcome"]

StepStatus = Literal["ran", "cached", "failed", "skipped", "interrupted"]


@dataclass(frozen=True)
class PipelineRunInfo:
    """One pipeline run: its id, the pipeline, the resolved parameters.

    ``resources`` maps each node to what it requests (``{"cpu", "memory", "gpu"}``, as the
    step's ``Resources``), for the step costs the tracking observer records.
    """

    run_id: str
    pipeline: str
    params: Mapping[str, Any]
    git_commit: str | None = None
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepOutcome:
    """What happened to one node.

    ``producer_tracking_run_id`` is set for cached steps: the tracking run that produced the
    outputs being reused (the observer links to it instead of logging again).
    """

    node: str
    status: StepStatus
    cache_key: str
    key_components: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    duration_s: float = 0.0
    attempts: int = 0
    error: str | None = None
    error_hint: str | None = None
    error_details: str | None = None
    error_traceback: str | None = None
    tracking_run_id: str | None = None
    producer_tracking_run_id: str | None = None


class RunObserver(Protocol):
    """Receives a pipeline run's events, in order, from one thread at a time."""

    def pipeline_started(self, run: PipelineRunInfo) -> None: ...

    def step_started(self, run: PipelineRunInfo, node: str, cache_key: str) -> str | None:
        """Called before a step runs (not for cache hits); returns its tracking run id."""
        ...

    def step_finished(self, run: PipelineRunInfo, outcome: StepOutcome) -> None: ...

    def pipeline_finished(self, run: PipelineRunInfo, status: str) -> Sequence[str] | None:
        """Called last, ``status`` is ``succeeded``, ``failed`` or ``interrupted``.

        Returns what could not be recorded (e.g. the tracking server was unreachable), if any.
        """
        ...


class NullObserver:
    """Tracks nothing."""

    def pipeline_started(self, run: PipelineRunInfo) -> None:
        return None

    def step_started(self, run: PipelineRunInfo, node: str, cache_key: str) -> str | None:
        return None

    def step_finished(self, run: PipelineRunInfo, outcome: StepOutcome) -> None:
        return None

    def pipeline_finished(self, run: PipelineRunInfo, status: str) -> None:
        return None
