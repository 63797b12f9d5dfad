"""What every governed CLI command needs: who acts, and where the audit log is.

``actor`` is the one place that decides the identity recorded on approvals, stage changes,
deployments and audit records (docs/governance.md, "Identity"); ``audit_log`` is the log in
the workspace's artifact store, signed with the platform key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlplatform.governance.operations import AuditLog
    from mlplatform.workspace import Workspace

__all__ = ["actor", "audit_log"]


def actor(ws: Workspace) -> str:
    """Who makes a governed change: the settings' user (``MLPLATFORM_USER``, else the OS
    user), self-asserted."""
    return ws.settings.user


def audit_log(ws: Workspace) -> AuditLog:
    """The audit log in the workspace's artifact store, signed with the platform key."""
    from mlplatform.governance.operations import AuditLog

    return AuditLog(ws.store.root, ws.store.storage_options, ws.cache_key())
