"""Every local service by name, the default set of ``mlp up``, and the start order."""

from __future__ import annotations

from collections.abc import Iterable

from mlplatform.errors import ServiceError
from mlplatform.services.alertmanager import Alertmanager
from mlplatform.services.audit_receiver import AuditReceiver
from mlplatform.services.azurite import Azurite
from mlplatform.services.base import Service
from mlplatform.services.config import ServicesConfig
from mlplatform.services.fake_gcs import FakeGcs
from mlplatform.services.mlflow_server import MlflowServer
from mlplatform.services.postgres import Postgres
from mlplatform.services.prometheus import Prometheus
from mlplatform.services.seaweedfs import SeaweedFS
from mlplatform.services.stores import STORE_SERVICE

__all__ = ["SERVICES", "default_services", "get", "resolve"]

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Postgres(),
        SeaweedFS(),
        Azurite(),
        FakeGcs(),
        MlflowServer(),
        AuditReceiver(),
        Alertmanager(),
        Prometheus(),
    )
}  # in start order: stores and the database first, the server on them, monitoring last


def get(name: str) -> Service:
    try:
        return SERVICES[name]
    except KeyError:
        raise ServiceError(
            f"unknown service {name!r}", f"Choose from: {', '.join(SERVICES)}."
        ) from None


def default_services(cfg: ServicesConfig) -> tuple[str, ...]:
    """What a plain ``mlp up`` starts: the team stack on the configured artifact store."""
    return (
        "postgres",
        STORE_SERVICE[cfg.artifacts],
        "mlflow",
        "audit-receiver",
        "alertmanager",
        "prometheus",
    )


def resolve(names: Iterable[str], cfg: ServicesConfig) -> list[str]:
    """``names`` plus everything they require, in start order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(get(name).requires(cfg))
    return [name for name in SERVICES if name in wanted]
