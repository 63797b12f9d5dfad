"""Tracking and registry on MLflow.

- ``observer``: ``MlflowObserver``, a parent run per pipeline run and a nested run per step;
- ``registry``: register models idempotently, look versions up, list, set aliases;
- ``promotion``: audited ``promote`` and ``rollback`` of aliases;
- ``runs``: read pipeline runs back for the CLI.

Every function takes an explicit tracking URI; nothing here reads mlplatform settings.
MLflow errors surface as ``mlplatform.errors.RegistryError``.
"""

from __future__ import annotations

from mlplatform.tracking.observer import MlflowObserver
from mlplatform.tracking.promotion import AliasChange, alias_history, promote, rollback
from mlplatform.tracking.registry import (
    DIGEST_TAG,
    ModelSummary,
    RegisteredVersion,
    VersionInfo,
    champion,
    get_version,
    list_models,
    list_versions,
    register_model,
    set_alias,
)
from mlplatform.tracking.runs import RunDetail, RunSummary, get_run, list_runs

__all__ = [
    "DIGEST_TAG",
    "AliasChange",
    "MlflowObserver",
    "ModelSummary",
    "RegisteredVersion",
    "RunDetail",
    "RunSummary",
    "VersionInfo",
    "alias_history",
    "champion",
    "get_run",
    "get_version",
    "list_models",
    "list_runs",
    "list_versions",
    "promote",
    "register_model",
    "rollback",
    "set_alias",
]
