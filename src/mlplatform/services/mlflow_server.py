"""The MLflow tracking server: PostgreSQL backend, artifacts proxied to the object store.

Clients never see object-store credentials: they log to ``mlflow-artifacts:/`` and the server
writes to ``--artifacts-destination``. ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` keeps the
server from starting its seven job workers (about 1.5 GB). ``--expose-prometheus`` serves
``/metrics`` for the ``mlflow`` scrape job (``up{job="mlflow"}`` drives the MLflowDown alert).
The PostgreSQL password travels in ``PGPASSWORD``, never on the command line.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys

from mlplatform.errors import ServiceError
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service
from mlplatform.services.config import ServicesConfig
from mlplatform.services.credentials import Credentials
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
        ]  # fmt: skip
        env = {
            "PGPASSWORD": creds.postgres_password,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",  # the audit receiver is on loopback
            **store.mlflow_env,
        }
        return Launch(argv=argv, ports=(PortUse(port, "MLflow server"),), env=env, stop_timeout=10)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        metrics = cfg.dir(self.name) / "metrics"  # prometheus multiprocess files of dead workers
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/health") == 200

    def url(self, cfg: ServicesConfig) -> str:
        return cfg.url("mlflow")


_MODULES = {  # what the server imports: its database driver, /metrics, the store's client
    "psycopg2": "psycopg2-binary",
    "prometheus_flask_exporter": "prometheus-flask-exporter",
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
