"""Compiled YAML of the example pipelines, committed beside them, compared byte for byte.

A difference means the compiler's output changed, a step's code changed (its cache key is in
the YAML), or the lock file changed. If the change is intended, regenerate the files with
``MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/pipelines/argo/test_golden.py`` and review
the diff like code.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Callable

import pytest
import yaml

from mlplatform.features import CONFIG_ENV
from mlplatform.pipelines.argo import to_yaml
from mlplatform.pipelines.discovery import discover
from mlplatform.pipelines.dsl import Pipeline

from ._compile import REPO, SCHEDULE, churn, compile_docs, standard


def churn_features() -> Pipeline:
    """The churn example trained from the feature store (its steps mount the cluster's)."""
    with contextlib.chdir(REPO):
        return discover(["examples/pipelines/churn/features_pipeline.py"])[
            "churn-features-training"
        ]


REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/pipelines/argo/test_golden.py"
GOLDEN: dict[str, tuple[Callable[[], Pipeline], str, str | None]] = {
    "examples/pipelines/churn/argo/aws.yaml": (churn, "aws", None),
    "examples/pipelines/churn/argo/azure.yaml": (churn, "azure", None),
    "examples/pipelines/churn/argo/gcp.yaml": (churn, "gcp", None),
    "examples/pipelines/churn/argo/aws-scheduled.yaml": (churn, "aws", SCHEDULE),
    "examples/pipelines/standard/argo/aws.yaml": (standard, "aws", None),
    "examples/pipelines/churn/argo/aws-features.yaml": (churn_features, "aws", None),
}
# compiled as the CLI compiles a project with a feature repository (Workspace.compile_options)
WITH_FEATURE_STORE = {"examples/pipelines/churn/argo/aws-features.yaml"}


def compiled(path: str) -> bytes:
    pipe, cloud, schedule = GOLDEN[path]
    store = CONFIG_ENV if path in WITH_FEATURE_STORE else None
    docs = compile_docs(pipe(), cloud, schedule=schedule, feature_store_env=store)
    return to_yaml(docs).encode()


def diff(old: bytes, new: bytes, path: str, lines: int = 40) -> str:
    out = difflib.unified_diff(
        old.decode().splitlines(), new.decode().splitlines(), path, "compiled now", lineterm=""
    )
    return "\n".join(list(out)[:lines])


@pytest.mark.parametrize("path", GOLDEN)
def test_compiled_yaml_matches_the_golden_file(path):
    new = compiled(path)
    golden = REPO / path
    if os.environ.get("MLPLATFORM_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(new)
        return
    if not golden.is_file():
        pytest.fail(f"{path} does not exist. Write it with: {REGENERATE}", pytrace=False)
    old = golden.read_bytes()
    if old != new:
        pytest.fail(
            f"{path} differs from what the compiler writes now. If the change is intended, "
            f"regenerate the golden files with: {REGENERATE}\n{diff(old, new, path)}",
            pytrace=False,
        )


@pytest.mark.parametrize("path", GOLDEN)
def test_golden_files_validate_strictly(path, validate):
    if not (REPO / path).is_file():
        pytest.fail(f"{path} does not exist. Write it with: {REGENERATE}", pytrace=False)
    for doc in yaml.safe_load_all((REPO / path).read_text()):
        validate(doc)
