"""Pipelines: the DSL, the graph IR, content-addressed caching, the launcher and executors."""

from __future__ import annotations

from mlplatform.pipelines.dsl import (
    OutputRef,
    ParamRef,
    Pipeline,
    Resources,
    Retries,
    Step,
    pipeline,
    step,
)
from mlplatform.pipelines.graph import PipelineGraph

__all__ = [
    "OutputRef",
    "ParamRef",
    "Pipeline",
    "PipelineGraph",
    "Resources",
    "Retries",
    "Step",
    "pipeline",
    "step",
]
