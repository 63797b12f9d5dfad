"""Wires settings to the engine: the artifact store, MLflow, pipeline sources, the executor.

The CLI and the demo build one ``Workspace`` from the settings object; nothing below this layer
reads settings.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Collection, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, overload

from mlplatform.artifacts.signing import CACHE_KEY_ENV, KEY_FILE, ensure_key_file
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ConfigError
from mlplatform.governance.pipeline_env import to_environ
from mlplatform.pipelines.discovery import discover, find_pipeline
from mlplatform.pipelines.dsl import Pipeline
from mlplatform.pipelines.local import LocalExecutor, ProgressEvent, RunOptions
from mlplatform.settings import CLUSTER_MLFLOW, TEAM_HOST, Settings

if TYPE_CHECKING:
    from mlplatform.cost import PriceBasis
    from mlplatform.features.layout import FeatureStoreLayout
    from mlplatform.governance.operations import AuditLog
    from mlplatform.governance.rules import RuleSet
    from mlplatform.serving import ServerConfig
    from mlplatform.serving.sampler import MonitorFactory

__all__ = ["BUILTIN_PIPELINES", "Workspace", "resume_command"]

BUILTIN_PIPELINES = ("mlplatform.components.standard",)


def resume_command(pipeline: str, params: Mapping[str, Any], file: str | None) -> str:
    """The exact `mlp pipeline run` command that resumes a run with these overrides."""
    parts = ["mlp", "pipeline", "run", pipeline]
    if file:
        parts += ["--file", file]
    for k, v in params.items():
        parts += ["-p", f"{k}={v}"]
    return shlex.join(parts)


class Workspace:
    """Everything a command needs, built from one ``Settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> ArtifactStore:
        return ArtifactStore(
            self.settings.resolved_artifact_store(), self.settings.resolved_storage_options()
        )

    @property
    def tracking_uri(self) -> str:
        return self.settings.resolved_tracking_uri()

    def step_env(self, *, read_only: bool = False) -> dict[str, str]:
        """Environment for step processes: where MLflow is, which experiment, the cache key.

        ``read_only`` (``mlp pipeline plan``) never creates the key file: without one no entry
        can have been signed with it, so every lookup is a miss under a throwaway key anyway.
        """
        env = {
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_EXPERIMENT_NAME": self.settings.experiment,
            **to_environ(self.settings.user, self.settings.owner, self.production_aliases),
        }
        key = self.cache_key(create=not read_only)
        if key is not None:
            env[CACHE_KEY_ENV] = key
        return {**env, **self._feature_store_env()}

    def _feature_store_env(self) -> dict[str, str]:
        """Where steps find the feature store, when the project has a feature repository and
        its profile has a store (``mlplatform.features.store.layout_environ``)."""
        if not self.settings.features.repo.is_dir():
            return {}
        try:
            layout = self.feature_store()
        except ConfigError:
            return {}
        from mlplatform.features.store import layout_environ

        return layout_environ(layout)

    @property
    def production_aliases(self) -> tuple[str, ...]:
        """The aliases governed as production aliases: ``production`` and the project's
        ``production_aliases`` setting (e.g. ``["champion"]``)."""
        return ("production", *self.settings.production_aliases)

    def governance_rules(self) -> RuleSet:
        """The platform's governance rules with this project's production aliases."""
        from mlplatform.governance.rules import RULES

        return RULES.with_production_aliases(self.production_aliases)

    def audit_log(self) -> AuditLog:
        """The audit log in the artifact store, signed with the platform key."""
        from mlplatform.governance.operations import AuditLog

        return AuditLog(self.store.root, self.store.storage_options, self.cache_key())

    @overload
    def cache_key(self, *, create: Literal[True] = True) -> str: ...

    @overload
    def cache_key(self, *, create: bool) -> str | None: ...

    def cache_key(self, *, create: bool = True) -> str | None:
        """The cache signing key: ``MLPLATFORM_CACHE_KEY``, else ``<home>/cache.key`` (made
        with mode 0600 on first use unless ``create`` is false; see
        ``mlplatform.artifacts.signing``)."""
        if self.settings.cache_key is not None:
            return self.settings.cache_key.get_secret_value()
        if not create and not (self.settings.home_dir / KEY_FILE).is_file():
            return None
        return ensure_key_file(self.settings.home_dir)

    def prepare_tracking(self) -> None:
        """Make the local state folder; the tracking package creates experiments on first use
        (on SQLite with artifacts next to the database, never in ./mlruns)."""
        if self.settings.profile == "local":
            self.settings.home_dir.mkdir(parents=True, exist_ok=True)

    def sources(self, file: str | None = None) -> list[str]:
        return [*BUILTIN_PIPELINES, *self.settings.pipelines, *([file] if file else [])]

    def pipelines(self, file: str | None = None) -> dict[str, Pipeline]:
        return discover(self.sources(file))

    def pipeline(self, name: str, file: str | None = None) -> Pipeline:
        return find_pipeline(name, self.sources(file))

    def compile_options(self, cloud: str, schedule: str | None = None) -> Any:
        """Argo compile options for ``cloud`` from the settings (store, image, owner, MLflow;
        the cluster's feature store when the project has a feature repository)."""
        from mlplatform.features.layout import CONFIG_ENV
        from mlplatform.pipelines.argo import CompileOptions

        s = self.settings
        store = s.artifact_store if s.artifact_store and "://" in s.artifact_store else None
        if store is not None and store.startswith("file://"):
            store = None
        lock = s.lock_file if s.lock_file.is_file() else None
        return CompileOptions(
            cloud=cloud,
            image=s.image,
            image_digest=s.image_digest,
            store_root=store,
            namespace=s.argo_namespace,
            owner=s.owner,
            lock_file=lock,
            schedule=schedule,
            env={"MLFLOW_TRACKING_URI": CLUSTER_MLFLOW, "MLFLOW_EXPERIMENT_NAME": s.experiment},
            feature_store_env=CONFIG_ENV if s.features.repo.is_dir() else None,
        )

    def cost_basis(self, cloud: str | None = None, region: str | None = None) -> PriceBasis:
        """The price basis of ``cloud``/``region`` (flags), else ``[cost]``, else the profile's
        cloud (aws off the clouds) and the cloud's first region (``mlplatform.cost.prices``)."""
        from mlplatform.cost import load_prices

        s = self.settings
        profile_cloud = s.profile if s.profile in ("aws", "azure", "gcp") else "aws"
        chosen = cloud or s.cost.cloud or profile_cloud
        same_cloud = cloud is None or cloud == (s.cost.cloud or profile_cloud)
        return load_prices().basis(chosen, region or (s.cost.region if same_cloud else None))

    def argo_client(self) -> Any:
        from mlplatform.pipelines.argo.client import ArgoClient

        s = self.settings
        token = s.argo_token.get_secret_value() if s.argo_token else None
        return ArgoClient(s.argo_server, token, s.argo_namespace, verify_ssl=s.argo_verify_tls)

    def executor(
        self,
        *,
        workers: int | None = None,
        in_process: bool = False,
        force: Collection[str] = (),
        progress: Callable[[ProgressEvent], None] | None = None,
        resume: str | None = None,
        track: bool = True,
        read_only: bool = False,
    ) -> LocalExecutor:
        observer = None
        if track:
            from mlplatform.tracking.observer import MlflowObserver

            self.prepare_tracking()
            cost = self.cost_basis() if self.settings.cost.record else None
            observer = MlflowObserver(self.tracking_uri, self.settings.experiment, cost=cost)
        lock = self.settings.lock_file
        options = RunOptions(
            workers=workers or self.settings.workers,
            in_process=in_process,
            force=force,
            env=self.step_env(read_only=read_only),
            lock_file=lock if lock.is_file() else None,
            observer=observer,
            progress=progress,
            resume_command=resume,
            data_digests=self.settings.home_dir / "data-digests.json",
        )
        return LocalExecutor(self.store, options)

    def server_config(
        self,
        model: str,
        *,
        canaries: Collection[str] = (),
        port: int | None = None,
        host: str | None = None,
        **overrides: Any,
    ) -> ServerConfig:
        """A ``mlplatform.serving.ServerConfig`` for ``model`` from ``[serving]`` settings.

        ``model`` is a model reference (``mlplatform.grammar.parse_model_ref``: ``NAME`` is
        its champion) or an MLflow model folder; ``canaries`` are ``ALIAS=PCT``
        (``parse_canaries``); ``overrides`` are ``ServingSettings`` field names given on the
        command line.
        """
        from mlplatform.serving import BatchConfig, SamplingConfig, ServerConfig, variants_for
        from mlplatform.serving.loader import model_source
        from mlplatform.serving.trust import ModelTrust

        s = self.settings.serving.model_copy(
            update={k: v for k, v in overrides.items() if v is not None}
        )
        source = model_source(model)
        return ServerConfig(
            name=source.name,  # the registered model's, or the folder's
            variants=variants_for(source, canaries),
            tracking_uri=self.tracking_uri,
            host=host or s.host,
            port=s.port if port is None else port,
            batch=BatchConfig(
                s.max_batch_size, s.max_batch_wait_ms, s.max_queue, s.request_timeout_s
            ),
            sampling=SamplingConfig(
                fraction=s.sample_fraction,
                buffer_rows=s.sample_buffer_rows,
                flush_rows=s.sample_flush_rows,
                flush_interval_s=s.sample_flush_interval_s,
                retention_days=s.sample_retention_days,
                store_url=self.settings.resolved_artifact_store(),
                storage_options=self.settings.resolved_storage_options(),
            ),
            reload_interval_s=s.reload_interval_s,
            sticky_header=s.sticky_header,
            max_body_bytes=s.max_body_bytes,
            trust=ModelTrust(tuple(self.settings.trusted_types), s.allow_pickle_models),
            feature_store=self._serving_feature_store(),
        )

    def _serving_feature_store(self) -> FeatureStoreLayout | None:
        """The feature store a server fetches features from: the project's, when its feature
        repository exists and this profile has one (else None: a version tagged with a
        feature service then fails to load, saying so)."""
        if not self.settings.features.repo.is_dir():
            return None
        try:
            return self.feature_store()
        except ConfigError:  # a cluster profile, or the team services are not up
            return None

    def feature_store(self) -> FeatureStoreLayout:
        """The project's feature store on this profile (``mlplatform.features.layout``).

        Local: Parquet in the artifact store, SQLite and a file registry under home. Team:
        Parquet on the ``mlp up`` S3 store, the ``features`` database of its PostgreSQL (the
        password from ``<home>/services/credentials.json``, which ``mlp up`` writes).
        """
        from mlplatform.features.layout import local_layout, team_layout

        s = self.settings
        repo, project = s.features.repo, s.features.project
        root = s.resolved_artifact_store()
        if s.profile == "local":
            return local_layout(project=project, repo=repo, artifact_root=root, home=s.home_dir)
        if s.profile != "team":
            raise ConfigError(
                f"the {s.profile} profile's feature store runs in the cluster",
                "Its FeatureStore resource is rendered under infrastructure/kubernetes "
                "(docs/features.md); use the local or team profile for `mlp features`.",
            )
        credentials = s.home_dir / "services" / "credentials.json"
        if not credentials.is_file():
            raise ConfigError(
                "the team profile's feature store needs the `mlp up` services",
                "Start them with `mlp up` (it makes the feature store's database).",
            )
        keys = json.loads(credentials.read_text())
        return team_layout(
            project=project,
            repo=repo,
            artifact_root=root,
            storage_options=s.resolved_storage_options(),
            home=s.home_dir,
            postgres=(
                TEAM_HOST,
                s.services.postgres_port,
                "features",
                keys["postgres_user"],
                keys["postgres_password"],
            ),
        )

    def drift_monitors(self, window_rows: int = 500) -> MonitorFactory:
        """Drift monitors for served versions, with the ``[drift]`` thresholds."""
        from mlplatform.drift import DriftConfig
        from mlplatform.serving.sampler import registry_monitors

        config = DriftConfig.from_mapping(self.settings.drift.model_dump(exclude={"bins"}))
        return registry_monitors(self.tracking_uri, config, window_rows=window_rows)
