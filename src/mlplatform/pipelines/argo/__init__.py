"""Pipelines on Argo Workflows: compile (offline, deterministic), submit, status and logs.

Importing this package imports Hera; only the compile and submit paths do.
"""

from __future__ import annotations

from mlplatform.pipelines.argo.compiler import CompileOptions, compile_pipeline, plan_steps, to_yaml

__all__ = ["CompileOptions", "compile_pipeline", "plan_steps", "to_yaml"]
