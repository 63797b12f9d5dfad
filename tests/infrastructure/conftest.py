"""Shared fixtures of the infrastructure tests (no cloud, no provider download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ._tree import REPO


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The strict CRD schema folder (MLPLATFORM_CRD_SCHEMAS); fails, never skips, without it."""
    raw = os.environ.get("MLPLATFORM_CRD_SCHEMAS") or str(REPO / "infrastructure/schemas/crd")
    folder = Path(raw)
    if not (folder / "karpenter.sh" / "nodepool_v1.json").is_file():
        pytest.fail(
            f"no strict CRD schemas at {folder}: MLPLATFORM_CRD_SCHEMAS must name a folder "
            "laid out like infrastructure/schemas/crd (unset it to use that one).",
            pytrace=False,
        )
    return folder
