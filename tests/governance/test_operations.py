"""Governed registry operations on a real MLflow registry (SQLite) and a local audit log.

GIVEN churn v1, authored by ada, with an owner, a semantic version, lineage to a run and a
passed gate (everything production needs but an approval), and churn v2 with no governance
facts at all, WHEN approvals, stage moves, deletions and semver overrides are asked for, THEN
each refusal names every broken rule, changes nothing in the registry and is recorded as
``refused``; each change is written to the version's tags and recorded with before and after;
and the audit chain verifies clean at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform.artifacts.signing import new_key
from mlplatform.errors import PromotionRejectedError, RegistryError
from mlplatform.governance import audit
from mlplatform.governance.audit import HEAD_TAG
from mlplatform.governance.check import facts_from_version
from mlplatform.governance.operations import (
    AuditLog,
    approve,
    delete_model,
    delete_plan,
    delete_version,
    reject,
    set_semver,
    set_stage,
)
from mlplatform.governance.rules import (
    AUTHOR_TAG,
    GATE_TAG,
    OWNER_TAG,
    SEMVER_TAG,
    STAGE_BY_TAG,
    STAGE_TAG,
)
from mlplatform.tracking.registry import get_version

READY = {OWNER_TAG: "risk-team", AUTHOR_TAG: "ada", GATE_TAG: "passed", SEMVER_TAG: "1.0.0"}


@pytest.fixture
def uri(tracking_uri: str, tmp_path: Path) -> str:
    """churn v1 (ready for production but for an approval) and v2 (no facts), both from runs."""
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp = client.create_experiment("gov", artifact_location=(tmp_path / "art").as_uri())
    client.create_registered_model("churn")
    for tags in (READY, {}):
        run = client.create_run(exp).info.run_id
        client.create_model_version("churn", f"runs:/{run}/model", run_id=run, tags=tags)
    return tracking_uri


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(str(tmp_path / "store"), None, new_key())


def snapshot(uri: str) -> dict[str, Any]:
    """Everything a refusal must leave alone: every version's tags, the model's aliases, and
    the model's tags except the audit head (the audit log's own bookkeeping)."""
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    model = client.get_registered_model("churn")
    versions = client.search_model_versions("name = 'churn'")
    return {
        "versions": {v.version: dict(v.tags) for v in versions},
        "aliases": dict(model.aliases),
        "model_tags": {k: v for k, v in model.tags.items() if k != HEAD_TAG},
    }


def refusal(call: Any, **kwargs: Any) -> str:
    with pytest.raises(PromotionRejectedError) as caught:
        call(**kwargs)
    return str(caught.value)


def last_record(log: AuditLog) -> audit.AuditRecord:
    return audit.records(store_root=log.store_root, storage_options=None, model="churn")[-1]


def verify(uri: str, log: AuditLog) -> list[audit.Problem]:
    return audit.verify(
        store_root=log.store_root, storage_options=None, key=log.key, tracking_uri=uri
    )


def facts(uri: str, version: int = 1):
    return facts_from_version(get_version("churn", version, tracking_uri=uri))


# ---- approvals ----------------------------------------------------------------------------
def test_the_author_cannot_approve_their_own_version(uri, log):
    before = snapshot(uri)
    # WHEN ada, who registered v1, approves it
    text = refusal(
        approve, name="churn", version=1, tracking_uri=uri, actor="ADA ", ticket="MLOPS-1", log=log
    )
    # THEN refused naming four eyes; nothing changed; a refused record is in the log
    assert "approval.four_eyes" in text
    assert "is its author" in text
    assert snapshot(uri) == before
    record = last_record(log)
    assert (record.what, record.who, record.version, record.ticket) == (
        "refused",
        "ADA",
        "1",
        "MLOPS-1",
    )
    assert "approval.four_eyes" in (record.note or "")


@pytest.mark.parametrize("ticket", ["mlops-1", "MLOPS", "MLOPS-1a", "", "1-MLOPS"])
def test_a_malformed_ticket_is_refused_naming_the_rule(uri, log, ticket):
    before = snapshot(uri)
    text = refusal(
        approve, name="churn", version=1, tracking_uri=uri, actor="bob", ticket=ticket, log=log
    )
    assert "approval.ticket" in text
    assert "approval.four_eyes" not in text
    assert snapshot(uri) == before
    assert last_record(log).what == "refused"


def test_no_identity_is_refused(uri, log):
    text = refusal(
        approve, name="churn", version=1, tracking_uri=uri, actor="  ", ticket="MLOPS-1", log=log
    )
    assert "identity.actor" in text


def test_an_approval_is_recorded_on_the_version_and_in_the_log(uri, log):
    done = approve(
        "churn", 1, tracking_uri=uri, actor="bob", ticket="MLOPS-7", note="eval ok", log=log
    )
    current = facts(uri).approval
    assert current is not None
    assert (current.n, current.decision, current.by, current.ticket, current.note) == (
        1,
        "approved",
        "bob",
        "MLOPS-7",
        "eval ok",
    )
    assert current.at  # a UTC timestamp
    assert (done.what, done.before, done.after) == ("approve", "none", "approved")
    assert (done.record.what, done.record.who, done.record.ticket) == ("approve", "bob", "MLOPS-7")


def test_a_rejection_withdraws_the_approval_and_the_author_may_reject(uri, log):
    approve("churn", 1, tracking_uri=uri, actor="bob", ticket="MLOPS-7", log=log)
    done = reject("churn", 1, tracking_uri=uri, actor="ada", ticket="MLOPS-8", log=log)
    assert (done.before, done.after) == ("approved", "rejected")
    assert facts(uri).approval.decision == "rejected"
    # THEN production is refused again: the latest decision is the rejection
    text = refusal(
        set_stage,
        name="churn",
        version=1,
        stage="production",
        tracking_uri=uri,
        actor="bob",
        log=log,
    )
    assert "production.approval" in text
    assert "'rejected' by ada" in text


# ---- stages -------------------------------------------------------------------------------
def test_production_without_anything_names_every_missing_condition(uri, log):
    before = snapshot(uri)
    # WHEN v2, which has no governance facts, is moved to production
    text = refusal(
        set_stage,
        name="churn",
        version=2,
        stage="production",
        tracking_uri=uri,
        actor="bob",
        log=log,
    )
    # THEN every missing condition is named (lineage is there: it came from a run)
    for rule in ("metadata.owner", "metadata.semver", "production.gate", "production.approval"):
        assert rule in text
    assert "metadata.lineage" not in text
    # AND the registry is unchanged, and the refusal is recorded with the state unchanged
    assert snapshot(uri) == before
    record = last_record(log)
    assert (record.what, record.version, record.before, record.after) == (
        "refused",
        "2",
        "none",
        "none",
    )
    for rule in ("metadata.owner", "metadata.semver", "production.gate", "production.approval"):
        assert rule in (record.note or "")


def test_production_after_a_second_persons_approval(uri, log):
    refusal(
        set_stage,
        name="churn",
        version=1,
        stage="production",
        tracking_uri=uri,
        actor="ada",
        log=log,
    )
    approve("churn", 1, tracking_uri=uri, actor="bob", ticket="MLOPS-7", log=log)
    done = set_stage("churn", 1, "production", tracking_uri=uri, actor="ada", log=log)
    tags = get_version("churn", 1, tracking_uri=uri).tags
    assert (tags[STAGE_TAG], tags[STAGE_BY_TAG]) == ("production", "ada")
    assert (done.record.what, done.before, done.after) == ("promote", "none", "production")
    assert done.record.ticket == "MLOPS-7"  # the approval it went in under
    assert [
        r.what
        for r in audit.records(store_root=log.store_root, storage_options=None, model="churn")
    ] == ["refused", "approve", "promote"]


def test_an_unknown_stage_is_refused(uri, log):
    text = refusal(
        set_stage, name="churn", version=1, stage="live", tracking_uri=uri, actor="bob", log=log
    )
    assert "stage.known" in text


def test_an_unknown_version_is_an_error_and_records_nothing(uri, log):
    with pytest.raises(RegistryError, match="no version 9"):
        set_stage("churn", 9, "staging", tracking_uri=uri, actor="bob", log=log)
    assert audit.records(store_root=log.store_root, storage_options=None, model="churn") == []


# ---- deletion -----------------------------------------------------------------------------
def _in_production(uri: str, log: AuditLog) -> None:
    approve("churn", 1, tracking_uri=uri, actor="bob", ticket="MLOPS-7", log=log)
    set_stage("churn", 1, "production", tracking_uri=uri, actor="ada", log=log)


def test_a_production_version_cannot_be_deleted_until_archived(uri, log):
    _in_production(uri, log)
    before = snapshot(uri)
    text = refusal(delete_version, name="churn", version=1, tracking_uri=uri, actor="bob", log=log)
    assert "delete.protected" in text
    assert "mlp models archive NAME VERSION" in text
    assert snapshot(uri) == before
    assert last_record(log).what == "refused"
    # WHEN archived THEN it can be deleted, and the deletion is recorded
    assert (
        set_stage("churn", 1, "archived", tracking_uri=uri, actor="bob", log=log).what == "archive"
    )
    done = delete_version("churn", 1, tracking_uri=uri, actor="bob", log=log)
    assert (done.what, done.before, done.after) == ("delete", "archived", None)
    with pytest.raises(RegistryError):
        get_version("churn", 1, tracking_uri=uri)
    assert verify(uri, log) == []


def test_a_model_holding_a_production_version_cannot_be_deleted(uri, log):
    _in_production(uri, log)
    versions, violations = delete_plan("churn", None, tracking_uri=uri)
    assert [v.version for v in versions] == [2, 1]
    assert len(violations) == 1
    text = refusal(delete_model, name="churn", tracking_uri=uri, actor="bob", log=log)
    assert "delete.protected" in text
    assert "churn v1" in text
    assert MlflowClient(uri).get_registered_model("churn").name == "churn"
    set_stage("churn", 1, "archived", tracking_uri=uri, actor="bob", log=log)
    done = delete_model("churn", tracking_uri=uri, actor="bob", log=log)
    assert done.version is None
    assert done.before == {"1": "archived", "2": "none"}
    with pytest.raises(RegistryError):
        get_version("churn", 2, tracking_uri=uri)
    # THEN the chain ends with the delete record and still verifies (no registry head needed)
    assert last_record(log).what == "delete"
    assert verify(uri, log) == []


# ---- semver by hand -----------------------------------------------------------------------
def test_a_semver_override_is_recorded_with_its_reason(uri, log):
    done = set_semver(
        "churn", 2, "1.1.0", reason="same columns", tracking_uri=uri, actor="bob", log=log
    )
    assert facts(uri, 2).semver == "1.1.0"
    assert (done.before, done.after, done.record.note) == (None, "1.1.0", "same columns")


@pytest.mark.parametrize(
    ("value", "reason", "rule"),
    [
        ("1.0.0", "dup", "semver.override"),
        ("1.0", "bad", "metadata.semver"),
        ("2.0.0", " ", "semver.override"),
    ],
)
def test_a_bad_semver_override_is_refused_and_recorded(uri, log, value, reason, rule):
    before = snapshot(uri)
    text = refusal(
        set_semver,
        name="churn",
        version=2,
        semver=value,
        reason=reason,
        tracking_uri=uri,
        actor="bob",
        log=log,
    )
    assert rule in text
    assert snapshot(uri) == before
    assert last_record(log).what == "refused"


def test_the_whole_walk_leaves_a_chain_that_verifies(uri, log):
    refusal(
        approve, name="churn", version=1, tracking_uri=uri, actor="ada", ticket="MLOPS-1", log=log
    )
    refusal(
        set_stage,
        name="churn",
        version=1,
        stage="production",
        tracking_uri=uri,
        actor="ada",
        log=log,
    )
    _in_production(uri, log)
    refusal(delete_version, name="churn", version=1, tracking_uri=uri, actor="bob", log=log)
    set_stage("churn", 1, "archived", tracking_uri=uri, actor="bob", log=log)
    delete_version("churn", 1, tracking_uri=uri, actor="bob", log=log)
    kinds = [
        r.what
        for r in audit.records(store_root=log.store_root, storage_options=None, model="churn")
    ]
    assert kinds == ["refused", "refused", "approve", "promote", "refused", "archive", "delete"]
    assert verify(uri, log) == []
