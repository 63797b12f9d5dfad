"""Fixtures of the LLM deploy tests: strict CRD schema validation (KServe v0.20, Prometheus
Operator), through ``scripts/validate-manifests.py`` as every committed manifest is checked.

The schemas come from ``MLPLATFORM_CRD_SCHEMAS`` or the vendored infrastructure/schemas/crd;
without them these tests fail rather than skip.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
Validate = Callable[[Mapping[str, Any]], None]


@pytest.fixture(scope="session")
def validate() -> Validate:
    """``validate(doc)`` asserts that ``doc`` passes its kind's strict schema."""
    raw = os.environ.get("MLPLATFORM_CRD_SCHEMAS")
    folder = Path(raw) if raw else REPO / "infrastructure" / "schemas" / "crd"
    if not (folder / "serving.kserve.io" / "llminferenceservice_v1alpha2.json").is_file():
        pytest.fail(
            f"no KServe v0.20 LLMInferenceService schema under {folder}: MLPLATFORM_CRD_SCHEMAS "
            "must name a folder laid out like infrastructure/schemas/crd (unset it to use that).",
            pytrace=False,
        )
    path = REPO / "scripts" / "validate-manifests.py"
    spec = importlib.util.spec_from_file_location("validate_manifests", path)
    assert spec
    assert spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    def check(doc: Mapping[str, Any]) -> None:
        errors = list(script.schema_errors(dict(doc)))
        assert not errors, f"{doc['kind']}: " + "\n".join(errors[:20])

    return check
