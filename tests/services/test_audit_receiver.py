"""The audit receiver of `mlp up` against the real MLflow server (PostgreSQL, SeaweedFS): the
server itself sends the signed webhook deliveries; changes are made with a raw MlflowClient,
as from outside the platform. Started once for the module on loopback, stopped by PID.

Deliveries are asynchronous, so each test polls the audit log with a deadline (a wait, not a
timed assertion): the assertion is on what arrived.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform.governance import audit
from mlplatform.governance.audit import AuditRecord
from mlplatform.governance.reconcile import reconcile
from mlplatform.governance.rules import STAGE_TAG
from mlplatform.services import Supervisor, object_store
from mlplatform.services.audit_receiver import fresh_listings, receiver_url
from services.conftest import config, project_home, running

RECEIVER_LOG: list[Path] = []
DEADLINE = 90.0  # seconds to wait for a delivery (MLflow retries with backoff)


@pytest.fixture(scope="module")
def team() -> Iterator[Supervisor]:
    with project_home() as home, running(config(home), ("audit-receiver",)) as supervisor:
        RECEIVER_LOG[:] = [supervisor.cfg.log("audit-receiver")]
        yield supervisor


@pytest.fixture(scope="module")
def log(team: Supervisor) -> dict[str, Any]:
    store = object_store(team.cfg, team.creds, "s3")
    key = (team.cfg.home.parent / "cache.key").read_text().strip()
    return {
        "store_root": store.pipeline_root,
        "storage_options": fresh_listings("s3", store.storage_options),  # see each new record
        "key": key,
        "tracking_uri": team.cfg.url("mlflow"),
    }


@pytest.fixture(scope="module")
def client(team: Supervisor) -> MlflowClient:
    return MlflowClient(team.cfg.url("mlflow"))


def records(log: dict[str, Any], model: str) -> list[AuditRecord]:
    return audit.records(
        store_root=log["store_root"], storage_options=log["storage_options"], model=model
    )


def wait_for(found: Callable[[], Any], what: str) -> Any:
    """Poll until ``found()`` is truthy; fail naming ``what`` after the deadline."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        result = found()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(
        f"no {what} within {DEADLINE:.0f} s; the receiver's log:\n{RECEIVER_LOG[0].read_text()}"
    )


def model(client: MlflowClient, stages: list[str]) -> str:
    name = f"churn-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for i, stage in enumerate(stages, 1):
        client.create_model_version(name, f"s3://elsewhere/{i}", tags={STAGE_TAG: stage})
    return name


def kinds(found: list[AuditRecord]) -> list[tuple[str, str | None, Any]]:
    return [(r.what, r.version, r.after) for r in found]


def test_changes_from_a_raw_client_are_recorded(client, log):
    name = model(client, ["none"])
    client.set_registered_model_alias(name, "challenger", "1")
    wanted = [
        ("register", None, {"tags": {}}),
        ("register", "1", {"run_id": None, "source": "s3://elsewhere/1"}),
        ("alias", "1", {"challenger": "1"}),
    ]  # in any order: MLflow sends deliveries from a thread pool
    found = wait_for(lambda: len(records(log, name)) == 3 and records(log, name), "3 records")
    assert sorted(kinds(found), key=str) == sorted(wanted, key=str)
    assert all(r.who == "mlflow-webhook" for r in found)
    assert audit.verify(model=name, **log) == []


def test_a_production_alias_on_a_staging_version_is_reverted(client, log):
    name = model(client, ["production", "staging"])
    client.set_registered_model_alias(name, "production", "1")
    wait_for(lambda: ("alias", "1", {"production": "1"}) in kinds(records(log, name)), "first move")
    # WHEN production is moved to v2, which is only in staging
    client.set_registered_model_alias(name, "production", "2")
    # THEN the receiver puts it back on v1 and records the move and the revert
    revert = wait_for(
        lambda: [r for r in records(log, name) if r.what == "revert"], "revert record"
    )
    assert (revert[0].before, revert[0].after) == ({"production": "2"}, {"production": "1"})
    assert {k: str(v) for k, v in client.get_registered_model(name).aliases.items()} == {
        "production": "1"
    }
    assert ("alias", "2", {"production": "2"}) in kinds(records(log, name))
    assert audit.verify(model=name, **log) == []


def test_a_forged_delivery_is_refused_and_logged(team, client, log):
    name = model(client, ["none"])
    before = wait_for(lambda: len(records(log, name)) == 2 and records(log, name), "registers")
    data = {"name": name, "alias": "production", "version": "1"}
    body = json.dumps({"entity": "model_version_alias", "action": "created", "data": data})
    request = urllib.request.Request(
        f"{receiver_url(team.cfg)}/mlflow-webhook", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "X-MLflow-Delivery-Id": "forged-1",
                 "X-MLflow-Timestamp": str(int(time.time())), "X-MLflow-Signature": "v1,AAAA"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert records(log, name) == before
    assert "rejected delivery 'forged-1'" in team.cfg.log("audit-receiver").read_text()


def test_a_deletion_is_found_by_reconciliation(client, log):
    name = model(client, ["none", "none"])
    wait_for(lambda: len([r for r in records(log, name) if r.what == "register"]) == 3, "registers")
    reconcile(**log)  # the receiver's deliveries are in the recorded state already
    # WHEN a version is deleted with a raw client (MLflow sends no webhook for it)
    client.delete_model_version(name, "1")
    reconcile(**log)
    # THEN the deletion is recorded (by this run, or by the receiver's timer if it came first)
    deleted = [r for r in records(log, name) if r.what == "delete"]
    assert [(r.version, r.who) for r in deleted] == [("1", "mlflow-reconcile")]
    assert reconcile(**log).records == []
    assert audit.verify(model=name, **log) == []
