"""The ``register`` step: put the model in the MLflow registry with lineage, then set aliases.

Registration is idempotent by the model's digest (the digest of the ``model`` artifact in a
pipeline run, else a hash of its pickle), so re-running a pipeline does not add versions.
Aliases follow the quality gate:

- gate failed: the version is registered (for the record) but gets no alias at all, so
  neither ``champion`` nor a ``challenger`` canary can ever serve it;
- gate passed: ``challenger`` moves to it; with ``promote=True`` it also becomes
  ``champion`` when there is none yet, or when its accuracy beats the current champion's
  (read again from the registry now, not from the possibly cached evaluation).

The drift reference profile of the train split's features is saved beside the model: an
artifact ``drift/reference_profile.npz`` of the version's run, named by the version tag
``mlplatform.drift_profile``; ``load_reference_profile`` reads it back for the monitor.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sklearn.pipeline import Pipeline

from mlplatform.artifacts.signing import CACHE_KEY_ENV
from mlplatform.drift.profile import ReferenceProfile, build_profile, load_profile, save_profile
from mlplatform.errors import ConfigError, DataValidationError, ProfileError
from mlplatform.governance.pipeline_env import StepGovernance, from_environ
from mlplatform.governance.rules import AUTHOR_TAG, GATE_PASSED, GATE_TAG, OWNER_TAG
from mlplatform.grammar import parse_model_name
from mlplatform.pipelines.context import StepContext, current_step
from mlplatform.pipelines.dsl import step

if TYPE_CHECKING:
    from mlplatform.governance.operations import AuditLog

__all__ = [
    "PROFILE_TAG",
    "lineage_tags",
    "load_reference_profile",
    "model_digest",
    "register",
    "save_reference_profile",
]

PROFILE_TAG = "mlplatform.drift_profile"
_PROFILE_DIR, _PROFILE_FILE = "drift", "reference_profile.npz"


@step(env=("MLFLOW_TRACKING_URI",))
def register(
    model: Pipeline,
    evaluation: dict[str, Any],
    train: pd.DataFrame,
    target: str = "target",
    model_name: str = "standard-model",
    promote: bool = True,
) -> dict[str, Any]:
    """Register ``model`` as a version of ``model_name`` and move its aliases.

    Args:
        model: the fitted pipeline.
        evaluation: the ``evaluate`` step's result (``metrics`` and ``gate`` are read).
        train: the train split; its features give the signature and input example.
        target: the label column, dropped from ``train``.
        model_name: registered model name.
        promote: allow promotion to ``champion`` (``challenger`` is set when the gate passes).

    Returns:
        ``name``, ``version``, ``created`` (False if this model was registered before),
        ``aliases`` of the version, ``promoted`` and ``reason``; plain JSON values.

    Raises:
        ConfigError: ``MLFLOW_TRACKING_URI`` is not set.
        DataValidationError: ``target`` is not a column of ``train``.
        ModelReferenceError: ``model_name`` breaks the name rule (``mlplatform.grammar``).
        RegistryError: MLflow refused the registration.
    """
    from mlplatform.governance.operations import record_registration  # MLflow: when used
    from mlplatform.tracking import registry  # imports MLflow (~1 s): only when used

    parse_model_name(model_name)  # the one name rule: it becomes a store key
    tracking_uri = _tracking_uri()
    if target not in train.columns:
        raise DataValidationError(
            f"target column {target!r} is not in the train split",
            f"Pass -p target=<one of: {', '.join(map(str, train.columns))}>.",
        )
    ctx = current_step()
    gate = evaluation.get("gate", {})
    gov = from_environ()
    registered = registry.register_model(
        model,
        model_name,
        tracking_uri=tracking_uri,
        run_id=ctx.tracking_run_id if ctx else None,
        signature_input=train.drop(columns=[target]),
        tags={**lineage_tags(ctx, train), **_governance_tags(gov, gate)},
        model_digest=model_digest(model, ctx),
        metrics=evaluation.get("metrics") or {},
    )
    log = _audit_log(ctx)
    semver = record_registration(
        model_name,
        registered.version,
        created=registered.created,
        tracking_uri=tracking_uri,
        actor=gov.user,
        log=log,
    )
    features = train.drop(columns=[target])
    save_reference_profile(model_name, registered.version, features, tracking_uri=tracking_uri)
    moves = _AliasMoves(model_name, registered.version, gov, log, ctx, tracking_uri)
    promoted, reason = moves.run(evaluation, promote)
    info = registry.get_version(model_name, registered.version, tracking_uri=tracking_uri)
    return {
        "name": model_name,
        "version": registered.version,
        "semver": semver,
        "created": registered.created,
        "aliases": list(info.aliases),
        "promoted": promoted,
        "reason": reason,
        "uri": info.uri,
    }


def save_reference_profile(
    name: str, version: int, features: pd.DataFrame, *, tracking_uri: str
) -> str | None:
    """Profile ``features`` for drift checks and log it beside the model version.

    Idempotent: a version that already has a profile keeps it. Returns the profile's
    ``runs:/`` URI (``None`` when the version has no run to log into).
    """
    from mlplatform.tracking import get_version
    from mlplatform.tracking._mlflow import client_for, registry_errors

    info = get_version(name, version, tracking_uri=tracking_uri)
    if info.tags.get(PROFILE_TAG) or info.run_id is None:
        return info.tags.get(PROFILE_TAG)
    source = f"models:/{name}/{version} (train split)"
    profile = build_profile(features, source=source, on_unsupported="skip")
    uri = f"runs:/{info.run_id}/{_PROFILE_DIR}/{_PROFILE_FILE}"
    with tempfile.TemporaryDirectory() as tmp, registry_errors("cannot save the drift profile"):
        path = save_profile(profile, Path(tmp) / _PROFILE_FILE)
        client = client_for(tracking_uri)
        client.log_artifact(info.run_id, str(path), artifact_path=_PROFILE_DIR)
        client.set_model_version_tag(name, str(version), PROFILE_TAG, uri)
    return uri


def load_reference_profile(
    name: str, version_or_alias: str | int, *, tracking_uri: str
) -> ReferenceProfile:
    """The drift reference profile saved beside a model version (by number or alias).

    Raises:
        RegistryError: unknown model, version or alias.
        ProfileError: the version has no profile, or it cannot be read.
    """
    import mlflow.artifacts

    from mlplatform.tracking import get_version
    from mlplatform.tracking._mlflow import registry_errors

    info = get_version(name, version_or_alias, tracking_uri=tracking_uri)
    uri = info.tags.get(PROFILE_TAG)
    if not uri:
        raise ProfileError(
            f"model {name!r} version {info.version} has no drift reference profile",
            "Register it with the standard pipeline's register step (which saves one), or "
            "pass a profile file: mlp drift profile TRAIN_DATA -o ref.npz.",
        )
    with tempfile.TemporaryDirectory() as tmp, registry_errors("cannot fetch the drift profile"):
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri
        )
        return load_profile(local)


def model_digest(model: object, ctx: StepContext | None) -> str:
    """The ``model`` input artifact's digest in a pipeline run, else a hash of the pickle."""
    ref = ctx.inputs.get("model") if ctx else None
    if ref and ref.get("digest"):
        return str(ref["digest"])
    return "sha256:" + hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()


def lineage_tags(ctx: StepContext | None, train: pd.DataFrame) -> dict[str, str]:
    """Tags that tie a version to the pipeline run, cache keys, data and commit behind it."""
    ref = ctx.inputs.get("train") if ctx else None
    if ref and ref.get("digest"):
        data_digest = str(ref["digest"])
    else:
        hashed = pd.util.hash_pandas_object(train, index=True).to_numpy().tobytes()
        data_digest = "sha256:" + hashlib.sha256(hashed).hexdigest()
    tags = {"mlplatform.data_digest": data_digest}
    if ctx is not None:
        tags["mlplatform.pipeline"] = ctx.pipeline
        tags["mlplatform.pipeline_run_id"] = ctx.run_id
        tags["mlplatform.cache_keys"] = json.dumps(dict(ctx.cache_keys), sort_keys=True)
        if ctx.git_commit:
            tags["mlplatform.git_commit"] = ctx.git_commit
    return tags


@dataclass(frozen=True)
class _AliasMoves:
    """The alias moves of one registration, each checked by the governance rules and
    recorded in the audit log (when the run has one)."""

    name: str
    version: int
    gov: StepGovernance
    log: AuditLog | None
    ctx: StepContext | None
    tracking_uri: str

    def run(self, evaluation: dict[str, Any], promote: bool) -> tuple[bool, str]:
        gate = evaluation.get("gate", {})
        if not gate.get("passed", False):
            failures = "; ".join(gate.get("failures", [])) or "no gate result"
            return False, f"quality gate failed ({failures}); no alias set"
        if "challenger" not in self.gov.production_aliases:
            self._move("challenger", "gate passed")
        if not promote:
            return False, "gate passed; promotion disabled (promote=False)"
        if "champion" in self.gov.production_aliases:
            return False, (
                f"gate passed; champion is tied to production in this project: approve "
                f"v{self.version} (`mlp models approve {self.name} {self.version} --ticket "
                f"TICKET`, by someone else) and promote it (`mlp models promote "
                f"{self.name}/{self.version} --stage production`)"
            )
        better, reason = _compare(self.version, evaluation, self.name, self.tracking_uri)
        if better:
            self._move("champion", reason)
        return better, reason

    def _move(self, alias: str, reason: str) -> None:
        from mlplatform.governance.operations import move_alias

        run = f"pipeline {self.ctx.pipeline} run {self.ctx.run_id}: " if self.ctx else ""
        move_alias(
            self.name,
            alias,
            self.version,
            tracking_uri=self.tracking_uri,
            actor=self.gov.user,
            reason=run + reason,
            log=self.log,
        )


def _compare(
    version: int, evaluation: dict[str, Any], model_name: str, tracking_uri: str
) -> tuple[bool, str]:
    """Whether the version should become champion, and why (or why not)."""
    from mlplatform.tracking import registry

    current = registry.champion(model_name, tracking_uri=tracking_uri)
    accuracy = float(evaluation.get("metrics", {}).get("accuracy", float("nan")))
    if current is None:
        return True, f"gate passed; first champion (accuracy {accuracy:.4f})"
    if current.version == version:
        return False, f"gate passed; v{version} is already the champion"
    best = current.metrics.get("accuracy")
    if best is None:
        return False, f"gate passed; champion v{current.version} has no accuracy to compare"
    if not accuracy > best:
        return False, (
            f"gate passed; accuracy {accuracy:.4f} does not beat champion "
            f"v{current.version} {best:.4f}; kept as challenger"
        )
    return True, f"gate passed; accuracy {accuracy:.4f} > champion v{current.version} {best:.4f}"


def _governance_tags(gov: StepGovernance, gate: dict[str, Any]) -> dict[str, str]:
    """What the governance rules read on a new version: owner, author, evaluation gate."""
    return {
        OWNER_TAG: gov.owner,
        AUTHOR_TAG: gov.user,
        GATE_TAG: GATE_PASSED if gate.get("passed") else "failed",
    }


def _audit_log(ctx: StepContext | None) -> AuditLog | None:
    """The audit log of the run's artifact store, signed with the platform key; None outside
    a pipeline run or without a key (nothing is recorded then)."""
    from mlplatform.governance.operations import AuditLog

    key = os.environ.get(CACHE_KEY_ENV)
    if ctx is None or ctx.store_root is None or not key:
        return None
    return AuditLog(ctx.store_root, dict(ctx.storage_options), key)


def _tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ConfigError(
            "the register step needs MLFLOW_TRACKING_URI",
            "Run it through `mlp pipeline run` (which sets it), or set MLFLOW_TRACKING_URI.",
        )
    return uri
