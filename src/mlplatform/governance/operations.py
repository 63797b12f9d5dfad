"""Governed registry operations: approve, reject, move a stage, delete, set a semver by hand.

Each operation reads the version from MLflow, checks it against the rules
(``governance.check``) and then either

- refuses: nothing in the registry changes, a ``refused`` record (naming every broken rule) is
  appended to the audit log, and the ``PromotionRejectedError`` from ``check.refused`` is
  raised; or
- writes the change through MLflow's client (version tags, or a delete) and appends a record
  with the state before and after.

Nothing here reads settings: the caller passes the tracking URI, who acts (``actor``) and
where the audit log is (``AuditLog``: artifact store root, options and the platform key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient

from mlplatform.errors import PromotionRejectedError
from mlplatform.governance import audit, reconcile
from mlplatform.governance.audit import AuditRecord
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
from mlplatform.governance.rules import (
    APPROVED,
    REJECTED,
    RULES,
    STAGE_AT_TAG,
    STAGE_BY_TAG,
    STAGE_TAG,
    RuleId,
    RuleSet,
    approval_tag,
)
from mlplatform.governance.semver import assign_semver
from mlplatform.tracking import promotion
from mlplatform.tracking._mlflow import registry_errors
from mlplatform.tracking.registry import (
    list_versions,
    model_client,
    require_model,
    resolve_version,
    version_info,
)

__all__ = [
    "AuditLog",
    "Outcome",
    "approve",
    "delete_model",
    "delete_plan",
    "delete_version",
    "move_alias",
    "record_registration",
    "reject",
    "rollback_alias",
    "set_semver",
    "set_stage",
]

_UNCHANGED = "Nothing was changed in the registry; the refusal is in the audit log."
_SEMVER_ACTION = "semver"  # a semver set by hand (audit.ACTIONS)


@dataclass(frozen=True)
class AuditLog:
    """Where records go: the artifact store (``store_root``, ``storage_options``) and the
    platform key that signs them (the CLI's ``Workspace.cache_key()``)."""

    store_root: str
    storage_options: Mapping[str, Any] | None
    key: str


@dataclass(frozen=True)
class Outcome:
    """A change that was made: what, to which version (None: the whole model), the state
    before and after, and the audit record that says so."""

    name: str
    version: int | None
    what: str
    before: Any
    after: Any
    record: AuditRecord


# ---- approvals ----------------------------------------------------------------------------
def approve(
    name: str,
    version: int | str,
    *,
    tracking_uri: str,
    actor: str,
    ticket: str,
    note: str = "",
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Record ``actor``'s approval of ``name`` ``version`` under ``ticket``.

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: the approval breaks a rule (ticket, four eyes, no identity);
            nothing was changed and a ``refused`` record was appended.
    """
    return _decide(APPROVED, name, version, tracking_uri, actor, ticket, note, log, rules)


def reject(
    name: str,
    version: int | str,
    *,
    tracking_uri: str,
    actor: str,
    ticket: str,
    note: str = "",
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Record ``actor``'s rejection of ``name`` ``version``: it withdraws a current approval.
    An author may reject their own version.

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: a malformed ticket or no identity; nothing was changed and a
            ``refused`` record was appended.
    """
    return _decide(REJECTED, name, version, tracking_uri, actor, ticket, note, log, rules)


def _decide(
    decision: str,
    name: str,
    version: int | str,
    tracking_uri: str,
    actor: str,
    ticket: str,
    note: str,
    log: AuditLog,
    rules: RuleSet,
) -> Outcome:
    client, facts = _read(tracking_uri, name, version)
    verb = "approve" if decision == APPROVED else "reject"
    before = _decision(facts)
    found = check_approval(facts, actor, ticket, decision=decision, rules=rules)
    if found:
        _refuse(f"{verb} {_label(facts)}", found, facts, actor, before, ticket, log, tracking_uri)
    approval = Approval(facts.next_approval, decision, actor.strip(), _now(), ticket, note)
    tags = approval.tags()
    decision_tag = approval_tag(approval.n, "decision")
    ordered = {k: v for k, v in tags.items() if k != decision_tag} | {decision_tag: decision}
    _set_tags(client, facts, ordered, f"record the {decision} decision on")  # decision last
    return _record(verb, facts, actor, before, decision, ticket, note, log, tracking_uri)


# ---- stages -------------------------------------------------------------------------------
def set_stage(
    name: str,
    version: int | str,
    stage: str,
    *,
    tracking_uri: str,
    actor: str,
    note: str = "",
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Move ``name`` ``version`` to ``stage`` (staging, production, archived, or back to none)
    if the rules allow it, recording who and when on the version.

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: every rule the move breaks, named; nothing was changed and a
            ``refused`` record was appended.
    """
    client, facts = _read(tracking_uri, name, version)
    current = facts.approval
    ticket = current.ticket if current is not None and current.decision == APPROVED else None
    found = check_stage_change(facts, stage, actor, rules=rules)
    if found:
        action = f"move {_label(facts)} from {facts.stage} to {stage}"
        _refuse(action, found, facts, actor, facts.stage, ticket, log, tracking_uri)
    tags = {STAGE_BY_TAG: actor.strip(), STAGE_AT_TAG: _now(), STAGE_TAG: stage}  # stage last
    _set_tags(client, facts, tags, f"move to {stage}:")
    what = "archive" if stage == "archived" else "promote"
    done = _record(what, facts, actor, facts.stage, stage, ticket, note, log, tracking_uri)
    if facts.stage == "production" and stage != "production":
        _drop_production_aliases(client, facts, actor, log, tracking_uri, rules)
    return done


def _drop_production_aliases(
    client: MlflowClient,
    facts: VersionFacts,
    actor: str,
    log: AuditLog,
    tracking_uri: str,
    rules: RuleSet,
) -> None:
    """A version that leaves production loses its production aliases (they point only at
    production versions); each removal is recorded."""
    for alias in rules.production_aliases:
        before = _alias_holder(client, facts.name, alias)
        if before["version"] != facts.version:
            continue
        with registry_errors(f"cannot remove {facts.name}@{alias}"):
            client.delete_registered_model_alias(facts.name, alias)
        note = f"{_label(facts)} left production"
        _record("alias", facts, actor, before, None, None, note, log, tracking_uri)


# ---- registration and aliases ------------------------------------------------------------------
def record_registration(
    name: str,
    version: int,
    *,
    created: bool,
    tracking_uri: str,
    actor: str,
    log: AuditLog | None,
    rules: RuleSet = RULES,
) -> str:
    """Give a just-registered version its semantic version (``assign_semver``: idempotent)
    and, when ``created``, append the ``register`` record. Returns the semver.

    Raises:
        RegistryError: MLflow failed.
    """
    assigned = assign_semver(name, version, tracking_uri, actor=actor.strip() or None, rules=rules)
    if created and log is not None:
        _, facts = _read(tracking_uri, name, version)
        after = {
            "semver": assigned.semver,
            "change": assigned.change,
            "owner": facts.owner,
            "run_id": facts.run_id,
        }
        _record("register", facts, actor, None, after, None, assigned.reason, log, tracking_uri)
    return assigned.semver


def move_alias(
    name: str,
    alias: str,
    version: int | str,
    *,
    tracking_uri: str,
    actor: str,
    reason: str,
    log: AuditLog | None,
    rules: RuleSet = RULES,
) -> Outcome | None:
    """Point ``alias`` at ``version`` (a number or another alias) with ``tracking.promotion``
    (its alias history kept), if the rules allow it: a production alias only points at a
    version in the production stage. Returns the recorded change (None without a log).

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: the move breaks a rule; nothing was changed and a ``refused``
            record was appended.
    """
    client, facts = _read(tracking_uri, name, version)
    before = _alias_holder(client, name, alias)
    found = check_alias_move(facts, alias, actor, rules=rules)
    if found:
        action = f"point {name}@{alias} at v{facts.version}"
        if log is None:
            raise refused(action, found)
        _refuse(action, found, facts, actor, before, None, log, tracking_uri)
    promotion.promote(
        name, alias, facts.version, tracking_uri=tracking_uri, user=actor.strip(), reason=reason
    )
    if log is None:
        return None
    after = {"alias": alias, "version": facts.version}
    return _record("alias", facts, actor, before, after, None, reason, log, tracking_uri)


def rollback_alias(
    name: str,
    alias: str,
    *,
    tracking_uri: str,
    actor: str,
    reason: str,
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Move ``alias`` back to its previous holder (``tracking.promotion.rollback``); for a
    production alias the previous holder must still be in production.

    Raises:
        RegistryError: unknown model, or MLflow failed.
        PromotionRejectedError: no previous holder, or the rules refuse it; nothing was
            changed (a rules refusal is also recorded).
    """
    client = model_client(tracking_uri, name)
    require_model(client, name)
    before = _alias_holder(client, name, alias)
    target = promotion.previous_holder(name, alias, tracking_uri=tracking_uri)
    _, facts = _read(tracking_uri, name, target)
    found = check_alias_move(facts, alias, actor, rules=rules)
    if found:
        action = f"roll {name}@{alias} back to v{facts.version}"
        _refuse(action, found, facts, actor, before, None, log, tracking_uri)
    promotion.rollback(name, alias, tracking_uri=tracking_uri, user=actor.strip(), reason=reason)
    after = {"alias": alias, "version": facts.version}
    return _record("alias", facts, actor, before, after, None, reason, log, tracking_uri)


# ---- deletion -----------------------------------------------------------------------------
def delete_plan(
    name: str, version: int | str | None, *, tracking_uri: str, rules: RuleSet = RULES
) -> tuple[list[VersionFacts], list[Violation]]:
    """What deleting ``name`` ``version`` (the whole model for None) would delete, and every
    rule it would break. Reads only: nothing is changed or recorded.

    Raises:
        RegistryError: unknown model or version.
    """
    if version is None:
        facts = [facts_from_version(v) for v in list_versions(name, tracking_uri=tracking_uri)]
        return facts, check_delete_model(name, facts, rules=rules)
    _, one = _read(tracking_uri, name, version)
    return [one], check_delete(one, rules=rules)


def delete_version(
    name: str,
    version: int | str,
    *,
    tracking_uri: str,
    actor: str,
    note: str = "",
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Delete ``name`` ``version`` unless it is protected (in production: archive it first).

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: the version is protected, or no identity; nothing was
            changed and a ``refused`` record was appended.
    """
    client, facts = _read(tracking_uri, name, version)
    found = [*_identity(actor, rules), *check_delete(facts, rules=rules)]
    action = f"delete {_label(facts)}"
    if found:
        _refuse(action, found, facts, actor, facts.stage, None, log, tracking_uri)
    with registry_errors(f"cannot delete {_label(facts)}"):
        client.delete_model_version(name, str(facts.version))
    return _record("delete", facts, actor, facts.stage, None, None, note, log, tracking_uri)


def delete_model(
    name: str,
    *,
    tracking_uri: str,
    actor: str,
    note: str = "",
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Delete the registered model ``name`` with all its versions, unless one of them is in
    production (archive it first). The audit chain of the model stays and ends with the
    ``delete`` record.

    Raises:
        RegistryError: unknown model, or MLflow failed.
        PromotionRejectedError: a version is protected, or no identity; nothing was changed
            and a ``refused`` record was appended.
    """
    versions, protected = delete_plan(name, None, tracking_uri=tracking_uri, rules=rules)
    found = [*_identity(actor, rules), *protected]
    before = {str(v.version): v.stage for v in versions}
    model = VersionFacts(name=name, version=0)
    if found:
        _refuse(f"delete model {name!r}", found, model, actor, before, None, log, tracking_uri)
    client = model_client(tracking_uri, name)
    with registry_errors(f"cannot delete model {name!r}"):
        client.delete_registered_model(name)
    return _record("delete", model, actor, before, None, None, note, log, tracking_uri)


# ---- semantic version by hand ---------------------------------------------------------------
def set_semver(
    name: str,
    version: int | str,
    semver: str,
    *,
    reason: str,
    tracking_uri: str,
    actor: str,
    log: AuditLog,
    rules: RuleSet = RULES,
) -> Outcome:
    """Give ``name`` ``version`` the semantic version ``semver`` by hand, with ``reason``.

    Raises:
        RegistryError: unknown model or version, or MLflow failed.
        PromotionRejectedError: not X.Y.Z, no reason, used by another version, or no
            identity; nothing was changed and a ``refused`` record was appended.
    """
    _, facts = _read(tracking_uri, name, version)
    action = f"set the semantic version of {_label(facts)} to {semver!r}"
    found = _identity(actor, rules)
    if found:
        _refuse(action, found, facts, actor, facts.semver, None, log, tracking_uri)
    try:
        assign_semver(
            name, facts.version, tracking_uri, semver, reason, actor=actor.strip(), rules=rules
        )
    except PromotionRejectedError as exc:
        _append_refused(action, exc.headline, facts, actor, facts.semver, None, log, tracking_uri)
        raise
    return _record(
        _SEMVER_ACTION, facts, actor, facts.semver, semver, None, reason, log, tracking_uri
    )


# ---- internals ------------------------------------------------------------------------------
def _read(tracking_uri: str, name: str, version: int | str) -> tuple[MlflowClient, VersionFacts]:
    client = model_client(tracking_uri, name)
    require_model(client, name)
    found = version_info(client, resolve_version(client, name, version))
    return client, facts_from_version(found)


def _alias_holder(client: MlflowClient, name: str, alias: str) -> dict[str, Any]:
    with registry_errors(f"cannot read model {name!r}"):
        held = client.get_registered_model(name).aliases or {}
    version = held.get(alias)
    return {"alias": alias, "version": int(version) if version is not None else None}


def _set_tags(
    client: MlflowClient, facts: VersionFacts, tags: Mapping[str, str], doing: str
) -> None:
    with registry_errors(f"cannot {doing} {_label(facts)}"):
        for key, value in tags.items():
            client.set_model_version_tag(facts.name, str(facts.version), key, value)


def _identity(actor: str, rules: RuleSet) -> list[Violation]:
    if actor.strip():
        return []
    return [Violation(rules.rule(RuleId.ACTOR), "nobody is named as making this change")]


def _refuse(
    action: str,
    found: Sequence[Violation],
    facts: VersionFacts,
    actor: str,
    state: Any,
    ticket: str | None,
    log: AuditLog,
    tracking_uri: str,
) -> None:
    """Append the ``refused`` record (state unchanged), then raise the refusal."""
    ids = ", ".join(dict.fromkeys(str(v.rule.id) for v in found))
    _append_refused(action, ids, facts, actor, state, ticket, log, tracking_uri)
    raise refused(action, found, changed=_UNCHANGED)


def _append_refused(
    action: str,
    why: str,
    facts: VersionFacts,
    actor: str,
    state: Any,
    ticket: str | None,
    log: AuditLog,
    tracking_uri: str,
) -> None:
    note = f"refused: {action} ({why})"
    _record("refused", facts, actor, state, state, ticket, note, log, tracking_uri)


def _record(
    what: str,
    facts: VersionFacts,
    actor: str,
    before: Any,
    after: Any,
    ticket: str | None,
    note: str | None,
    log: AuditLog,
    tracking_uri: str,
) -> Outcome:
    version = facts.version or None  # 0: the whole model
    record = AuditRecord(
        who=actor.strip() or "(nobody)",
        what=what,
        model=facts.name,
        version=None if version is None else str(version),
        before=before,
        after=after,
        ticket=ticket or None,
        note=note or None,
    )
    sealed = audit.append(
        record,
        store_root=log.store_root,
        storage_options=log.storage_options,
        key=log.key,
        tracking_uri=tracking_uri,
    )
    reconcile.remember(
        sealed, store_root=log.store_root, storage_options=log.storage_options, key=log.key
    )
    return Outcome(facts.name, version, what, before, after, sealed)


def _decision(facts: VersionFacts) -> str:
    current = facts.approval
    if current is None or not current.decision:
        return "none"
    return current.decision


def _label(facts: VersionFacts) -> str:
    return f"{facts.name} v{facts.version}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
