"""Credentials of the local services, made once per state folder and kept there (mode 0600).

Nothing is committed and nothing is shared with another project: ``up`` makes random
PostgreSQL and S3 secrets on first start, the MLflow server's admin password, Flask secret
key and webhook-secret key, and one password
per account of ``[services] users`` (``mlflow_users``: name -> password); the ``team``
profile reads the S3 keys and the acting user's MLflow password from the same file (see
``Settings.resolved_storage_options`` and ``mlflow_auth.client_credentials``). A file written
before a field existed still loads: the missing fields are made and the file is rewritten.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mlplatform.atomicfile import atomic_write_text

__all__ = ["CREDENTIALS_FILE", "MLFLOW_ADMIN", "Credentials", "add_users", "load_or_create"]

CREDENTIALS_FILE = "credentials.json"
MLFLOW_ADMIN = "mlplatform-admin"  # the MLflow server's admin account (never MLflow's `admin`)


def _password() -> str:
    return secrets.token_urlsafe(24)  # 32 characters; MLflow wants at least 12


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Credentials:
    """The secrets of one state folder."""

    postgres_user: str = "mlplatform"
    postgres_password: str = field(default_factory=_password)
    s3_access_key: str = field(default_factory=lambda: "mlp" + secrets.token_hex(8))
    s3_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    mlflow_admin_user: str = MLFLOW_ADMIN
    mlflow_admin_password: str = field(default_factory=_password)
    mlflow_secret_key: str = field(default_factory=lambda: secrets.token_hex(32))  # its CSRF key
    mlflow_webhook_key: str = field(default_factory=_fernet_key)  # encrypts webhook secrets
    mlflow_users: dict[str, str] = field(default_factory=dict)  # account -> password


def load_or_create(home: Path) -> Credentials:
    """The credentials under ``home``, made (random, 0600) when missing; fields an older file
    lacks are made and the file is rewritten."""
    path = home / CREDENTIALS_FILE
    if not path.is_file():
        return _save(home, Credentials())
    data: dict[str, Any] = json.loads(path.read_text())
    known = {f.name for f in fields(Credentials)}
    creds = Credentials(**{k: v for k, v in data.items() if k in known})
    return creds if known <= data.keys() else _save(home, creds)


def add_users(home: Path, users: Iterable[str]) -> Credentials:
    """The credentials under ``home`` with a random MLflow password for each of ``users`` that
    has none yet (existing passwords are kept: a restart changes nothing)."""
    creds = load_or_create(home)
    missing = [u for u in dict.fromkeys(users) if u not in creds.mlflow_users]
    if not missing:
        return creds
    added = {**creds.mlflow_users, **{u: _password() for u in missing}}
    return _save(home, replace(creds, mlflow_users=added))


def _save(home: Path, creds: Credentials) -> Credentials:
    home.mkdir(parents=True, exist_ok=True)
    atomic_write_text(home / CREDENTIALS_FILE, json.dumps(asdict(creds), indent=2), mode=0o600)
    return creds
