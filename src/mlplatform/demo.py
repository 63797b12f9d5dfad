"""`mlp demo`: the whole lifecycle on the embedded default, as a list of stages.

Each stage is a function that takes the workspace and the report so far and adds to it. Later
capabilities (serving, drift) add their stages to ``STAGES``; the CLI prints what they report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlplatform.artifacts.materializers import load
from mlplatform.drift import (
    DriftConfig,
    DriftResult,
    NumericProfile,
    ReferenceProfile,
    check_drift,
)
from mlplatform.drift.report import write_report
from mlplatform.pipelines.local import PipelineRunResult, ProgressEvent
from mlplatform.workspace import Workspace

__all__ = ["DEMO_PARAMS", "DEMO_PIPELINE", "NEXT_STEPS", "DemoReport", "DriftBatch", "run_demo"]

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
    (
        "check new data for drift",
        "mlp drift check -r models:/demo-breast-cancer@champion -c NEW.parquet --report d.html",
    ),
    ("browse runs in MLflow", "mlp ui"),
]


@dataclass(frozen=True)
class DriftBatch:
    """One batch the demo checked for drift, its result and its HTML report."""

    name: str
    result: DriftResult
    report: str


@dataclass
class DemoReport:
    """What the demo did: the two runs, what the pipeline evaluated and registered, and the
    drift checks of a clean and a shifted batch against the registered model's profile."""

    runs: list[PipelineRunResult] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    registration: dict[str, Any] = field(default_factory=dict)
    drift: list[DriftBatch] = field(default_factory=list)


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


DRIFT_SHIFT_STDS = 0.5


def check_drift_twice(ws: Workspace, report: DemoReport, progress: Progress) -> None:
    """Check two batches against the profile saved at registration: the held-out test split
    (clean: no drift), and the same rows with every feature moved by half a reference
    standard deviation (drift). Each gets an HTML report under ``<home>/drift``."""
    from mlplatform.components.register import load_reference_profile

    reg = report.registration
    profile = load_reference_profile(reg["name"], reg["version"], tracking_uri=ws.tracking_uri)
    test = load(ws.store, report.runs[-1].output("featurize", "test"))
    assert isinstance(test, pd.DataFrame)
    clean = test[list(profile.columns)]
    config = DriftConfig.from_mapping(ws.settings.drift.model_dump(exclude={"bins"}))
    folder = ws.settings.home_dir / "drift"
    for name, batch in (("clean", clean), ("shifted", _shifted(clean, profile))):
        result = check_drift(profile, batch, config)
        path = write_report(
            result,
            folder / f"demo-{name}.html",
            title=f"Drift of the {name} batch",
            reference_name=f"models:/{reg['name']}/{reg['version']}",
            current_name=f"{name} batch ({len(batch)} rows)",
        )
        report.drift.append(DriftBatch(name, result, str(path)))


def _shifted(batch: pd.DataFrame, profile: ReferenceProfile) -> pd.DataFrame:
    moved = batch.copy()
    for name, col in profile.columns.items():
        if isinstance(col, NumericProfile):
            moved[name] = moved[name].astype("float64") + DRIFT_SHIFT_STDS * col.std
    return moved


Stage = Callable[[Workspace, DemoReport, Progress], None]

# Serving (issue #5) appends its stage here.
STAGES: list[Stage] = [train_twice, check_drift_twice]


def run_demo(ws: Workspace, progress: Progress) -> DemoReport:
    report = DemoReport()
    for stage in STAGES:
        stage(ws, report, progress)
    return report
