"""Team services on one machine, without Docker: ``mlp up | down | status | logs``.

PostgreSQL, an object store (SeaweedFS for S3, Azurite for Azure Blob, fake-gcs-server for
GCS), the MLflow tracking server, Prometheus with the platform's alert rules, and Alertmanager
run as supervised local processes on loopback. One module per service (``postgres``,
``seaweedfs``, ``azurite``, ``fake_gcs``, ``mlflow_server``, ``prometheus``, ``alertmanager``),
named in ``catalog``; ``supervisor`` starts and stops them by PID; ``targets`` registers model
servers for Prometheus; ``stores`` says how to reach each object store. Nothing here reads
settings: the CLI builds a ``ServicesConfig``.
"""

from __future__ import annotations

from mlplatform.services.catalog import SERVICES, default_services
from mlplatform.services.config import Port, ServicesConfig, default_ports
from mlplatform.services.credentials import Credentials, load_or_create
from mlplatform.services.stores import ObjectStore, object_store
from mlplatform.services.supervisor import ServiceStatus, Supervisor
from mlplatform.services.targets import register_target, registered_targets, unregister_target

__all__ = [
    "SERVICES",
    "Credentials",
    "ObjectStore",
    "Port",
    "ServiceStatus",
    "ServicesConfig",
    "Supervisor",
    "default_ports",
    "default_services",
    "load_or_create",
    "object_store",
    "register_target",
    "registered_targets",
    "unregister_target",
]
