"""What every governed CLI command needs: who acts, and where the audit log is.

``actor`` is the one place that decides the identity recorded on approvals, stage changes,
deployments and audit records (docs/governance.md, "Identity"); ``audit_log`` is the log in
the workspace's artifact store, signed with the platform key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform.errors import ConfigError

if TYPE_CHECKING:
    from mlplatform.governance.operations import AuditLog
    from mlplatform.governance.rules import RuleSet
    from mlplatform.workspace import Workspace

__all__ = ["actor", "audit_log", "rules"]


def actor(ws: Workspace) -> str:
    """Who makes a governed change. Local profile: the settings' user (``MLPLATFORM_USER``,
    else the OS user), self-asserted. Team profile: the account the `mlp up` MLflow server
    authenticates (``mlflow_auth.client_credentials``), checked once per process.

    Raises:
        ConfigError: the server refuses the credentials (or there are none).
        ServiceError: the server does not answer.
    """
    s = ws.settings
    if s.profile != "team":
        return s.user
    import os

    from mlplatform.services.mlflow_auth import authenticated_user, client_credentials

    user, password = client_credentials(s.user, s.home_dir / "services", os.environ)
    key = (ws.tracking_uri, user, password)
    if key not in _AUTHENTICATED:
        who = authenticated_user(ws.tracking_uri, user, password)
        if who is None:
            raise _not_authenticated(user, password, s.home_dir / "services" / "credentials.json")
        _AUTHENTICATED[key] = who
    return _AUTHENTICATED[key]


_AUTHENTICATED: dict[tuple[str, str, str | None], str] = {}  # (server, user, password) -> who


def _not_authenticated(user: str, password: str | None, credentials: Path) -> ConfigError:
    what = "refuses the password given" if password else "was given no password"
    return ConfigError(
        f"the team MLflow server cannot tell who you are: it {what} for {user!r}",
        f"Set MLFLOW_TRACKING_PASSWORD to {user}'s password (`mlp up` keeps it under "
        f'"mlflow_users" in {credentials}), or set MLPLATFORM_USER to your own account; if '
        f"{user!r} has no account, add it to `users` under [services] in mlplatform.toml "
        "and run `mlp down && mlp up`.",
    )


def audit_log(ws: Workspace) -> AuditLog:
    """The audit log in the workspace's artifact store, signed with the platform key."""
    return ws.audit_log()


def rules(ws: Workspace) -> RuleSet:
    """The platform's rule set with the project's production aliases (``production``, plus
    the ``production_aliases`` setting, e.g. ``["champion"]``)."""
    return ws.governance_rules()
