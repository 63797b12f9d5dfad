"""The audit receiver (``mlplatform.governance.receiver``): MLflow registry webhooks into the
audit log, with a reconciliation every minute.

``prepare`` makes the webhook secret (``audit-receiver/webhook.secret``, 0600) and the
project's platform key if missing (``<project>/.mlplatform/cache.key``, the parent of the
services home: the key the CLI signs with, so ``mlp audit verify`` passes;
``MLPLATFORM_CACHE_KEY``, when set for ``mlp up``, wins in the receiver as in the CLI).
``on_ready`` registers the webhook on the MLflow server (idempotent: one webhook named
``mlplatform-audit``, updated to this URL, events and secret). The store's credentials travel
in the environment (``MLPLATFORM_AUDIT_STORAGE_OPTIONS``), never on the command line; the MLflow
account is the admin's (``mlflow_auth.admin_env``).
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlplatform.artifacts.signing import KEY_FILE, ensure_key_file
from mlplatform.atomicfile import atomic_write_text
from mlplatform.services._process import http_status
from mlplatform.services.base import Launch, PortUse, Service
from mlplatform.services.config import Port, ServicesConfig, default_ports
from mlplatform.services.credentials import Credentials
from mlplatform.services.mlflow_auth import admin_env, logged_in
from mlplatform.services.stores import object_store

__all__ = ["WEBHOOK_NAME", "AuditReceiver"]

WEBHOOK_NAME = "mlplatform-audit"
SECRET_FILE = "webhook.secret"
RECONCILE_EVERY = 60  # seconds


class AuditReceiver(Service):
    name = "audit-receiver"
    title = "audit receiver (MLflow registry webhooks)"

    def requires(self, cfg: ServicesConfig) -> tuple[str, ...]:
        return ("mlflow",)

    def launch(self, cfg: ServicesConfig, creds: Credentials) -> Launch:
        from mlplatform.governance.receiver import OPTIONS_ENV

        port = receiver_port(cfg)
        store = object_store(cfg, creds, cfg.artifacts)
        argv = [
            sys.executable, "-m", "mlplatform.governance.receiver",
            "--host", cfg.host, "--port", str(port.number),
            "--tracking-uri", cfg.url("mlflow"),
            "--store-root", store.pipeline_root,
            "--secret-file", str(self.secret_file(cfg)),
            "--key-file", str(key_home(cfg) / KEY_FILE),
            "--reconcile-every", str(RECONCILE_EVERY),
            *(f"--production-alias={alias}" for alias in cfg.production_aliases),
        ]  # fmt: skip
        env = {
            OPTIONS_ENV: json.dumps(fresh_listings(store.kind, store.storage_options)),
            **store.client_env,
            **admin_env(creds),
        }
        return Launch(argv=argv, ports=(PortUse(port, "audit receiver"),), env=env)

    def prepare(self, cfg: ServicesConfig, creds: Credentials) -> None:
        path = self.secret_file(cfg)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, secrets.token_urlsafe(32) + "\n", mode=0o600)
        ensure_key_file(key_home(cfg))

    def healthy(self, cfg: ServicesConfig, creds: Credentials) -> bool:
        return http_status(f"{self.url(cfg)}/health") == 200

    def on_ready(self, cfg: ServicesConfig, creds: Credentials) -> None:
        register_webhook(cfg, creds, self.secret_file(cfg).read_text().strip())

    def url(self, cfg: ServicesConfig) -> str:
        return receiver_url(cfg)

    def secret_file(self, cfg: ServicesConfig) -> Path:
        return cfg.dir(self.name) / SECRET_FILE


def receiver_port(cfg: ServicesConfig) -> Port:
    """The receiver's port: ``services.audit_receiver_port``, else its default (a config
    saved before the receiver existed has none)."""
    return cfg.ports.get("audit_receiver") or default_ports()["audit_receiver"]


def receiver_url(cfg: ServicesConfig) -> str:
    return f"http://{cfg.host}:{receiver_port(cfg).number}"


def fresh_listings(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` for a long-lived process: s3fs and gcsfs keep folder listings for the life
    of a filesystem object, so records another process appended would stay unseen."""
    return {**options, "use_listings_cache": False} if kind in ("s3", "gcs") else dict(options)


def key_home(cfg: ServicesConfig) -> Path:
    """The project's ``.mlplatform`` folder: the services home's parent (``mlp up`` puts it
    at ``<home>/services``)."""
    return cfg.home.parent


def register_webhook(cfg: ServicesConfig, creds: Credentials, secret: str) -> None:
    """Create the ``mlplatform-audit`` webhook, or update it to this URL, events and secret."""
    from mlflow import MlflowClient

    from mlplatform.governance.webhooks import EVENTS
    from mlplatform.tracking._mlflow import registry_errors

    url = f"{receiver_url(cfg)}/mlflow-webhook"
    events: list[Any] = list(EVENTS)
    with logged_in(admin_env(creds)), registry_errors("cannot register the audit webhook"):
        client = MlflowClient(tracking_uri=cfg.url("mlflow"))
        found = [w for w in client.list_webhooks(max_results=1000) if w.name == WEBHOOK_NAME]
        if not found:
            client.create_webhook(WEBHOOK_NAME, url, events, secret=secret, status="ACTIVE")
            return
        for extra in found[1:]:
            client.delete_webhook(extra.webhook_id)
        client.update_webhook(
            found[0].webhook_id,
            url=url,
            events=events,
            secret=secret,
            status="ACTIVE",
        )
