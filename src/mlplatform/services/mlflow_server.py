"""The MLflow tracking server: PostgreSQL backend, artifacts proxied to the object store.

Clients never see object-store credentials: they log to ``mlflow-artifacts:/`` and the server
writes to ``--artifacts-destination``. ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` keeps the
server from starting its seven job workers (about 1.5 GB). ``--expose-prometheus`` serves
``/metrics`` for the ``mlflow`` scrape job (``up{job="mlflow"}`` drives the MLflowDown alert).
The PostgreSQL password travels in ``PGPASSWORD``, never on the command line.

It runs MLflow's basic-auth app (``--app-name basic-auth``): every request but ``/health`` needs
an account, ``mlp up`` makes one per ``[services] users`` name (``mlflow_auth``), and the team
profile's clients log in as the settings' user, so the registry knows who acts.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys

from mlplatform.atomicfile import atomic_write_text
from mlplatform.errors import ServiceError
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials, add_users
from mlplatform.services.mlflow_auth import AUTH_DB, auth_ini, ensure_users
from mlplatform.services.postgres import DATABASE
from mlplatform.services.stores import STORE_SERVICE, object_store

__all__ = ["MlflowServer"]


class MlflowServer(Service):
    name = "mlflow"
    title = "MLflow tracking server"
    start_timeout = 120.0  # the first start migrates the database

    def requires(self, cfg: ServicesConfig) -> tuple[str, ...]:
        return ("postgres", STORE_SERVICE[cfg.artifacts])

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        _require_modules(cfg)
        if creds.mlflow_admin_user in cfg.users:
            raise ServiceError(
                f"{creds.mlflow_admin_user!r} is the MLflow server's admin account, not a user",
                "Remove it from `users` under [services] in mlplatform.toml.",
            )
        port = cfg.ports["mlflow"]
        store = object_store(cfg, creds, cfg.artifacts)
        backend = (
            f"postgresql+psycopg2://{creds.postgres_user}@{cfg.host}:{cfg.port('postgres')}"
            f"/{DATABASE}"
        )
        argv = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", backend,
            "--artifacts-destination", store.mlflow_destination,
            "--host", cfg.host, "--port", str(port.number), "--workers", "1",
            "--expose-prometheus", str(cfg.dir(self.name) / "metrics"),
            "--app-name", "basic-auth",
        ]  # fmt: skip
        env = {
            "PGPASSWORD": creds.postgres_password,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",  # the audit receiver is on loopback
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",  # plain HTTP on loopback
            "MLFLOW_AUTH_CONFIG_PATH": str(cfg.dir(self.name) / _AUTH_INI),
            "MLFLOW_AUTH_ADMIN_PASSWORD": creds.mlflow_admin_password,  # used on first start
            "MLFLOW_FLASK_SERVER_SECRET_KEY": creds.mlflow_secret_key,
            # one key for the stored webhook secrets, so a restarted server can still read them
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": creds.mlflow_webhook_key,
            **store.mlflow_env,
        }
        return Launch(argv=argv, ports=(PortUse(port, "MLflow server"),), env=env, stop_timeout=10)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        metrics = cfg.dir(self.name) / "metrics"  # prometheus multiprocess files of dead workers
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        ini = auth_ini(cfg.dir(self.name) / AUTH_DB, creds.mlflow_admin_user)
        atomic_write_text(cfg.dir(self.name) / _AUTH_INI, ini)

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        """One account per ``cfg.users``, with the password kept in credentials.json."""
        ensure_users(self.url(cfg), add_users(cfg.home, cfg.users), cfg.users)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/health") == 200

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("mlflow")


_AUTH_INI = "basic_auth.ini"
_MODULES = {  # what the server imports: its database driver, /metrics, auth, the store's client
    "psycopg2": "psycopg2-binary",
    "prometheus_flask_exporter": "prometheus-flask-exporter",
    "flask_wtf": "flask-wtf",
}
_STORE_MODULES = {
    "s3": ("boto3", "boto3"),
    "azure": ("azure.storage.blob", "azure-storage-blob"),
    "gcs": ("google.cloud.storage", "google-cloud-storage"),
}


def _require_modules(cfg: ServicesConfig) -> None:
    needed = {**_MODULES, _STORE_MODULES[cfg.artifacts][0]: _STORE_MODULES[cfg.artifacts][1]}
    missing = sorted(pkg for module, pkg in needed.items() if not _importable(module))
    if missing:
        raise ServiceError(
            f"the MLflow server needs Python packages that are not installed: {', '.join(missing)}",
            "Install the lock file (`make install`), or: uv pip install " + " ".join(missing),
        )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package (azure, google)
        return False
