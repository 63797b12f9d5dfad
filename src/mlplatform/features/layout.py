"""Where one project's feature store lives, per profile: Feast's configuration as data.

=========  ==========================================  ====================  ==================
profile    offline store (Parquet, dask)               online store          registry
=========  ==========================================  ====================  ==================
local      ``<artifact store>/features/``              SQLite under home     file under home
team       ``s3://<bucket>/artifacts/features/``       team PostgreSQL       SQL, team PostgreSQL
=========  ==========================================  ====================  ==================

The cluster profiles are configured by the platform's ``FeatureStore`` resource
(docs/features.md), not from here.

A layout is pure data: ``feast_config`` is the dict Feast's ``RepoConfig`` takes (secrets as
``${VARIABLE}`` references, which Feast expands from the environment when it reads a
``feature_store.yaml``), ``environ`` holds their values and the object store's credentials,
for a process that runs Feast (a pipeline step, ``feast serve``).

Paths of ``FileSource`` definitions that are relative (``path="activity.parquet"``) are
relative to the offline root: the same definitions serve every profile
(``mlplatform.features.repo``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplatform.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "POSTGRES_PASSWORD_ENV",
    "FeatureStoreLayout",
    "local_layout",
    "team_layout",
]

CONFIG_ENV = "MLPLATFORM_FEATURE_STORE"  # a step's path to the generated feature_store.yaml
POSTGRES_PASSWORD_ENV = "MLPLATFORM_FEATURES_POSTGRES_PASSWORD"
_PROJECT = re.compile(r"^[A-Za-z0-9_]+$")  # Feast: letters, digits and underscores


@dataclass(frozen=True)
class FeatureStoreLayout:
    """One project's feature store: definitions folder, offline root, online store, registry.

    Attributes:
        project: the Feast project name.
        repo: the folder of feature definitions (entities, sources, views, services).
        offline_root: URL or path of the offline store's Parquet files.
        storage_options: fsspec options that reach ``offline_root`` (endpoint and keys).
        online_store: Feast's ``online_store`` block.
        registry: Feast's ``registry`` block.
        state_dir: where the generated ``feature_store.yaml`` is written.
        environ: variables the ``${...}`` references and the object store need.
    """

    project: str
    repo: Path
    offline_root: str
    storage_options: dict[str, Any]
    online_store: dict[str, Any]
    registry: dict[str, Any]
    state_dir: Path
    environ: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _PROJECT.match(self.project):
            raise ConfigError(
                f"feature store project {self.project!r} is not a valid Feast project name",
                "Use letters, digits and underscores only, e.g. "
                "MLPLATFORM_FEATURES__PROJECT=churn (or [features] project in mlplatform.toml).",
            )

    @property
    def s3_endpoint(self) -> str | None:
        """The S3 endpoint of a non-AWS store (SeaweedFS in ``mlp up``), else None."""
        if not self.offline_root.startswith("s3://"):
            return None
        endpoint = self.storage_options.get("endpoint_url")
        return str(endpoint) if endpoint else None

    @property
    def config_file(self) -> Path:
        return self.state_dir / "feature_store.yaml"

    def feast_config(self) -> dict[str, Any]:
        """The ``feature_store.yaml`` content (secrets as ``${VARIABLE}`` references)."""
        return {
            "project": self.project,
            "provider": "local",
            "registry": dict(self.registry),
            "online_store": dict(self.online_store),
            "offline_store": {"type": "dask"},
            "entity_key_serialization_version": 3,
        }

    def resolved_config(self) -> dict[str, Any]:
        """``feast_config`` with the ``${VARIABLE}`` references replaced by their values."""
        expanded: dict[str, Any] = _expand(self.feast_config(), self.environ)
        return expanded

    def source_path(self, relative: str) -> str:
        """The offline store URL of a source's relative path."""
        return f"{self.offline_root.rstrip('/')}/{relative.lstrip('/')}"


def local_layout(*, project: str, repo: Path, artifact_root: str, home: Path) -> FeatureStoreLayout:
    """The local profile: Parquet in the artifact store, SQLite and a file registry in home."""
    state = home / "features"
    return FeatureStoreLayout(
        project=project,
        repo=repo,
        offline_root=f"{artifact_root.rstrip('/')}/features",
        storage_options={},
        online_store={"type": "sqlite", "path": str(state / "online.db")},
        registry={
            "registry_type": "file",
            "path": str(state / "registry.db"),
            "cache_ttl_seconds": 60,
        },
        state_dir=state,
    )


def team_layout(
    *,
    project: str,
    repo: Path,
    artifact_root: str,
    storage_options: dict[str, Any],
    home: Path,
    postgres: tuple[str, int, str, str, str],
) -> FeatureStoreLayout:
    """The team profile (``mlp up``): Parquet on the S3 store, PostgreSQL online store and SQL
    registry; ``postgres`` is ``(host, port, database, user, password)``."""
    host, port, database, user, password = postgres
    ref = "${" + POSTGRES_PASSWORD_ENV + "}"
    environ = {POSTGRES_PASSWORD_ENV: password}
    if "key" in storage_options:  # s3fs keys -> the AWS variables pyarrow's S3 reader uses
        environ.update(
            AWS_ACCESS_KEY_ID=str(storage_options["key"]),
            AWS_SECRET_ACCESS_KEY=str(storage_options["secret"]),
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
        )
    if storage_options.get("endpoint_url"):
        environ["AWS_ENDPOINT_URL"] = str(storage_options["endpoint_url"])
    return FeatureStoreLayout(
        project=project,
        repo=repo,
        offline_root=f"{artifact_root.rstrip('/')}/features",
        storage_options=dict(storage_options),
        online_store={
            "type": "postgres",
            "host": host,
            "port": port,
            "database": database,
            "db_schema": "public",
            "user": user,
            "password": ref,
            "sslmode": "disable",
        },
        registry={
            "registry_type": "sql",
            "path": f"postgresql+psycopg://{user}:{ref}@{host}:{port}/{database}",
            "cache_ttl_seconds": 60,
        },
        state_dir=home / "features",
        environ=environ,
    )


def _expand(value: Any, environ: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, secret in environ.items():
            value = value.replace("${" + name + "}", secret)
        return value
    if isinstance(value, dict):
        return {k: _expand(v, environ) for k, v in value.items()}
    return value
