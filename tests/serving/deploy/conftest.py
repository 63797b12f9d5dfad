"""Fixtures of the deploy tests: strict CRD schemas, and a real MLflow registry on SQLite.

The schemas come from ``MLPLATFORM_CRD_SCHEMAS`` (the Makefile exports it); without them these
tests fail rather than skip, as the Argo and manifest tests do. Validation reuses
``scripts/validate-manifests.py``, the check every committed manifest goes through.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlplatform.governance.check import Approval

REPO = Path(__file__).resolve().parents[3]
MODEL = "churn-model"
Validate = Callable[[Mapping[str, Any]], None]


def load_script(path: Path, name: str) -> ModuleType:
    """A module from a file outside the import path (the validation script has a dash)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The strict CRD schema folder; fails (never skips) when it is not there."""
    raw = os.environ.get("MLPLATFORM_CRD_SCHEMAS")
    folder = Path(raw) if raw else REPO / "infrastructure" / "schemas" / "crd"
    if not (folder / "serving.kserve.io" / "inferenceservice_v1beta1.json").is_file():
        pytest.fail(
            f"no KServe v0.20 schemas at {folder}: MLPLATFORM_CRD_SCHEMAS must name a folder "
            "laid out like infrastructure/schemas/crd (unset it to use that one).",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def validate(crd_schemas: Path) -> Validate:
    """``validate(doc)`` asserts that ``doc`` passes its kind's strict schema."""
    script = load_script(REPO / "scripts" / "validate-manifests.py", "validate_manifests")

    def check(doc: Mapping[str, Any]) -> None:
        errors = list(script.schema_errors(dict(doc)))
        assert not errors, f"{doc['kind']}: " + "\n".join(errors[:20])

    return check


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tracking URI whose registry holds churn-model versions 1 and 2 (tiny, real sklearn
    models): champion -> 1 (promoted by ada), challenger -> 2, twin -> 1."""
    from mlplatform.tracking import promote, register_model, set_alias

    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()  # creates the tables
    x, y = load_iris(return_X_y=True, as_frame=True)
    for n, c in ((1, 1.0), (2, 0.5)):
        register_model(
            LogisticRegression(C=c, max_iter=200).fit(x, y),
            MODEL,
            tracking_uri=uri,
            signature_input=pd.DataFrame(x).head(20),
            tags={},
            model_digest=f"sha256:{n}",
        )
    promote(MODEL, "champion", 1, tracking_uri=uri, user="ada", reason="first")
    set_alias(MODEL, "challenger", 2, tracking_uri=uri)
    set_alias(MODEL, "twin", 1, tracking_uri=uri)
    return uri


APPROVED = Approval(1, "approved", "bob", "2026-08-01T10:00:00+00:00", "MLOPS-7", "eval ok")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the working directory (its audit log under .mlplatform)."""
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def governed(registry: str, project: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the registry in which version 1 (champion) is governed and approved by bob
    (author alice) and version 2 (challenger) is governed but not approved."""
    folder = tmp_path_factory.mktemp("governed")
    shutil.copy(registry.removeprefix("sqlite:///"), folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    for version in ("1", "2"):
        tags = {
            "mlplatform.semver": f"1.{version}.0",
            "mlplatform.owner": "churn-team",
            "mlplatform.author": "alice",
            "mlplatform.gate": "passed",
            **(APPROVED.tags() if version == "1" else {}),
        }
        for key, value in tags.items():
            client.set_model_version_tag(MODEL, version, key, value)
    return uri
