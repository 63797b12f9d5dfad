"""The ``register`` step: put the model in the MLflow registry with lineage, then set aliases.

Registration is idempotent by the model's digest (the digest of the ``model`` artifact in a
pipeline run, else a hash of its pickle), so re-running a pipeline does not add versions.
Aliases follow the quality gate:

- gate failed: the version is registered (for the record) but gets no alias at all, so
  neither ``champion`` nor a ``challenger`` canary can ever serve it;
- gate passed: ``challenger`` moves to it; with ``promote=True`` it also becomes
  ``champion`` when there is none yet, or when the evaluation scored the current champion on
  the same test set and the model beat it on the ``compare`` metric by more than the margin
  (the registry is read again only to check that the champion scored is still the
  champion; a champion that was not comparable is never replaced automatically).

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
from mlplatform.components.features import model_columns
from mlplatform.drift.profile import (
    ReferenceProfile,
    build_model_profile,
    load_profile,
    save_profile,
)
from mlplatform.errors import ConfigError, DataValidationError, ProfileError
from mlplatform.features.training import SERVICE_TAG
from mlplatform.governance.pipeline_env import StepGovernance, from_environ
from mlplatform.governance.rules import AUTHOR_TAG, GATE_PASSED, GATE_TAG, OWNER_TAG
from mlplatform.grammar import parse_model_name
from mlplatform.pipelines.context import StepContext, current_step
from mlplatform.pipelines.dsl import step

if TYPE_CHECKING:
    from mlplatform.governance.operations import AuditLog

__all__ = [
    "PROFILE_TAG",
    "comparison_metrics",
    "comparison_tags",
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
    test: pd.DataFrame | None = None,
    source: str = "",
    feature_service: str = "",
) -> dict[str, Any]:
    """Register ``model`` as a version of ``model_name`` and move its aliases.

    Args:
        model: the fitted pipeline.
        evaluation: the ``evaluate`` step's result (``metrics`` and ``gate`` are read).
        train: the train split; the columns the model reads give the signature, the input
            example and the drift profile (ids and the label are left out).
        target: the label column.
        model_name: registered model name.
        promote: allow promotion to ``champion`` (``challenger`` is set when the gate passes).
        test: the holdout split; with it the version's model card
            (``components.model_card``) shows the evaluation plots and importances.
        source: the data source the model was trained from, named on the model card.
        feature_service: the feature store's service the train split came from
            (``historical_features``): tagged on the version (``SERVICE_TAG``) so the model
            server fetches those features online from the entity keys of a request.

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
    features = train[model_columns(model, train, target)]
    gov = from_environ()
    registered = registry.register_model(
        model,
        model_name,
        tracking_uri=tracking_uri,
        run_id=ctx.tracking_run_id if ctx else None,
        signature_input=features,
        tags={
            **lineage_tags(ctx, train),
            **_governance_tags(gov, gate),
            **comparison_tags(evaluation),
            **({SERVICE_TAG: feature_service} if feature_service else {}),
        },
        model_digest=model_digest(model, ctx),
        metrics=comparison_metrics(evaluation),
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
    save_reference_profile(
        model_name,
        registered.version,
        features,
        tracking_uri=tracking_uri,
        target=train[target],
        predictions=model.predict(features),
    )
    moves = _AliasMoves(model_name, registered.version, gov, log, ctx, tracking_uri)
    promoted, reason = moves.run(evaluation, promote)
    _log_card(model, model_name, registered.version, semver, evaluation, train, test, target,
              tracking_uri, reason, source)  # fmt: skip
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
    name: str,
    version: int,
    features: pd.DataFrame,
    *,
    tracking_uri: str,
    target: pd.Series | None = None,
    predictions: Any = None,
) -> str | None:
    """Profile ``features`` for drift checks and log it beside the model version; with
    ``target`` (the labels) and ``predictions`` (the model's on ``features``), those too
    (``mlplatform.drift.profile.build_model_profile``).

    Idempotent: a version that already has a profile keeps it. Returns the profile's
    ``runs:/`` URI (``None`` when the version has no run to log into).
    """
    from mlplatform.tracking import get_version
    from mlplatform.tracking._mlflow import client_for, registry_errors

    info = get_version(name, version, tracking_uri=tracking_uri)
    if info.tags.get(PROFILE_TAG) or info.run_id is None:
        return info.tags.get(PROFILE_TAG)
    source = f"models:/{name}/{version} (train split)"
    profile = build_model_profile(
        features, target=target, predictions=predictions, source=source, on_unsupported="skip"
    )
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
    """Whether the version should become champion, and why (or why not).

    The decision is the evaluation's: the champion scored on the challenger's test set
    (``components.champion``). The registry is read again only to check that the champion
    is still the one that was scored; if it moved since, nothing is promoted.
    """
    from mlplatform.tracking import registry

    current = registry.champion(model_name, tracking_uri=tracking_uri)
    compared = evaluation.get("champion")
    if current is None:
        metric = (compared or {}).get("metric") or _main_metric(evaluation)
        value = evaluation.get("metrics", {}).get(metric, float("nan"))
        return True, f"gate passed; first champion ({metric} {float(value):.4f})"
    if current.version == version:
        return False, f"gate passed; v{version} is already the champion"
    if not compared or compared.get("version") != current.version:
        scored = f"v{compared['version']}" if compared else "no champion"
        return False, (
            f"gate passed; the champion is v{current.version} but the evaluation compared "
            f"with {scored}: not comparable, kept as challenger (run the pipeline again to "
            "compare with the current champion)"
        )
    if not compared.get("comparable"):
        return False, f"gate passed; {compared.get('reason')}; no automatic promotion"
    if not compared.get("beats_champion"):
        return False, f"gate passed; {compared.get('reason')}: kept as challenger"
    return True, f"gate passed; {compared.get('reason')}"


def _log_card(
    model: Pipeline,
    name: str,
    version: int,
    semver: str,
    evaluation: dict[str, Any],
    train: pd.DataFrame,
    test: pd.DataFrame | None,
    target: str,
    tracking_uri: str,
    reason: str,
    source: str,
) -> None:
    """Build the version's model card and log it beside the model (once: a version that
    has a card keeps it)."""
    from mlplatform.components import model_card as card
    from mlplatform.tracking import get_version

    info = get_version(name, version, tracking_uri=tracking_uri)
    if info.tags.get(card.CARD_TAG) or info.run_id is None:
        return
    columns = model_columns(model, train, target)
    predictions = importances = None
    if test is not None and target in test.columns and len(test):
        predictions = card.Predictions.of(model, test[columns], test[target].tolist())
        importances = card.feature_importances(model, test[columns], test[target].tolist())
    compared = evaluation.get("champion")
    champion = None
    if compared:
        champion = card.ChampionComparison(
            version=compared.get("version"),
            metrics=dict(compared.get("champion_metrics") or {}),
            decision=_decision_word(compared),
            deciding_metric=str(compared.get("metric") or ""),
            margin=compared.get("margin"),
            reason=reason,
        )
    rows = {"train": len(train), **({"test": len(test)} if test is not None else {})}
    inputs = card.CardInputs(
        name=name,
        task=evaluation.get("task", "binary"),
        metrics=dict(evaluation.get("metrics") or {}),
        version=version,
        semver=semver,
        target=target,
        source=source,
        fingerprint=info.tags.get("mlplatform.data_digest", ""),
        rows=rows,
        schema=card.schema_of(train[columns]),
        predictions=predictions,
        importances=importances,
        champion=champion,
        lineage=card.Lineage.from_tags(info.tags, **_step_runs(tracking_uri, info.tags)),
    )
    card.log_card(name, version, card.build_card(inputs), tracking_uri)


def _step_runs(tracking_uri: str, tags: dict[str, str]) -> dict[str, Any]:
    """The MLflow run of each step of the pipeline run that registered the version, and the
    train step's code hash (its cache key's code component), for the card's lineage; empty
    outside a tracked pipeline run."""
    from mlplatform.tracking._mlflow import client_for, quoted

    run_id = tags.get("mlplatform.pipeline_run_id")
    if not run_id:
        return {}
    client = client_for(tracking_uri)
    found = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`mlplatform.run_id` = {quoted(run_id)}",
        max_results=100,
    )
    steps = {r.data.tags["mlplatform.node"]: r.info.run_id for r in found
             if "mlplatform.node" in r.data.tags}  # fmt: skip
    code = next((r.data.tags.get("mlplatform.key.code", "") for r in found
                 if r.data.tags.get("mlplatform.node") == "train"), "")  # fmt: skip
    return {"step_runs": dict(sorted(steps.items())), "code_hash": code}


def _decision_word(compared: dict[str, Any]) -> str:
    if not compared.get("comparable"):
        return "not comparable"
    return "beats the champion" if compared.get("beats_champion") else "kept as challenger"


def _main_metric(evaluation: dict[str, Any]) -> str:
    return "r2" if evaluation.get("task") == "regression" else "accuracy"


def comparison_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    """The evaluation's metrics and, beside them, the champion's on the same test set
    (``champion.<metric>``), for the version's run."""
    metrics = dict(evaluation.get("metrics") or {})
    compared = evaluation.get("champion") or {}
    theirs = compared.get("champion_metrics") or {}
    return {**metrics, **{f"champion.{k}": float(v) for k, v in theirs.items()}}


def comparison_tags(evaluation: dict[str, Any]) -> dict[str, str]:
    """The task and the champion comparison as version tags (``mlplatform.task``,
    ``mlplatform.compared_with``, ``mlplatform.comparison``)."""
    tags = {"mlplatform.task": str(evaluation.get("task", "binary"))}
    compared = evaluation.get("champion")
    if compared:
        tags["mlplatform.compared_with"] = f"v{compared['version']}"
        tags["mlplatform.comparison"] = str(compared.get("reason", ""))[:5000]
    return tags


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
