"""Credentials of the local services, made once per state folder and kept there (mode 0600).

Nothing is committed and nothing is shared with another project: ``up`` makes random
PostgreSQL and S3 secrets on first start, and the ``team`` profile reads the S3 keys from the
same file (see ``Settings.resolved_storage_options``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text

__all__ = ["CREDENTIALS_FILE", "Credentials", "load_or_create"]

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """The secrets of one state folder."""

    postgres_user: str
    postgres_password: str
    s3_access_key: str
    s3_secret_key: str


def load_or_create(home: Path) -> Credentials:
    """The credentials under ``home``, made (random, 0600) when missing."""
    path = home / CREDENTIALS_FILE
    if path.is_file():
        return Credentials(**json.loads(path.read_text()))
    creds = Credentials(
        postgres_user="mlplatform",
        postgres_password=secrets.token_urlsafe(24),
        s3_access_key="mlp" + secrets.token_hex(8),
        s3_secret_key=secrets.token_urlsafe(30),
    )
    home.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(asdict(creds), indent=2), mode=0o600)
    return creds
