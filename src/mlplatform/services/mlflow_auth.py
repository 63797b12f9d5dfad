"""Accounts on the team MLflow server (its basic-auth app): placeholder until implemented."""

from __future__ import annotations

from mlplatform.services.credentials import Credentials

__all__ = ["admin_env"]


def admin_env(creds: Credentials) -> dict[str, str]:
    """``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` of the server's admin
    account, for processes ``mlp up`` starts that talk to the server (empty: no auth)."""
    return {}
