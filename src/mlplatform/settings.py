"""One typed settings object, read at the edge (the CLI) and passed down.

Precedence, highest first: command-line flags (passed as keyword arguments) > ``MLPLATFORM_*``
environment variables > the project file ``mlplatform.toml`` > defaults. Secrets (every
``SecretStr`` field, such as ``argo_token``, and the credentials among ``storage_options``) are
read from the environment only: the project file is committed, so ``refuse_secrets`` refuses
them there, naming the variable to set (``MLPLATFORM_ARGO_TOKEN``,
``MLPLATFORM_STORAGE_OPTIONS__SECRET``). Profiles choose the defaults for where things live:

=========  ===========================================  ==============================
profile    tracking (MLflow)                            artifact store
=========  ===========================================  ==============================
local      ``sqlite:///<cwd>/.mlplatform/mlflow.db``    ``<cwd>/.mlplatform/artifacts``
team       the ``mlp up`` MLflow server on loopback     the ``mlp up`` S3 store (SeaweedFS)
aws        in-cluster MLflow service                    must be set (``s3://bucket/...``)
azure      in-cluster MLflow service                    must be set (``abfs://...``)
gcp        in-cluster MLflow service                    must be set (``gs://bucket/...``)
=========  ===========================================  ==============================
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mlplatform import __version__
from mlplatform.errors import ConfigError
from mlplatform.retention import (
    MAX_SAMPLE_RETENTION_DAYS,
    SAMPLE_FRACTION,
    SAMPLE_RETENTION_DAYS,
)

__all__ = [
    "PROJECT_FILE",
    "CostSettings",
    "DeploySettings",
    "DriftSettings",
    "FeaturesSettings",
    "Profile",
    "ServicesSettings",
    "ServingSettings",
    "Settings",
    "load_settings",
    "refuse_secrets",
]

Profile = Literal["local", "team", "aws", "azure", "gcp"]
PROJECT_FILE = "mlplatform.toml"
CLUSTER_MLFLOW = "http://mlflow.mlflow.svc.cluster.local:5000"
TEAM_HOST = "127.0.0.1"  # the team profile's services (`mlp up`) listen on loopback only


class DriftSettings(BaseModel):
    """Drift thresholds (``[drift]`` in mlplatform.toml; ``MLPLATFORM_DRIFT='{"alpha": 0.01}'``).

    The names are those of ``mlplatform.drift.DriftConfig`` (which documents them), plus
    ``bins`` for new profiles.
    """

    model_config = ConfigDict(extra="forbid")

    numeric_test: Literal["ks", "wasserstein", "psi", "js"] = "ks"
    categorical_test: Literal["chi2", "psi", "js"] = "chi2"
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    correction: Literal["none", "bonferroni", "bh"] = "none"
    psi_threshold: Annotated[float, Field(ge=0)] = 0.2
    js_threshold: Annotated[float, Field(ge=0)] = 0.1
    wasserstein_threshold: Annotated[float, Field(ge=0)] = 0.1
    drift_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    missing_share_threshold: Annotated[float, Field(ge=0, le=1)] = 0.05
    ks_method: Literal["asymp", "exact", "auto"] = "asymp"
    mode: Literal["native", "evidently"] = "native"
    bins: Annotated[int, Field(ge=2)] = 10


class ServicesSettings(BaseModel):
    """Loopback ports of the ``mlp up`` services (``[services]`` in mlplatform.toml, or
    ``MLPLATFORM_SERVICES__MLFLOW_PORT=15001``); none is the tool's own default port."""

    model_config = ConfigDict(extra="forbid")

    postgres_port: Annotated[int, Field(ge=1024, le=65535)] = 15432
    s3_port: Annotated[int, Field(ge=1024, le=65535)] = 18333  # SeaweedFS S3 API
    seaweedfs_base_port: Annotated[int, Field(ge=1024, le=65528)] = 19330  # base..base+6
    mlflow_port: Annotated[int, Field(ge=1024, le=65535)] = 15000
    prometheus_port: Annotated[int, Field(ge=1024, le=65535)] = 19090
    alertmanager_port: Annotated[int, Field(ge=1024, le=65535)] = 19093
    azurite_port: Annotated[int, Field(ge=1024, le=65535)] = 20000  # Azurite Blob
    gcs_port: Annotated[int, Field(ge=1024, le=65535)] = 14443  # fake-gcs-server
    audit_receiver_port: Annotated[int, Field(ge=1024, le=65535)] = 15010  # MLflow webhooks
    bucket: str = "mlplatform"  # bucket / container made in the object store
    users: list[str] = Field(  # the MLflow server's accounts (team identity, four eyes)
        default_factory=lambda: [getpass.getuser()], min_length=1
    )


class FeaturesSettings(BaseModel):
    """The project's feature store (``[features]``): where its Feast definitions live and the
    Feast project name; the stores come from the profile (``mlplatform.features.layout``)."""

    model_config = ConfigDict(extra="forbid")

    repo: Path = Path("features")  # the folder of Feast definitions, relative to the project
    project: str = "mlplatform"  # Feast project name: letters, digits, underscores


class ServingSettings(BaseModel):
    """The model server (``[serving]`` in mlplatform.toml; ``mlp serve`` flags override).

    Names match ``mlplatform.serving.ServerConfig``, which documents each one.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    max_batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    max_batch_wait_ms: Annotated[float, Field(ge=0, le=1000)] = 1.0
    max_queue: Annotated[int, Field(ge=1)] = 1024
    request_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    sample_fraction: Annotated[float, Field(ge=0, le=1)] = SAMPLE_FRACTION  # off: personal data
    sample_retention_days: Annotated[int, Field(ge=1, le=MAX_SAMPLE_RETENTION_DAYS)] = (
        SAMPLE_RETENTION_DAYS
    )
    sample_buffer_rows: Annotated[int, Field(ge=1)] = 50_000
    sample_flush_rows: Annotated[int, Field(ge=1)] = 10_000
    sample_flush_interval_s: Annotated[float, Field(gt=0)] = 60.0
    reload_interval_s: Annotated[float, Field(gt=0)] = 10.0
    sticky_header: str = "x-session-id"
    allow_pickle_models: bool = False  # pickle/cloudpickle models run code when loaded


class DeploySettings(BaseModel):
    """``mlp deploy model`` defaults (``[deploy]`` in mlplatform.toml): where and how an
    InferenceService runs. Flags override."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = "kserve"
    service_account: str = "kserve-storage"
    min_replicas: Annotated[int, Field(ge=0)] = 1
    max_replicas: Annotated[int, Field(ge=1)] = 5
    autoscaler: Literal["keda", "hpa"] = "hpa"
    cpu_request: str = "500m"
    cpu_limit: str = "2"
    memory_request: str = "1Gi"
    memory_limit: str = "2Gi"
    gateway_name: str = "platform"
    gateway_namespace: str = "mlplatform-system"
    hostname: str | None = None
    stage: Literal["development", "staging", "production"] = "staging"


class CostSettings(BaseModel):
    """Cost estimates (``[cost]`` in mlplatform.toml; ``mlp cost`` flags override): the price
    table's cloud and region (``mlplatform.cost.prices``; None: the profile's cloud, else aws,
    and the cloud's first region) and whether pipeline runs record their estimated cost."""

    model_config = ConfigDict(extra="forbid")

    cloud: Literal["aws", "azure", "gcp"] | None = None
    region: str | None = None
    record: bool = True


class Settings(BaseSettings):
    """Every setting of mlplatform. Read with ``load_settings()``; never from inside packages."""

    model_config = SettingsConfigDict(
        env_prefix="MLPLATFORM_",
        env_nested_delimiter="__",
        toml_file=PROJECT_FILE,
        extra="forbid",
        validate_default=True,
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
    production_aliases: list[str] = Field(
        default_factory=list,
        description='aliases tied to production beyond `production`, e.g. ["champion"]',
    )
    image: str = Field(f"ghcr.io/mlplatform/mlplatform:{__version__}", description="platform image")
    image_digest: str | None = Field(None, description="pins the image: sha256:...")
    argo_server: str = Field("https://localhost:2746", description="Argo server URL")
    argo_token: SecretStr | None = Field(None, description="Argo token (env only, never in a file)")
    argo_namespace: str = Field("argo", description="namespace workflows run in")
    argo_verify_tls: bool = True
    cache_key: SecretStr | None = Field(
        None, description="cache signing key (env MLPLATFORM_CACHE_KEY only, never in a file)"
    )
    trusted_types: list[str] = Field(
        default_factory=list, description="exact type names skops may load beyond the platform's"
    )
    drift: DriftSettings = Field(default_factory=lambda: DriftSettings(), description="drift")
    services: ServicesSettings = Field(
        default_factory=lambda: ServicesSettings(), description="`mlp up` ports (team profile)"
    )
    serving: ServingSettings = Field(
        default_factory=lambda: ServingSettings(), description="`mlp serve` model server"
    )
    features: FeaturesSettings = Field(
        default_factory=lambda: FeaturesSettings(), description="`mlp features` feature store"
    )
    deploy: DeploySettings = Field(
        default_factory=lambda: DeploySettings(), description="`mlp deploy model` defaults"
    )
    cost: CostSettings = Field(
        default_factory=lambda: CostSettings(), description="`mlp cost` price table"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        project_file = TomlConfigSettingsSource(settings_cls)
        refuse_secrets(settings_cls, project_file.toml_data)
        return init_settings, env_settings, project_file

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
            return f"http://{TEAM_HOST}:{self.services.mlflow_port}"
        return CLUSTER_MLFLOW

    def resolved_artifact_store(self) -> str:
        """The pipeline artifact store URL for this profile."""
        if self.artifact_store:
            return self.artifact_store
        if self.profile == "local":
            return str(self.home_dir / "artifacts")
        if self.profile == "team":
            return f"s3://{self.services.bucket}/artifacts"
        raise ConfigError(
            f"the {self.profile} profile needs an artifact store",
            "Set artifact_store in mlplatform.toml or MLPLATFORM_ARTIFACT_STORE "
            "(s3://bucket/prefix, abfs://container/prefix or gs://bucket/prefix).",
        )

    def resolved_storage_options(self) -> dict[str, Any]:
        """fsspec options of the artifact store: the given ones, else (team profile) the
        ``mlp up`` S3 endpoint with the keys that ``mlp up`` made
        (``<home>/services/credentials.json``, see ``mlplatform.services.credentials``).
        """
        if self.storage_options or self.profile != "team":
            return dict(self.storage_options)
        options: dict[str, Any] = {"endpoint_url": f"http://{TEAM_HOST}:{self.services.s3_port}"}
        credentials = self.home_dir / "services" / "credentials.json"
        if credentials.is_file():
            keys = json.loads(credentials.read_text())
            options.update(key=keys["s3_access_key"], secret=keys["s3_secret_key"])
        return options

    def mlflow_artifact_root(self) -> str:
        """Where MLflow stores run artifacts on the local profile."""
        return str(self.home_dir / "mlartifacts")


_SECRET_WORDS = ("secret", "password", "token")  # secret, client_secret, sas_token...
_SECRET_OPTIONS = {"key", "account_key", "access_key", "credential", "credentials",
                   "connection_string"}  # fmt: skip
_GCS_TOKEN_MODES = {"anon", "google_default", "cloud", "cache", "browser"}  # gcsfs: no secret


def refuse_secrets(settings_cls: type[BaseModel], data: dict[str, Any]) -> None:
    """Refuse a secret in the project file (a file people commit): every ``SecretStr``
    field of the settings, at any depth, and the credentials among ``storage_options``.

    Raises:
        ConfigError: naming the secret and the ``MLPLATFORM_*`` variable that takes it.
    """
    found = [p for p in _secret_fields(settings_cls) if _lookup(data, p) is not None]
    found += [("storage_options", *p) for p in _storage_secrets(data.get("storage_options"))]
    if found:
        path = found[0]
        env = "MLPLATFORM_" + "__".join(path).upper()
        raise ConfigError(
            f"{PROJECT_FILE} holds the secret {'.'.join(path)}, and secrets are read from "
            "the environment only (the project file is committed)",
            f"Remove {'.'.join(path)} from {PROJECT_FILE} and set it in the environment "
            f"instead: export {env}=...",
        )


def _secret_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of the secret fields of ``model`` and of the settings models inside it."""
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        kinds = _types_in(info.annotation)
        if any(issubclass(t, (SecretStr, SecretBytes)) for t in kinds):
            paths.append((*prefix, name))
        for sub in (t for t in kinds if issubclass(t, BaseModel)):
            paths += _secret_fields(sub, (*prefix, name))
    return paths


def _types_in(annotation: Any) -> list[type]:
    """The classes named in a type (``SecretStr | None`` -> SecretStr, NoneType)."""
    if isinstance(annotation, type) and not get_args(annotation):
        return [annotation]
    return [t for arg in get_args(annotation) for t in _types_in(arg)]


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = {str(k).lower(): v for k, v in data.items()}.get(part.lower())
    return data


def _storage_secrets(options: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The keys of fsspec options that hold credentials (``secret``, ``account_key``,
    ``sas_token``, ``client_kwargs.aws_secret_access_key``...), at any depth."""
    if not isinstance(options, dict):
        return []
    found: list[tuple[str, ...]] = []
    for key, value in options.items():
        name = str(key).lower()
        if isinstance(value, dict):
            found += _storage_secrets(value, (*prefix, str(key)))
        elif _is_secret_option(name, value):
            found.append((*prefix, str(key)))
    return found


def _is_secret_option(name: str, value: Any) -> bool:
    if name == "token" and value in _GCS_TOKEN_MODES:
        return False
    return name in _SECRET_OPTIONS or any(word in name for word in _SECRET_WORDS)


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
