"""MLflow webhook deliveries checked, mapped and acted on; the reconciliation diff.

The pure parts on plain data first; then the receiver's handling and ``reconcile`` against a
real MLflow registry (SQLite) and a local store, with deliveries signed the way MLflow signs
them (``mlflow.webhooks.delivery._generate_hmac_signature``). The receiver against the real
MLflow server of ``mlp up``, which sends the deliveries itself:
tests/services/test_audit_receiver.py.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.webhooks import constants as mlflow_constants
from mlflow.webhooks.delivery import _generate_hmac_signature

from mlplatform.artifacts.signing import new_key
from mlplatform.errors import ArtifactError
from mlplatform.governance import audit, reconcile, webhooks
from mlplatform.governance.check import VersionFacts
from mlplatform.governance.receiver import Receiver, ReceiverConfig
from mlplatform.governance.reconcile import ModelState, Snapshot, apply_event, diff
from mlplatform.governance.rules import RULES, STAGE_TAG
from mlplatform.governance.webhooks import Delivery, Event, ReplayGuard

SECRET = "s3cret-webhook-key"
NOW = 1_800_000_000


def delivery(
    body: dict[str, Any] | bytes, *, secret: str = SECRET, ts: int = NOW, id_: str = ""
) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    id_ = id_ or str(uuid.uuid4())
    signature = _generate_hmac_signature(secret, id_, str(ts), raw.decode())
    return Delivery(id_, str(ts), signature, raw)


def alias_body(name: str, alias: str, version: str, action: str = "created") -> dict[str, Any]:
    data = {"name": name, "alias": alias, **({"version": version} if action == "created" else {})}
    return {"entity": "model_version_alias", "action": action, "timestamp": "x", "data": data}


# ---- signatures -----------------------------------------------------------------------------
def test_headers_match_mlflows():
    assert webhooks.SIGNATURE_HEADER == mlflow_constants.WEBHOOK_SIGNATURE_HEADER
    assert webhooks.TIMESTAMP_HEADER == mlflow_constants.WEBHOOK_TIMESTAMP_HEADER
    assert webhooks.DELIVERY_ID_HEADER == mlflow_constants.WEBHOOK_DELIVERY_ID_HEADER


def test_our_signature_is_mlflows():
    body = json.dumps(alias_body("churn", "production", "2"))
    assert webhooks.sign(SECRET, "id-1", "123", body.encode()) == _generate_hmac_signature(
        SECRET, "id-1", "123", body
    )


def test_a_genuine_delivery_is_accepted():
    assert (
        webhooks.check_delivery(
            delivery(alias_body("m", "a", "1")), SECRET, now=NOW, guard=ReplayGuard()
        )
        is None
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ("other secret", 401),
        ("edited body", 401),
        ("no signature", 400),
        ("expired", 401),
        ("from the future", 401),
        ("bad timestamp", 400),
    ],
)
def test_bad_deliveries_are_refused(change, status):
    good = delivery(alias_body("m", "production", "1"))
    bad = {
        "other secret": delivery(alias_body("m", "production", "1"), secret="guessed"),
        "edited body": Delivery(
            good.delivery_id, good.timestamp, good.signature, good.body.replace(b'"1"', b'"9"')
        ),
        "no signature": Delivery(good.delivery_id, good.timestamp, None, good.body),
        "expired": delivery(alias_body("m", "production", "1"), ts=NOW - webhooks.TOLERANCE - 1),
        "from the future": delivery(
            alias_body("m", "production", "1"), ts=NOW + webhooks.TOLERANCE + 1
        ),
        "bad timestamp": Delivery(good.delivery_id, "12a", good.signature, good.body),
    }[change]
    refused = webhooks.check_delivery(bad, SECRET, now=NOW, guard=ReplayGuard())
    assert refused is not None
    assert refused.status == status


def test_a_replayed_delivery_is_refused_and_a_forgery_cannot_burn_an_id():
    guard = ReplayGuard()
    genuine = delivery(alias_body("m", "a", "1"), id_="d-1")
    forged = delivery(alias_body("m", "a", "1"), id_="d-1", secret="guessed")
    # GIVEN a forger who sends the id first
    assert webhooks.check_delivery(forged, SECRET, now=NOW, guard=guard).status == 401
    # THEN the genuine delivery still gets in, once
    assert webhooks.check_delivery(genuine, SECRET, now=NOW, guard=guard) is None
    again = webhooks.check_delivery(genuine, SECRET, now=NOW + 1, guard=guard)
    assert again is not None
    assert again.status == 409


def test_headers_are_read_case_insensitively():
    d = Delivery.from_headers(
        {"x-mlflow-delivery-id": "i", "X-MLFLOW-TIMESTAMP": "1", "X-MLflow-Signature": "v1,x"},
        b"{}",
    )
    assert (d.delivery_id, d.timestamp, d.signature) == ("i", "1", "v1,x")


# ---- payloads -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"entity": "x", "action": "y"}', b'{"data": {}}']
)
def test_malformed_bodies_are_400(body):
    refused = webhooks.parse_event(body, "d")
    assert isinstance(refused, webhooks.Rejection)
    assert refused.status == 400


def event(body: dict[str, Any]) -> Event:
    found = webhooks.parse_event(json.dumps(body).encode(), "d-9")
    assert isinstance(found, Event)
    return found


def test_events_map_to_records():
    version = event(
        {
            "entity": "model_version",
            "action": "created",
            "data": {"name": "m", "version": "3", "run_id": "r", "source": "s"},
        }
    )
    [reg] = webhooks.to_records(version)
    assert (reg.who, reg.what, reg.model, reg.version, reg.after) == (
        webhooks.WHO,
        "register",
        "m",
        "3",
        {"run_id": "r", "source": "s"},
    )
    assert "d-9" in (reg.note or "")
    [moved] = webhooks.to_records(event(alias_body("m", "production", "3")), previous="2")
    assert (moved.what, moved.version, moved.before, moved.after) == (
        "alias",
        "3",
        {"production": "2"},
        {"production": "3"},
    )
    [gone] = webhooks.to_records(event(alias_body("m", "production", "", "deleted")), previous="3")
    assert (gone.what, gone.version, gone.before, gone.after) == (
        "alias",
        "3",
        {"production": "3"},
        None,
    )


def test_only_governed_tags_are_recorded():
    def tag(key: str) -> list[audit.AuditRecord]:
        body = {
            "entity": "model_version_tag",
            "action": "set",
            "data": {"name": "m", "version": "1", "key": key, "value": "v"},
        }
        return webhooks.to_records(event(body))

    assert [r.after for r in tag(STAGE_TAG)] == [{STAGE_TAG: "v"}]
    assert tag("mlplatform.approval.1.decision")[0].what == "tag"
    assert tag("mlplatform.approval.1.by") == []  # the decision tag is written last: one record
    assert tag("team") == []


# ---- revert decisions -----------------------------------------------------------------------
def facts(version: int, stage: str) -> VersionFacts:
    return VersionFacts(name="m", version=version, stage=stage)


def test_production_alias_on_a_version_not_in_production_must_be_reverted():
    e = event(alias_body("m", "production", "3"))
    broken = webhooks.must_revert(e, facts(3, "staging"))
    assert [str(v.rule.id) for v in broken] == ["production.alias"]
    assert webhooks.must_revert(e, facts(3, "production")) == []
    assert webhooks.must_revert(event(alias_body("m", "challenger", "3")), facts(3, "none")) == []
    assert webhooks.must_revert(e, None) == []  # the version is gone: nothing to revert


def test_champion_counts_where_the_project_ties_it_to_production():
    rules = RULES.with_production_aliases(("champion",))
    assert webhooks.must_revert(
        event(alias_body("m", "champion", "3")), facts(3, "staging"), rules=rules
    )


def test_a_revert_goes_back_only_to_an_allowed_holder():
    assert webhooks.revert_target("production", facts(2, "production")) == "2"
    assert webhooks.revert_target("production", facts(2, "archived")) is None  # delete: no loop
    assert webhooks.revert_target("production", None) is None


# ---- the reconciliation diff ----------------------------------------------------------------
def test_diff_records_each_change_once():
    old = Snapshot(
        {
            "m": ModelState({"1": "production", "2": "none"}, {"production": "1"}),
            "gone": ModelState({"1": "none"}),
        }
    )
    new = Snapshot(
        {
            "m": ModelState({"1": "archived", "3": "none"}, {"production": "3"}),
            "fresh": ModelState({"1": "none"}),
        }
    )
    found = [(r.what, r.model, r.version, r.before, r.after) for r in diff(old, new)]
    assert found == [
        ("register", "fresh", None, None, {"versions": {"1": "none"}}),
        ("register", "fresh", "1", None, {STAGE_TAG: "none"}),
        ("delete", "gone", None, {"1": "none"}, None),
        ("tag", "m", "1", {STAGE_TAG: "production"}, {STAGE_TAG: "archived"}),
        ("delete", "m", "2", "none", None),
        ("register", "m", "3", None, {STAGE_TAG: "none"}),
        ("alias", "m", "3", {"production": "1"}, {"production": "3"}),
    ]
    assert all(r.who == reconcile.WHO for r in diff(old, new))
    assert diff(new, new) == []


def test_events_update_the_snapshot_so_reconcile_does_not_record_them_again():
    snap = Snapshot({"m": ModelState({"1": "none"}, {})})
    after = apply_event(snap, event(alias_body("m", "production", "1")))
    after = apply_event(
        after,
        event(
            {
                "entity": "model_version",
                "action": "created",
                "data": {"name": "m", "version": "2", "tags": {}},
            }
        ),
    )
    assert after == Snapshot({"m": ModelState({"1": "none", "2": "none"}, {"production": "1"})})
    assert (
        apply_event(after, event(alias_body("m", "production", "", "deleted"))).alias(
            "m", "production"
        )
        is None
    )


# ---- against a real registry and a local store ----------------------------------------------
@pytest.fixture
def rx(tracking_uri, tmp_path) -> Receiver:
    return Receiver(
        ReceiverConfig(tracking_uri, str(tmp_path / "store"), new_key(), SECRET, reconcile_every=0)
    )


def send(rx: Receiver, body: dict[str, Any]) -> int:
    d = delivery(body, ts=NOW)
    headers = {
        webhooks.DELIVERY_ID_HEADER: d.delivery_id,
        webhooks.TIMESTAMP_HEADER: d.timestamp,
        webhooks.SIGNATURE_HEADER: d.signature,
    }
    return rx.handle(headers, d.body, now=NOW).status


def registered(client: MlflowClient, name: str, stages: list[str]) -> None:
    client.create_registered_model(name)
    for i, stage in enumerate(stages, 1):
        client.create_model_version(name, f"s3://x/{i}", tags={STAGE_TAG: stage})


def logged(rx: Receiver, name: str) -> list[tuple[str, Any, Any]]:
    found = audit.records(store_root=rx.cfg.store_root, storage_options=None, model=name)
    return [(r.what, r.before, r.after) for r in found]


def test_receiver_reverts_a_production_alias_move_and_records_both(rx, tracking_uri):
    client = MlflowClient(tracking_uri)
    registered(client, "m", ["production", "staging"])
    client.set_registered_model_alias("m", "production", "1")
    rx.reconcile_now()  # the baseline: production -> 1
    # WHEN someone moves production to v2 (staging) outside the platform
    client.set_registered_model_alias("m", "production", "2")
    assert send(rx, alias_body("m", "production", "2")) == 200
    # THEN it is put back on v1, and both the move and the revert are in the log
    assert client.get_registered_model("m").aliases == {"production": 1}
    assert logged(rx, "m") == [
        ("alias", {"production": "1"}, {"production": "2"}),
        ("revert", {"production": "2"}, {"production": "1"}),
    ]
    # AND the echo of the revert, and a later reconcile, record nothing more
    assert send(rx, alias_body("m", "production", "1")) == 200
    assert rx.reconcile_now().records == []
    assert len(logged(rx, "m")) == 2
    assert (
        audit.verify(
            store_root=rx.cfg.store_root,
            storage_options=None,
            key=rx.cfg.key,
            tracking_uri=tracking_uri,
        )
        == []
    )


def test_receiver_deletes_a_production_alias_with_no_allowed_holder(rx, tracking_uri):
    client = MlflowClient(tracking_uri)
    registered(client, "m", ["staging"])
    rx.reconcile_now()
    client.set_registered_model_alias("m", "production", "1")
    assert send(rx, alias_body("m", "production", "1")) == 200
    assert client.get_registered_model("m").aliases == {}
    assert logged(rx, "m")[-1] == ("revert", {"production": "1"}, None)


def test_a_forged_delivery_writes_nothing(rx, tracking_uri):
    registered(MlflowClient(tracking_uri), "m", ["none"])
    d = delivery(alias_body("m", "x", "1"), secret="guessed")
    headers = {
        webhooks.DELIVERY_ID_HEADER: d.delivery_id,
        webhooks.TIMESTAMP_HEADER: d.timestamp,
        webhooks.SIGNATURE_HEADER: d.signature,
    }
    assert rx.handle(headers, d.body, now=NOW).status == 401
    assert logged(rx, "m") == []


def test_reconcile_records_a_deletion_once(rx, tracking_uri):
    client = MlflowClient(tracking_uri)
    registered(client, "m", ["none", "none"])
    assert rx.reconcile_now().baseline
    client.delete_model_version("m", "1")
    [deleted] = rx.reconcile_now().records
    assert (deleted.what, deleted.version, deleted.who) == ("delete", "1", reconcile.WHO)
    assert rx.reconcile_now().records == []  # idempotent


def test_an_edited_snapshot_is_refused(rx, tracking_uri):
    registered(MlflowClient(tracking_uri), "m", ["none"])
    rx.reconcile_now()
    path = rx.store.url(reconcile.SNAPSHOT_KEY).removeprefix("file://")
    with open(path) as f:
        doc = json.load(f)
    doc["models"] = {}
    with open(path, "w") as f:
        json.dump(doc, f)
    with pytest.raises(ArtifactError, match="HMAC"):
        rx.reconcile_now()


def test_cli_reconcile(tracking_uri, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from .test_audit import cli_app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLPLATFORM_ARTIFACT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("MLPLATFORM_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("MLPLATFORM_CACHE_KEY", new_key())
    client = MlflowClient(tracking_uri)
    registered(client, "churn", ["none", "none"])
    runner = CliRunner()
    first = runner.invoke(cli_app(), ["audit", "reconcile"])
    assert first.exit_code == 0, first.output
    assert "saved the registry" in first.stdout
    # WHEN a version is deleted outside the platform
    client.delete_model_version("churn", "2")
    found = runner.invoke(cli_app(), ["audit", "reconcile", "--model", "churn", "--format", "json"])
    assert found.exit_code == 0, found.output
    out = json.loads(found.stdout)
    assert [(r["what"], r["version"]) for r in out["records"]] == [("delete", "2")]
    again = runner.invoke(cli_app(), ["audit", "reconcile"])
    assert "Nothing changed" in again.stdout
    assert runner.invoke(cli_app(), ["audit", "verify"]).exit_code == 0


def test_changes_made_through_the_platform_are_not_recorded_again(rx, tracking_uri):
    # GIVEN a reconciled registry with v1 (approved, ready) and v2
    from mlplatform.governance.operations import AuditLog, approve, move_alias, set_stage
    from mlplatform.governance.rules import AUTHOR_TAG, GATE_TAG, OWNER_TAG, SEMVER_TAG

    client = MlflowClient(tracking_uri)
    exp = client.create_experiment("e")
    client.create_registered_model("m")
    ready = {OWNER_TAG: "team", AUTHOR_TAG: "ada", GATE_TAG: "passed", SEMVER_TAG: "1.0.0"}
    for tags in (ready, {}):
        run = client.create_run(exp).info.run_id
        client.create_model_version("m", f"runs:/{run}/model", run_id=run, tags=tags)
    rx.reconcile_now()
    log = AuditLog(rx.cfg.store_root, None, rx.cfg.key)
    # WHEN v1 goes to production and a plain alias moves, through the platform
    approve("m", 1, tracking_uri=tracking_uri, actor="bob", ticket="OPS-1", log=log)
    set_stage("m", 1, "production", tracking_uri=tracking_uri, actor="ada", log=log)
    move_alias("m", "production", 1, tracking_uri=tracking_uri, actor="ada", reason="", log=log)
    move_alias("m", "shadow", 2, tracking_uri=tracking_uri, actor="ada", reason="", log=log)
    platform = len(logged(rx, "m"))
    # THEN the webhook events of those changes and a reconciliation add nothing
    assert send(rx, alias_body("m", "production", "1")) == 200
    assert send(rx, alias_body("m", "shadow", "2")) == 200
    assert rx.reconcile_now().records == []
    assert len(logged(rx, "m")) == platform
    # AND a change from outside is still caught
    client.set_registered_model_alias("m", "shadow", "1")
    [outside] = rx.reconcile_now().records
    assert (outside.what, outside.who, outside.after) == ("alias", reconcile.WHO, {"shadow": "1"})
