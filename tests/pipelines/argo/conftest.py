"""Fixtures of the Argo tests: strict schema validation, and the repository root as cwd.

The schemas are Argo Workflows v4.1.2's, made strict (``additionalProperties: false``); the
folder is the vendored ``infrastructure/schemas/crd`` unless ``MLPLATFORM_CRD_SCHEMAS`` names
another. Without them these tests fail rather than skip: an unvalidated compiler must not look
green.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ._compile import REPO
from ._schemas import schema_errors

Validate = Callable[[Mapping[str, Any]], None]


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The folder of strict CRD schemas; fails (never skips) when it is not configured."""
    raw = os.environ.get("MLPLATFORM_CRD_SCHEMAS") or str(REPO / "infrastructure/schemas/crd")
    folder = Path(raw)
    if not (folder / "argoproj.io" / "workflow_v1alpha1.json").is_file():
        pytest.fail(
            f"MLPLATFORM_CRD_SCHEMAS={raw} has no argoproj.io/workflow_v1alpha1.json: point it "
            "at a folder laid out like infrastructure/schemas/crd, or unset it to use that one.",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def validate(crd_schemas: Path) -> Validate:
    """``validate(doc)`` asserts that ``doc`` validates strictly against its kind's schema."""

    def check(doc: Mapping[str, Any]) -> None:
        errors = schema_errors(crd_schemas, doc)
        assert not errors, "\n".join(errors[:20])

    return check


@pytest.fixture(autouse=True)
def repo_cwd(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from the repository root: pipeline files get stable module names from their path
    relative to the working directory, and the lock file is found at requirements/lock.txt."""
    monkeypatch.chdir(REPO)
    return REPO


POD_CACHE_KEY = "argo-pod-" + "k" * 40


@pytest.fixture(autouse=True)
def pod_cache_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The cache signing key a pod gets from the ``mlplatform-cache-key`` Secret (the template
    references it; tests of pods run the launcher with the value the kubelet would set)."""
    monkeypatch.setenv("MLPLATFORM_CACHE_KEY", POD_CACHE_KEY)
    return POD_CACHE_KEY
