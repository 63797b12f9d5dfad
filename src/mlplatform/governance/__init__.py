"""Model governance: one rule set, checked locally, and a tamper-evident audit log (issue 16).

- ``rules``: the rule set (``RULES``): stages, what each stage requires (owner, semver X.Y.Z,
  lineage, and for production an approval with approver and ticket by someone other than the
  version's author, and a passing evaluation gate), what is protected from deletion, the tag
  names the platform writes;
- ``check``: pure checks of registry operations against the rules (``check_stage_change``,
  ``check_approval``, ``check_delete``): every broken rule is named, not only the first;
- ``semver``: a version's semantic version from what changed since the previous one (major: the
  signature; minor: retrained; patch: metadata only), or a user's override with a reason;
- ``operations``: approve, reject, stage changes, deletes and semver overrides, each checked
  first (a refusal changes nothing and is recorded) and recorded in the audit log;
- ``audit``: the append-only, hash-chained, HMAC-signed audit log in the artifact store, its head
  kept as a registered-model tag, and ``verify``.

What is built so far and what is not: docs/governance.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlplatform.governance.audit import AuditRecord, Problem, append, records, verify
    from mlplatform.governance.check import (
        Approval,
        VersionFacts,
        Violation,
        check_alias_move,
        check_approval,
        check_delete,
        check_delete_model,
        check_stage_change,
        facts_from_version,
        refused,
    )
    from mlplatform.governance.operations import (
        AuditLog,
        Outcome,
        approve,
        delete_model,
        delete_plan,
        delete_version,
        reject,
        set_semver,
        set_stage,
    )
    from mlplatform.governance.rules import RULES, SEMVER_PATTERN, STAGES, TICKET_PATTERN, RuleSet
    from mlplatform.governance.semver import assign_semver, next_semver

__all__ = [
    "RULES",
    "SEMVER_PATTERN",
    "STAGES",
    "TICKET_PATTERN",
    "Approval",
    "AuditLog",
    "AuditRecord",
    "Outcome",
    "Problem",
    "RuleSet",
    "VersionFacts",
    "Violation",
    "append",
    "approve",
    "assign_semver",
    "check_alias_move",
    "check_approval",
    "check_delete",
    "check_delete_model",
    "check_stage_change",
    "delete_model",
    "delete_plan",
    "delete_version",
    "facts_from_version",
    "next_semver",
    "records",
    "refused",
    "reject",
    "set_semver",
    "set_stage",
    "verify",
]

_HOME = {
    "RULES": "mlplatform.governance.rules",
    "SEMVER_PATTERN": "mlplatform.governance.rules",
    "STAGES": "mlplatform.governance.rules",
    "TICKET_PATTERN": "mlplatform.governance.rules",
    "Approval": "mlplatform.governance.check",
    "AuditLog": "mlplatform.governance.operations",
    "AuditRecord": "mlplatform.governance.audit",
    "Outcome": "mlplatform.governance.operations",
    "Problem": "mlplatform.governance.audit",
    "RuleSet": "mlplatform.governance.rules",
    "VersionFacts": "mlplatform.governance.check",
    "Violation": "mlplatform.governance.check",
    "append": "mlplatform.governance.audit",
    "approve": "mlplatform.governance.operations",
    "assign_semver": "mlplatform.governance.semver",
    "check_alias_move": "mlplatform.governance.check",
    "check_approval": "mlplatform.governance.check",
    "check_delete": "mlplatform.governance.check",
    "check_delete_model": "mlplatform.governance.check",
    "check_stage_change": "mlplatform.governance.check",
    "delete_model": "mlplatform.governance.operations",
    "delete_plan": "mlplatform.governance.operations",
    "delete_version": "mlplatform.governance.operations",
    "facts_from_version": "mlplatform.governance.check",
    "next_semver": "mlplatform.governance.semver",
    "records": "mlplatform.governance.audit",
    "refused": "mlplatform.governance.check",
    "reject": "mlplatform.governance.operations",
    "set_semver": "mlplatform.governance.operations",
    "set_stage": "mlplatform.governance.operations",
    "verify": "mlplatform.governance.audit",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: ``pipeline_env`` (read by the workspace at
    CLI start) must not pull MLflow in with the package."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
