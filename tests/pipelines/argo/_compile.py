"""What the Argo tests compile: the example pipelines, with fixed options, and document walkers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlplatform.pipelines.argo import CompileOptions, compile_pipeline
from mlplatform.pipelines.discovery import discover
from mlplatform.pipelines.dsl import Pipeline

REPO = Path(__file__).resolve().parents[3]
LOCK = Path("requirements/lock.txt")
CHURN_FILE = "examples/pipelines/churn/pipeline.py"
CLOUD_NAMES = ("aws", "azure", "gcp")
SCHEDULE = "0 3 * * *"
# What the CLI passes on a cluster profile (see Workspace.compile_options).
CLUSTER_ENV = {
    "MLFLOW_TRACKING_URI": "http://mlflow.mlflow.svc.cluster.local:5000",
    "MLFLOW_EXPERIMENT_NAME": "mlplatform",
}


def standard() -> Pipeline:
    from mlplatform.components.standard import standard_training

    return standard_training


def churn() -> Pipeline:
    """The churn example, loaded as `--file` loads it (module name from the path under REPO)."""
    with contextlib.chdir(REPO):
        return discover([CHURN_FILE])["churn-training"]


def options(cloud: str = "aws", **overrides: Any) -> CompileOptions:
    """The fixed options the golden files are compiled with."""
    fixed: dict[str, Any] = {
        "cloud": cloud,
        "lock_file": LOCK,
        "owner": "mlplatform",
        "env": CLUSTER_ENV,
    }
    return CompileOptions(**{**fixed, **overrides})


def compile_docs(pipe: Pipeline, cloud: str = "aws", **overrides: Any) -> list[dict[str, Any]]:
    with contextlib.chdir(REPO):
        return compile_pipeline(pipe.graph, {}, options(cloud, **overrides))


def workflow_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec the pods run from: the Workflow's, or the WorkflowTemplate's."""
    (doc,) = [d for d in docs if d["kind"] in ("Workflow", "WorkflowTemplate")]
    spec: dict[str, Any] = doc["spec"]
    return spec


def container_templates(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in workflow_spec(docs)["templates"] if "container" in t]


def dag_tasks(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = workflow_spec(docs)
    (main,) = [t for t in spec["templates"] if t["name"] == spec["entrypoint"]]
    tasks: list[dict[str, Any]] = main["dag"]["tasks"]
    return tasks


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair in a nested document."""
    yield path, value
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
