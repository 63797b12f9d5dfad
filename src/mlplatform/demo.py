"""`mlp demo`: the whole lifecycle on the embedded default, as a list of stages.

Each stage is a function that takes the workspace and the report so far and adds to it. Later
capabilities (serving, drift) add their stages to ``STAGES``; the CLI prints what they report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlplatform.artifacts.materializers import load
from mlplatform.pipelines.local import PipelineRunResult, ProgressEvent
from mlplatform.workspace import Workspace

__all__ = ["DEMO_PARAMS", "DEMO_PIPELINE", "NEXT_STEPS", "DemoReport", "run_demo"]

DEMO_PIPELINE = "standard-training"
DEMO_PARAMS: dict[str, Any] = {
    "source": "sklearn://breast_cancer",
    "model": "gbm",
    "model_name": "demo-breast-cancer",
}

NEXT_STEPS = [
    ("see what would run, and why", "mlp pipeline plan standard-training -p model=logreg"),
    (
        "train another model",
        "mlp pipeline run standard-training -p model=logreg -p model_name=demo-breast-cancer",
    ),
    ("inspect the registry", "mlp models show demo-breast-cancer"),
    ("roll the champion back", "mlp models rollback demo-breast-cancer --reason 'demo'"),
    ("browse runs in MLflow", "mlp ui"),
]


@dataclass
class DemoReport:
    """What the demo did: the two runs and what the pipeline evaluated and registered."""

    runs: list[PipelineRunResult] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    registration: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str], Callable[[ProgressEvent], None] | None]


def train_twice(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Run the standard pipeline, then again to show that every step is cached."""
    graph = ws.pipeline(DEMO_PIPELINE).graph
    for title in ("first run", "second run (everything cached)"):
        executor = ws.executor(progress=progress(title))
        report.runs.append(executor.run(graph, DEMO_PARAMS))
    last = report.runs[-1]
    report.evaluation = dict(load(ws.store, last.output("evaluate")))  # type: ignore[call-overload]
    report.registration = dict(load(ws.store, last.output("register")))  # type: ignore[call-overload]


Stage = Callable[[Workspace, DemoReport, Progress], None]

# Serving (issue #5) and drift (issue #4) append their stages here.
STAGES: list[Stage] = [train_twice]


def run_demo(ws: Workspace, progress: Progress) -> DemoReport:
    report = DemoReport()
    for stage in STAGES:
        stage(ws, report, progress)
    return report
