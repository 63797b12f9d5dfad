"""The audit log on the team profile: records in the S3 store (SeaweedFS), heads on the `mlp up`
MLflow server (PostgreSQL), each started once for the module on loopback and stopped by PID.

The same tampering cases as on the local store (test_audit.py); each test has its own store
prefix and model name, so they share the stack without sharing a chain.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplatform.artifacts.signing import new_key
from mlplatform.governance import audit
from mlplatform.governance.audit import AuditRecord
from mlplatform.services import Supervisor, object_store
from mlplatform.services.mlflow_auth import admin_env
from services.conftest import cli_env, config, logged_in, project_home, running

from .test_audit import TAMPERINGS, Log, assert_detected, cli_app, seed


@pytest.fixture(scope="module")
def team() -> Iterator[Supervisor]:
    with project_home() as home, running(config(home), ("mlflow",)) as supervisor:
        yield supervisor


@pytest.fixture
def log(team: Supervisor) -> Log:
    store = object_store(team.cfg, team.creds, "s3")
    return Log(
        root=f"{store.pipeline_root}/{uuid.uuid4().hex}",
        options=dict(store.storage_options),
        key=new_key(),
        tracking_uri=team.cfg.url("mlflow"),
    )


def model_name() -> str:
    return f"churn-{uuid.uuid4().hex[:8]}"


def test_a_good_chain_verifies_clean(log):
    name = model_name()
    written = seed(log, name)
    assert log.root.startswith("s3://")
    assert log.head(name) == f"3:{written[2].hash}"
    assert log.records(name) == written
    assert log.verify(name) == []


@pytest.mark.parametrize("case", sorted(TAMPERINGS))
def test_tampering_is_detected(log, case):
    assert_detected(log, model_name(), case)


def test_s3_refuses_a_second_create_of_the_same_record(log):
    key = log.key_of("churn", 1)
    assert audit._create(log.store, key, b"first")
    # WHEN another writer creates the same record number (If-None-Match: *)
    assert not audit._create(log.store, key, b"second")
    # THEN SeaweedFS refuses it and the first record stays
    assert log.store.read_bytes(key) == b"first"


def test_concurrent_appenders_get_distinct_numbers(log):
    name = model_name()
    seed(log, name)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            log.append(AuditRecord(who=f"user{i}", what="alias", model=name))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.seq for r in log.records(name)] == list(range(1, 10))
    assert log.verify(name) == []


def test_cli_on_the_team_profile(team, log, monkeypatch, tmp_path):
    # GIVEN the team profile's settings (the `mlp up` store, bucket and MLflow server)
    env: dict[str, Any] = cli_env(team.cfg, MLPLATFORM_CACHE_KEY=log.key)
    for name in [n for n in os.environ if n.startswith(("MLPLATFORM_", "MLFLOW_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("MLPLATFORM_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    store = object_store(team.cfg, team.creds, "s3")
    team_log = Log(store.pipeline_root, dict(store.storage_options), log.key, log.tracking_uri)
    name = model_name()
    with logged_in(admin_env(team.creds)):  # the server asks every client to log in
        seed(team_log, name)
    runner = CliRunner()
    listed = runner.invoke(cli_app(), ["audit", "list", "-m", name, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [r["seq"] for r in json.loads(listed.stdout)] == [1, 2, 3]
    assert runner.invoke(cli_app(), ["audit", "verify", "-m", name]).exit_code == 0
    # WHEN the last record is removed from the bucket, THEN verify exits 1 naming it
    team_log.store.delete(team_log.key_of(name, 3))
    broken = runner.invoke(cli_app(), ["audit", "verify", "-m", name])
    assert broken.exit_code == 1
    assert "truncated" in broken.stdout
