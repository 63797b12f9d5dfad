"""One typed settings object, read at the edge (the CLI) and passed down.

Precedence, highest first: command-line flags (passed as keyword arguments) > ``MLPLATFORM_*``
environment variables > the project file ``mlplatform.toml`` > defaults. Profiles choose the
defaults for where things live:

=========  ===========================================  ==============================
profile    tracking (MLflow)                            artifact store
=========  ===========================================  ==============================
local      ``sqlite:///<cwd>/.mlplatform/mlflow.db``    ``<cwd>/.mlplatform/artifacts``
team       the ``mlp up`` MLflow server on loopback     the ``mlp up`` S3 store
aws        in-cluster MLflow service                    must be set (``s3://bucket/...``)
azure      in-cluster MLflow service                    must be set (``abfs://...``)
gcp        in-cluster MLflow service                    must be set (``gs://bucket/...``)
=========  ===========================================  ==============================
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mlplatform import __version__
from mlplatform.errors import ConfigError

__all__ = ["PROJECT_FILE", "Profile", "Settings", "load_settings"]

Profile = Literal["local", "team", "aws", "azure", "gcp"]
PROJECT_FILE = "mlplatform.toml"
CLUSTER_MLFLOW = "http://mlflow.mlflow.svc.cluster.local:5000"
TEAM_MLFLOW = "http://127.0.0.1:15000"
TEAM_STORE = "s3://mlplatform/artifacts"


class Settings(BaseSettings):
    """Every setting of mlplatform. Read with ``load_settings()``; never from inside packages."""

    model_config = SettingsConfigDict(
        env_prefix="MLPLATFORM_", toml_file=PROJECT_FILE, extra="forbid", validate_default=True
    )

    profile: Profile = "local"
    home: Path = Field(Path(".mlplatform"), description="local state folder (local profile)")
    tracking_uri: str | None = Field(None, description="MLflow tracking URI (profile default)")
    artifact_store: str | None = Field(None, description="pipeline artifact store URL")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options")
    experiment: str = "mlplatform"
    workers: int = Field(2, ge=1, description="parallel steps in the local executor")
    lock_file: Path = Field(Path("requirements/lock.txt"), description="part of every cache key")
    pipelines: list[str] = Field(
        default_factory=list, description="pipeline modules or files this project defines"
    )
    user: str = Field(default_factory=getpass.getuser, description="recorded on promotions")
    owner: str = Field("mlplatform", description="owner label on workloads (team or person)")
    image: str = Field(f"ghcr.io/mlplatform/mlplatform:{__version__}", description="platform image")
    image_digest: str | None = Field(None, description="pins the image: sha256:...")
    argo_server: str = Field("https://localhost:2746", description="Argo server URL")
    argo_token: SecretStr | None = Field(None, description="Argo token (env only, never in a file)")
    argo_namespace: str = Field("argo", description="namespace workflows run in")
    argo_verify_tls: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    @property
    def home_dir(self) -> Path:
        return self.home.resolve()

    def resolved_tracking_uri(self) -> str:
        """The MLflow tracking URI for this profile (never the deprecated ./mlruns store)."""
        if self.tracking_uri:
            return self.tracking_uri
        if self.profile == "local":
            return f"sqlite:///{self.home_dir / 'mlflow.db'}"
        if self.profile == "team":
            return TEAM_MLFLOW
        return CLUSTER_MLFLOW

    def resolved_artifact_store(self) -> str:
        """The pipeline artifact store URL for this profile."""
        if self.artifact_store:
            return self.artifact_store
        if self.profile == "local":
            return str(self.home_dir / "artifacts")
        if self.profile == "team":
            return TEAM_STORE
        raise ConfigError(
            f"the {self.profile} profile needs an artifact store",
            "Set artifact_store in mlplatform.toml or MLPLATFORM_ARTIFACT_STORE "
            "(s3://bucket/prefix, abfs://container/prefix or gs://bucket/prefix).",
        )

    def mlflow_artifact_root(self) -> str:
        """Where MLflow stores run artifacts on the local profile."""
        return str(self.home_dir / "mlartifacts")


def load_settings(**flags: Any) -> Settings:
    """Settings from flags > environment > mlplatform.toml > defaults (``None`` flags ignored)."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            f"Fix the value in the flag, the MLPLATFORM_* variable or {PROJECT_FILE}.",
        ) from exc
