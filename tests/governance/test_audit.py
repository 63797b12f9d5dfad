"""The audit log on a local store, with the head in a real MLflow registry (SQLite).

GIVEN a chain of three records for the registered model churn, WHEN one of its objects is
edited, removed, swapped, truncated or rewritten without the key, THEN ``verify`` names the
record; an untouched chain verifies clean. The tampering cases here run on the team S3 store
too (test_audit_team.py).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from mlflow import MlflowClient
from typer.testing import CliRunner

from mlplatform.artifacts.signing import Signer, new_key
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ArtifactError
from mlplatform.governance import audit
from mlplatform.governance.audit import HEAD_TAG, AuditRecord, Problem, chain_key


@dataclass
class Log:
    """One audit log under test: where it is, its key, and the registry holding the heads."""

    root: str
    options: dict[str, Any]
    key: str
    tracking_uri: str

    @property
    def store(self) -> ArtifactStore:  # a raw handle on the same objects, for tampering
        return ArtifactStore(self.root, self.options)

    def append(self, record: AuditRecord) -> AuditRecord:
        return audit.append(
            record,
            store_root=self.root,
            storage_options=self.options,
            key=self.key,
            tracking_uri=self.tracking_uri,
        )

    def verify(self, model: str | None = None, key: str | None = None) -> list[Problem]:
        return audit.verify(
            store_root=self.root,
            storage_options=self.options,
            key=key or self.key,
            tracking_uri=self.tracking_uri,
            model=model,
        )

    def records(self, model: str | None = None) -> list[AuditRecord]:
        return audit.records(store_root=self.root, storage_options=self.options, model=model)

    def key_of(self, model: str | None, seq: int) -> str:
        return f"{chain_key(model)}{seq:012d}.json"

    def head(self, model: str) -> str | None:
        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return client.get_registered_model(model).tags.get(HEAD_TAG)


def seed(log: Log, model: str) -> list[AuditRecord]:
    """Register ``model`` and record three changes to it."""
    client = MlflowClient(tracking_uri=log.tracking_uri, registry_uri=log.tracking_uri)
    client.create_registered_model(model)
    steps = [
        AuditRecord(who="ada", what="register", model=model, version="1", after="1.0.0"),
        AuditRecord(who="bob", what="approve", model=model, version="1", ticket="OPS-1"),
        AuditRecord(
            who="ada",
            what="promote",
            model=model,
            version="1",
            before=None,
            after={"alias": "champion"},
            ticket="OPS-1",
            note="first release",
        ),
    ]
    return [log.append(step) for step in steps]


# ---- the tampering cases (shared with the team store) --------------------------------------
def edit_field(log: Log, model: str) -> None:
    key = log.key_of(model, 2)
    fields = json.loads(log.store.read_bytes(key))
    fields["who"] = "mallory"
    log.store.write_bytes(key, json.dumps(fields).encode())


def remove_middle(log: Log, model: str) -> None:
    log.store.delete(log.key_of(model, 2))


def swap(log: Log, model: str) -> None:
    two, three = log.key_of(model, 2), log.key_of(model, 3)
    first, second = log.store.read_bytes(two), log.store.read_bytes(three)
    log.store.write_bytes(two, second)
    log.store.write_bytes(three, first)


def truncate(log: Log, model: str) -> None:
    log.store.delete(log.key_of(model, 3))
    log.store.delete(log.key_of(model, 2))


def rewrite_without_key(log: Log, model: str) -> None:
    """A consistent new chain (hashes and links right) signed with a key of the forger's."""
    forger, prev = Signer(new_key()), audit.GENESIS
    for seq in (1, 2, 3):
        key = log.key_of(model, seq)
        fields = json.loads(log.store.read_bytes(key))
        fields.update(who="mallory", prev=prev)
        forged = audit.seal(AuditRecord(**fields), forger)
        log.store.write_bytes(key, json.dumps(forged.__dict__).encode())
        prev = forged.hash


TAMPERINGS: dict[str, tuple[Callable[[Log, str], None], set[tuple[str, int | None]]]] = {
    "edit a field": (edit_field, {("edited", 2), ("reordered", 3)}),
    "remove a middle record": (remove_middle, {("missing", 3)}),
    "swap two records": (swap, {("misplaced", 2), ("misplaced", 3), ("reordered", 2)}),
    "truncate the end": (truncate, {("truncated", 3)}),
    "rewrite without the key": (
        rewrite_without_key,
        {("forged", 1), ("forged", 2), ("forged", 3), ("edited", 3)},
    ),
}


def assert_detected(log: Log, model: str, case: str) -> None:
    tamper, expected = TAMPERINGS[case]
    seed(log, model)
    assert log.verify(model) == []
    # WHEN the log is tampered with behind the platform's back
    tamper(log, model)
    # THEN verify finds it, naming the record (its chain and number) in every message
    problems = log.verify(model)
    found = {(p.kind, p.seq) for p in problems}
    assert expected <= found, problems
    for problem in problems:
        assert f"{model!r} record {problem.seq}" in problem.message


# ---- local store -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory) -> Path:
    """An MLflow SQLite registry with its tables made (once: that takes seconds)."""
    db = tmp_path_factory.mktemp("registry") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_registered_models()
    return db


@pytest.fixture
def log(tmp_path, empty_registry) -> Log:
    db = Path(shutil.copyfile(empty_registry, tmp_path / "mlflow.db"))
    return Log(
        root=str(tmp_path / "store"), options={}, key=new_key(), tracking_uri=f"sqlite:///{db}"
    )


def test_a_good_chain_verifies_clean_and_lists_in_order(log):
    written = seed(log, "churn")
    # THEN each record is numbered, chained to the previous one and signed
    assert [r.seq for r in written] == [1, 2, 3]
    assert written[0].prev == audit.GENESIS
    assert [r.prev for r in written[1:]] == [r.hash for r in written[:-1]]
    assert all(r.hmac.startswith("hmac-sha256:") and r.when.endswith("+00:00") for r in written)
    # AND the registry keeps the head, the log lists what was written, verify finds nothing
    assert log.head("churn") == f"3:{written[2].hash}"
    assert log.records("churn") == written
    assert log.verify() == []
    assert log.store.list(chain_key("churn")) == [log.key_of("churn", n) for n in (1, 2, 3)]


@pytest.mark.parametrize("case", sorted(TAMPERINGS))
def test_tampering_is_detected(log, case):
    assert_detected(log, "churn", case)


def test_verify_with_another_key_names_both_key_ids(log):
    seed(log, "churn")
    other = new_key()
    problems = log.verify("churn", key=other)
    assert {p.kind for p in problems} == {"forged"}
    assert Signer(other).key_id in problems[0].message
    assert Signer(log.key).key_id in problems[0].message


def test_a_record_is_created_only_if_absent(log):
    store = log.store
    key = log.key_of("churn", 1)
    assert audit._create(store, key, b"first")
    # WHEN a second writer creates the same record number
    assert not audit._create(store, key, b"second")
    # THEN it is refused and the first record stays
    assert store.read_bytes(key) == b"first"


def test_concurrent_appenders_get_distinct_numbers(log):
    seed(log, "churn")
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            log.append(AuditRecord(who=f"user{i}", what="alias", model="churn"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.seq for r in log.records("churn")] == list(range(1, 12))
    assert log.verify("churn") == []


def test_appending_after_a_truncation_keeps_the_gap_visible(log):
    seed(log, "churn")
    truncate(log, "churn")
    # WHEN the next change is recorded
    new = log.append(AuditRecord(who="ada", what="archive", model="churn"))
    # THEN it continues after the head, not after the truncated end
    assert new.seq == 4
    assert ("missing", 4) in {(p.kind, p.seq) for p in log.verify("churn")}


def test_a_deleted_model_is_closed_by_its_delete_record(log):
    seed(log, "churn")
    client = MlflowClient(tracking_uri=log.tracking_uri, registry_uri=log.tracking_uri)
    log.append(AuditRecord(who="ada", what="delete", model="churn"))
    client.delete_registered_model("churn")
    assert log.verify("churn") == []
    # WHEN the delete record is removed too
    log.store.delete(log.key_of("churn", 4))
    # THEN the chain no longer ends where the model did
    assert [p.kind for p in log.verify("churn")] == ["unanchored"]


def test_a_removed_head_tag_is_found(log):
    seed(log, "churn")
    client = MlflowClient(tracking_uri=log.tracking_uri, registry_uri=log.tracking_uri)
    client.delete_registered_model_tag("churn", HEAD_TAG)
    assert [p.kind for p in log.verify("churn")] == ["unanchored"]


def test_a_refused_registration_needs_no_head(log):
    # GIVEN a registration refused before the model existed
    log.append(AuditRecord(who="ada", what="refused", model="nope", note="bad semver"))
    assert log.verify("nope") == []


def test_platform_records_and_model_names_that_are_not_keys(log):
    log.append(AuditRecord(who="ada", what="deploy", note="cluster-wide"))
    seed(log, "churn v2%ü")
    assert next(r.what for r in log.records(None)) == "deploy"  # every chain, by time
    assert len(log.records("churn v2%ü")) == 3
    assert log.verify() == []
    # AND no model name reaches outside its folder (MLflow itself refuses '/' and '..')
    assert chain_key("..") == "audit/models/%2E%2E/"
    assert chain_key("a/b") == "audit/models/a%2Fb/"


def test_an_unknown_action_is_refused(log):
    with pytest.raises(ArtifactError, match="unknown audit action 'rename'"):
        log.append(AuditRecord(who="ada", what="rename", model="churn"))
    assert log.store.list("audit/") == []


# ---- the CLI ---------------------------------------------------------------------------------
def cli_app() -> typer.Typer:
    """`mlp audit` under a root that hands over settings as app.py's callback does."""
    from mlplatform.cli import audit as audit_cli

    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        from mlplatform.settings import load_settings

        ctx.obj = load_settings

    root.add_typer(audit_cli.app, name="audit")
    return root


@pytest.fixture
def cli_log(log, monkeypatch, tmp_path) -> Log:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLPLATFORM_ARTIFACT_STORE", log.root)
    monkeypatch.setenv("MLPLATFORM_TRACKING_URI", log.tracking_uri)
    monkeypatch.setenv("MLPLATFORM_CACHE_KEY", log.key)
    return log


def test_cli_lists_and_verifies(cli_log):
    seed(cli_log, "churn")
    runner = CliRunner()
    listed = runner.invoke(cli_app(), ["audit", "list", "--model", "churn", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [r["what"] for r in json.loads(listed.stdout)] == ["register", "approve", "promote"]
    table = runner.invoke(cli_app(), ["audit", "list"])
    assert table.exit_code == 0
    assert "OPS-1" in table.stdout
    clean = runner.invoke(cli_app(), ["audit", "verify"])
    assert clean.exit_code == 0
    assert "intact" in clean.stdout
    # WHEN a record is removed, THEN verify exits 1 (a check found something), naming it
    remove_middle(cli_log, "churn")
    broken = runner.invoke(cli_app(), ["audit", "verify", "--model", "churn"])
    assert broken.exit_code == 1
    assert "missing" in broken.stdout
    assert "record 3" in broken.stdout


def test_cli_verify_without_a_key_says_how_to_get_one(cli_log, monkeypatch):
    seed(cli_log, "churn")
    monkeypatch.delenv("MLPLATFORM_CACHE_KEY")
    monkeypatch.setenv("MLPLATFORM_HOME", str(cli_log.store.root[len("file://") :]) + "-home")
    result = CliRunner().invoke(cli_app(), ["audit", "verify"])
    assert result.exit_code != 0
    assert "no platform key" in str(result.exception)
