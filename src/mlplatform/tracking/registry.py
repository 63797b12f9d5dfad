"""The MLflow model registry: register (idempotently), look up, list, and set aliases.

A version is identified for idempotency by the tag ``mlplatform.model_digest``: registering
the same bytes twice returns the existing version. Aliases (``champion``, ``challenger``) are
how serving and deployment name a version; audited moves of an alias live in ``promotion``.
Every MLflow exception is turned into a ``RegistryError`` here, at the boundary.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from mlplatform.errors import RegistryError
from mlplatform.tracking._mlflow import (
    client_for,
    ensure_experiment,
    existing_client,
    is_already_exists,
    is_not_found,
    quoted,
    registry_errors,
    to_datetime,
    using_tracking_uri,
)
from mlplatform.tracking._model_format import (
    SerializationFormat,
    pinned_requirements,
    trusted_types,
)

__all__ = [
    "DIGEST_TAG",
    "ModelSummary",
    "RegisteredVersion",
    "VersionInfo",
    "champion",
    "get_version",
    "list_models",
    "list_versions",
    "register_model",
    "set_alias",
]

DIGEST_TAG = "mlplatform.model_digest"
_SIGNATURE_ROWS = 1000


@dataclass(frozen=True)
class RegisteredVersion:
    """The outcome of ``register_model``; ``created`` is False when the digest was known."""

    name: str
    version: int
    created: bool
    run_id: str | None


@dataclass(frozen=True)
class VersionInfo:
    """One model version as the CLI and the pipeline steps see it.

    ``metrics`` are the latest metric values of the run that logged the version.
    """

    name: str
    version: int
    aliases: tuple[str, ...]
    tags: dict[str, str]
    run_id: str | None
    metrics: dict[str, float]
    created: datetime | None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``, loadable by ``mlflow.pyfunc.load_model``."""
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class ModelSummary:
    """One registered model: its latest version and where its aliases point."""

    name: str
    latest_version: int | None
    aliases: dict[str, int] = field(default_factory=dict)
    updated: datetime | None = None
    description: str = ""


def register_model(
    model: Any,
    name: str,
    *,
    tracking_uri: str,
    run_id: str | None = None,
    signature_input: pd.DataFrame,
    tags: Mapping[str, str],
    pip_requirements: list[str] | None = None,
    model_digest: str,
    metrics: Mapping[str, float] | None = None,
    serialization_format: SerializationFormat = "skops",
    experiment: str = "model-registry",
    extra_trusted_types: Sequence[str] = (),
) -> RegisteredVersion:
    """Log ``model`` into an MLflow run and register it as a new version of ``name``.

    Idempotent: if a version of ``name`` already carries ``mlplatform.model_digest ==
    model_digest`` it is returned (``created=False``) and nothing is logged.

    Args:
        model: a fitted scikit-learn estimator or pipeline.
        name: registered model name.
        tracking_uri: MLflow tracking (and registry) URI.
        run_id: the run to log into (e.g. the step's nested run); it is not ended. ``None``
            creates a finished run in ``experiment``.
        signature_input: feature rows (no target) for the signature and the input example.
        tags: lineage tags for the version (``mlplatform.pipeline``, ``.data_digest``...).
        pip_requirements: pinned requirements; by default the installed versions of MLflow,
            scikit-learn, NumPy, pandas, SciPy and the serializer (never inferred: too slow).
        model_digest: content digest of the model, the idempotency key.
        metrics: evaluation metrics to log into the run (``VersionInfo.metrics`` reads them).
        serialization_format: ``skops`` (default, see ``_model_format``) or ``cloudpickle``
            (the model server refuses to load it unless ``[serving] allow_pickle_models``).
        experiment: experiment of the run created when ``run_id`` is ``None``.
        extra_trusted_types: exact type names skops may hold beyond the platform's list
            (the ``trusted_types`` setting; the model server must trust them too).

    Raises:
        RegistryError: MLflow refused an operation, or the model cannot be serialized.
    """
    client = client_for(tracking_uri)
    existing = _find_by_digest(client, name, model_digest)
    if existing is not None:
        return RegisteredVersion(name, int(existing.version), False, existing.run_id)
    trusted = trusted_types(model, extra_trusted_types) if serialization_format == "skops" else None
    requirements = pip_requirements or pinned_requirements(serialization_format)
    with registry_errors(f"cannot register model {name!r}"):
        own_run = run_id is None
        if run_id is None:
            exp_id = ensure_experiment(client, experiment, tracking_uri)
            run_id = client.create_run(exp_id, run_name=f"register-{name}").info.run_id
        status = "FAILED"
        try:
            info = _log_model(
                model,
                tracking_uri,
                run_id,
                signature_input,
                requirements,
                serialization_format,
                trusted,
            )
            if metrics:
                now = int(time.time() * 1000)
                logged = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
                client.log_batch(run_id, metrics=logged)
            with using_tracking_uri(tracking_uri):  # the SQL store resolves models:/ globally
                digest_tags = {**tags, DIGEST_TAG: model_digest}
                version = _create_version(client, name, info, run_id, digest_tags)
            status = "FINISHED"
        finally:
            if own_run:
                client.set_terminated(run_id, status)
    return RegisteredVersion(name, version, True, run_id)


def get_version(name: str, alias_or_version: str | int, *, tracking_uri: str) -> VersionInfo:
    """A version by number (``3``, ``"3"``) or by alias (``"champion"``).

    Raises:
        RegistryError: unknown model, version or alias.
    """
    client = model_client(tracking_uri, name)
    return version_info(client, resolve_version(client, name, alias_or_version))


def champion(name: str, *, tracking_uri: str) -> VersionInfo | None:
    """The version holding the ``champion`` alias, or ``None`` (no model or no champion yet)."""
    client = existing_client(tracking_uri)
    if client is None:
        return None
    try:
        found = client.get_model_version_by_alias(name, "champion")
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise RegistryError(f"cannot read the champion of {name!r}: {exc.message}") from exc
    return version_info(client, found)


def set_alias(name: str, alias: str, version: str | int, *, tracking_uri: str) -> VersionInfo:
    """Point ``alias`` at ``version`` without an audit record (use ``promote`` for that).

    Raises:
        RegistryError: unknown model or version, or an invalid alias name.
    """
    client = model_client(tracking_uri, name)
    target = resolve_version(client, name, version)
    with registry_errors(f"cannot set alias {alias!r} on {name!r} version {version}"):
        client.set_registered_model_alias(name, alias, str(target.version))
    return version_info(client, resolve_version(client, name, version))


def list_models(tracking_uri: str) -> list[ModelSummary]:
    """Every registered model, by name (none in a store not created yet)."""
    client = existing_client(tracking_uri)
    if client is None:
        return []
    models: list[ModelSummary] = []
    token: str | None = None
    with registry_errors("cannot list registered models"):
        while True:
            page = client.search_registered_models(max_results=1000, page_token=token)
            models.extend(_summary(m) for m in page)
            token = page.token
            if not token:
                break
    return sorted(models, key=lambda m: m.name)


def list_versions(name: str, *, tracking_uri: str) -> list[VersionInfo]:
    """Every version of ``name``, newest first.

    Raises:
        RegistryError: unknown model.
    """
    client = model_client(tracking_uri, name)
    model = require_model(client, name)
    with registry_errors(f"cannot list the versions of {name!r}"):
        found = client.search_model_versions(f"name = {quoted(name)}", max_results=10000)
    # Search results carry no aliases (SQL store); the registered model has them all.
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    ordered = sorted(found, key=lambda v: int(v.version), reverse=True)
    return [version_info(client, v, aliases.get(str(v.version), [])) for v in ordered]


# ---- helpers shared with promotion ------------------------------------------------------
def model_client(tracking_uri: str, name: str) -> MlflowClient:
    """A client for a store that may hold ``name``: one not created yet holds no model, so
    that is a ``RegistryError`` (and the store stays uncreated)."""
    client = existing_client(tracking_uri)
    if client is None:
        raise _no_model(name)
    return client


def require_model(client: MlflowClient, name: str) -> RegisteredModel:
    """The registered model ``name``; a ``RegistryError`` that says so if there is none."""
    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if is_not_found(exc):
            raise _no_model(name) from exc
        raise RegistryError(f"cannot read registered model {name!r}: {exc.message}") from exc


def resolve_version(client: MlflowClient, name: str, ref: str | int) -> ModelVersion:
    """A version of ``name`` by number or alias; ``RegistryError`` if either is unknown."""
    require_model(client, name)
    text = str(ref)
    try:
        if text.isdigit():
            return client.get_model_version(name, text)
        return client.get_model_version_by_alias(name, text)
    except MlflowException as exc:
        what = f"version {text}" if text.isdigit() else f"alias {text!r}"
        if is_not_found(exc):
            raise RegistryError(
                f"model {name!r} has no {what}",
                f"Run `mlp models show {name}` to see its versions and aliases.",
            ) from exc
        raise RegistryError(f"cannot read {what} of {name!r}: {exc.message}") from exc


def version_info(
    client: MlflowClient, found: ModelVersion, aliases: list[str] | None = None
) -> VersionInfo:
    """A ``VersionInfo`` with the metrics of the version's run (empty if the run is gone).

    ``aliases`` replaces the version's own list where MLflow does not fill it in.
    """
    metrics: dict[str, float] = {}
    if found.run_id:
        try:
            metrics = dict(client.get_run(found.run_id).data.metrics)
        except MlflowException as exc:
            if not is_not_found(exc):
                raise RegistryError(f"cannot read run {found.run_id}: {exc.message}") from exc
    return VersionInfo(
        name=found.name,
        version=int(found.version),
        aliases=tuple(sorted((found.aliases or ()) if aliases is None else aliases)),
        tags=dict(found.tags or {}),
        run_id=found.run_id or None,
        metrics=metrics,
        created=to_datetime(found.creation_timestamp),
    )


# ---- internals ---------------------------------------------------------------------------
def _no_model(name: str) -> RegistryError:
    return RegistryError(f"there is no registered model named {name!r}")


def _find_by_digest(client: MlflowClient, name: str, digest: str) -> ModelVersion | None:
    query = f"name = {quoted(name)} and tags.`{DIGEST_TAG}` = {quoted(digest)}"
    with registry_errors(f"cannot search the versions of {name!r}"):
        found = client.search_model_versions(query, max_results=10)
    return min(found, key=lambda v: int(v.version)) if found else None


def _log_model(
    model: Any,
    tracking_uri: str,
    run_id: str,
    features: pd.DataFrame,
    requirements: list[str],
    serialization_format: SerializationFormat,
    trusted: list[str] | None,
) -> Any:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    sample = features.head(_SIGNATURE_ROWS)
    signature = infer_signature(sample, model.predict(sample))
    # The logged model is created in the run's experiment and passed by id, so no run is made
    # active: the step's run is neither ended here nor mixed up with another thread's run.
    client = client_for(tracking_uri)
    experiment_id = client.get_run(run_id).info.experiment_id
    logged = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    with using_tracking_uri(tracking_uri):
        return mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=features.head(5),
            pip_requirements=requirements,
            serialization_format=serialization_format,
            skops_trusted_types=trusted,
            model_id=logged.model_id,
            run_id=run_id,
        )


def _create_version(
    client: MlflowClient, name: str, info: Any, run_id: str, tags: Mapping[str, str]
) -> int:
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if not is_already_exists(exc):
            raise
    created = client.create_model_version(
        name,
        source=info.model_uri,
        run_id=run_id,
        tags={k: str(v) for k, v in tags.items()},
        model_id=info.model_id,
    )
    return int(created.version)


def _summary(model: RegisteredModel) -> ModelSummary:
    latest = [int(v.version) for v in (model.latest_versions or [])]
    return ModelSummary(
        name=model.name,
        latest_version=max(latest) if latest else None,
        aliases={alias: int(v) for alias, v in (model.aliases or {}).items()},
        updated=to_datetime(model.last_updated_timestamp),
        description=model.description or "",
    )
