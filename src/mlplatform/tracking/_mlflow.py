"""The one place that touches MLflow's client plumbing: clients, experiments, errors, times.

Everything else in ``tracking`` goes through ``MlflowClient`` objects made here, with an
explicit tracking URI. Where MLflow reads the global tracking URI (logging a model, creating
a version from ``models:/``, the serving loader's download) the call runs under
``using_tracking_uri``, which sets it for that call only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    PERMISSION_DENIED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

from mlplatform.errors import RegistryError

__all__ = [
    "artifact_location_for",
    "client_for",
    "ensure_experiment",
    "existing_client",
    "is_already_exists",
    "is_not_found",
    "quoted",
    "registry_errors",
    "to_datetime",
    "using_tracking_uri",
]

_FLUENT_LOCK = threading.RLock()
_NOT_FOUND = (ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), ErrorCode.Name(PERMISSION_DENIED))
_EXISTS = (ErrorCode.Name(RESOURCE_ALREADY_EXISTS), "ALREADY_EXISTS")


def client_for(tracking_uri: str) -> MlflowClient:
    """A client bound to ``tracking_uri`` for tracking and the model registry alike."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def existing_client(tracking_uri: str) -> MlflowClient | None:
    """A client, or ``None`` when the store is an SQLite file that does not exist yet.

    A store not yet created is an empty registry. Read-only commands answer from that
    instead of opening it: MLflow would create the file, its folder and its tables (and log
    its migrations) for a command that only reads.
    """
    db_path = _sqlite_path(tracking_uri)
    if db_path is not None and not db_path.is_file():
        return None
    return client_for(tracking_uri)


def artifact_location_for(tracking_uri: str) -> str | None:
    """Where a new experiment keeps its artifacts when the URI is an embedded SQLite file.

    MLflow would otherwise use ``./mlruns`` relative to the current directory; next to the
    database (``<dir>/mlartifacts``) keeps one project's tracking data in one folder. For a
    server URI the server decides, so this returns ``None``.
    """
    db_path = _sqlite_path(tracking_uri)
    return None if db_path is None else (db_path.resolve().parent / "mlartifacts").as_uri()


def _sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(unquote(tracking_uri[len("sqlite:///") :].split("?", 1)[0]))


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The id of experiment ``name``, created (with a local artifact location) if missing."""
    with registry_errors(f"cannot open MLflow experiment {name!r}", _TRACKING_HINT):
        found = client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(client.create_experiment(name, artifact_location_for(tracking_uri)))
        except MlflowException as exc:
            again = client.get_experiment_by_name(name) if is_already_exists(exc) else None
            if again is None:
                raise
            return str(again.experiment_id)


@contextmanager
def using_tracking_uri(tracking_uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``tracking_uri`` for the block, then restore it.

    ``mlflow.set_tracking_uri`` also rewrites ``MLFLOW_TRACKING_URI`` in the environment, so
    both the module global and the variable are put back. A lock keeps threads apart.
    """
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _FLUENT_LOCK:
        old_global = tracking_utils._tracking_uri
        old_env = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(old_global)  # type: ignore[arg-type]  # None resets it
            if old_env is not None:
                os.environ["MLFLOW_TRACKING_URI"] = old_env


def is_not_found(exc: MlflowException) -> bool:
    """Whether MLflow says the entity does not exist.

    Not every store uses ``RESOURCE_DOES_NOT_EXIST`` (a missing alias is an invalid parameter
    in the SQL store), so the message is checked too. A server with basic auth answers a
    non-admin's question about a missing model with ``PERMISSION_DENIED`` (it will not say
    which names exist); to that caller the model is not there either.
    """
    code = exc.error_code
    return bool(code in _NOT_FOUND or "not found" in exc.message.lower())


def is_already_exists(exc: MlflowException) -> bool:
    """Whether MLflow refused to create something that exists."""
    return bool(exc.error_code in _EXISTS or "already exists" in exc.message.lower())


_TRACKING_HINT = (
    "Check the tracking URI (MLFLOW_TRACKING_URI or --tracking-uri) and that it is reachable."
)


@contextmanager
def registry_errors(headline: str, hint: str | None = None) -> Iterator[None]:
    """Turn any ``MlflowException`` raised in the block into a ``RegistryError``."""
    try:
        yield
    except MlflowException as exc:
        raise RegistryError(f"{headline}: {exc.message}", hint) from exc


def to_datetime(millis: int | None) -> datetime | None:
    """An MLflow timestamp (milliseconds since the epoch) as an aware UTC datetime."""
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def quoted(value: str) -> str:
    """A single-quoted literal for MLflow's search filter syntax."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
