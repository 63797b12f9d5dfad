"""Who acts on the team profile is who the `mlp up` MLflow server authenticates.

GIVEN the team stack (PostgreSQL, SeaweedFS, MLflow with its basic-auth app) started once for
the module with two accounts, alice and bob, made by `up` with random passwords kept in the
state folder's credentials file, and churn v1 registered by alice (author tag: alice, with
everything production needs but an approval), WHEN the real `mlp` CLI approves it on the team
profile as one user or the other, THEN alice is refused (four eyes), bob is recorded as the
approver, a wrong password is refused with a hint, and claiming to be bob with alice's password
is refused: the identity is the server's answer, not the claim. On the local profile the
settings' user is taken as given (self-asserted).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlplatform.cli._governance import actor
from mlplatform.cli.services import services_config
from mlplatform.governance.rules import AUTHOR_TAG, GATE_TAG, OWNER_TAG, SEMVER_TAG, approval_tag
from mlplatform.services import Supervisor
from mlplatform.services.credentials import CREDENTIALS_FILE, add_users, load_or_create
from mlplatform.services.mlflow_auth import PASSWORD_ENV, authenticated_user, user_env
from mlplatform.settings import Settings
from mlplatform.workspace import Workspace
from services.conftest import cli_env, config, logged_in, project_home, running

READY = {OWNER_TAG: "risk-team", GATE_TAG: "passed", SEMVER_TAG: "1.0.0"}


@pytest.fixture(scope="module")
def team() -> Iterator[Supervisor]:
    with (
        project_home() as home,
        running(config(home, users=("alice", "bob")), ("mlflow",)) as supervisor,
    ):
        yield supervisor


def registered_by_alice(team: Supervisor) -> str:
    """A new model whose v1, authored by alice, lacks only an approval; made as alice."""
    name = f"churn-{uuid.uuid4().hex[:8]}"
    with logged_in(user_env(load_or_create(team.cfg.home), "alice")):
        client = MlflowClient(team.cfg.url("mlflow"))
        exp = client.create_experiment(name)
        run = client.create_run(exp).info.run_id
        client.create_registered_model(name)
        tags = {**READY, AUTHOR_TAG: "alice"}
        client.create_model_version(name, f"runs:/{run}/model", run_id=run, tags=tags)
    return name


def mlp(team: Supervisor, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=team.cfg.home.parent.parent,
        env=cli_env(team.cfg, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def password(team: Supervisor, user: str) -> str:
    return load_or_create(team.cfg.home).mlflow_users[user]


def version_tags(team: Supervisor, name: str) -> dict[str, str]:
    return dict(MlflowClient(team.cfg.url("mlflow")).get_model_version(name, "1").tags)


def test_up_makes_one_account_per_user_with_a_kept_random_password(team):
    creds = load_or_create(team.cfg.home)
    assert sorted(creds.mlflow_users) == ["alice", "bob"]
    assert (team.cfg.home / CREDENTIALS_FILE).stat().st_mode & 0o777 == 0o600
    url = team.cfg.url("mlflow")
    assert authenticated_user(url, "alice", creds.mlflow_users["alice"]) == "alice"
    assert authenticated_user(url, "bob", creds.mlflow_users["alice"]) is None
    # WHEN the server is restarted THEN the accounts keep their passwords
    team.restart("mlflow")
    assert load_or_create(team.cfg.home) == creds
    assert authenticated_user(url, "bob", creds.mlflow_users["bob"]) == "bob"


def test_the_server_refuses_clients_without_an_account(team):
    wrong = {"MLFLOW_TRACKING_USERNAME": "alice", PASSWORD_ENV: "not-her-password"}
    with logged_in(wrong), pytest.raises(Exception, match=r"401|not authenticated"):
        MlflowClient(team.cfg.url("mlflow")).search_experiments()


def test_the_author_cannot_approve_and_a_second_account_can(team):
    name = registered_by_alice(team)
    # WHEN alice approves her own version THEN four eyes refuses it and nothing is recorded
    own = mlp(team, "models", "approve", name, "1", "--ticket", "MLOPS-1", MLPLATFORM_USER="alice")
    assert own.returncode != 0
    assert "author" in own.stdout + own.stderr
    assert approval_tag(1, "by") not in version_tags(team, name)
    # WHEN bob approves it THEN the approval's `by` is bob, the account the server authenticated
    done = mlp(team, "models", "approve", name, "1", "--ticket", "MLOPS-1", MLPLATFORM_USER="bob")
    assert done.returncode == 0, done.stdout + done.stderr
    tags = version_tags(team, name)
    assert tags[approval_tag(1, "by")] == "bob"
    assert tags[approval_tag(1, "decision")] == "approved"


def test_a_wrong_password_is_refused_with_how_to_fix_it(team):
    name = registered_by_alice(team)
    wrong = mlp(
        team, "models", "approve", name, "1", "--ticket", "MLOPS-2",
        MLPLATFORM_USER="bob", MLFLOW_TRACKING_PASSWORD="not-bobs-password-at-all",
    )  # fmt: skip
    out = wrong.stdout + wrong.stderr
    assert wrong.returncode != 0
    assert "cannot tell who you are" in out
    assert "'bob'" in out
    assert "MLFLOW_TRACKING_PASSWORD" in out
    assert "mlp up" in out
    assert approval_tag(1, "by") not in version_tags(team, name)


def test_claiming_to_be_bob_with_alices_password_is_refused(team):
    name = registered_by_alice(team)
    claim = mlp(
        team, "models", "approve", name, "1", "--ticket", "MLOPS-3",
        MLPLATFORM_USER="bob", MLFLOW_TRACKING_PASSWORD=password(team, "alice"),
    )  # fmt: skip
    assert claim.returncode != 0
    assert "cannot tell who you are" in claim.stdout + claim.stderr
    assert approval_tag(1, "by") not in version_tags(team, name)


def test_actor_on_the_team_profile_is_the_authenticated_account(team, monkeypatch):
    home = team.cfg.home.parent
    for var in ("MLFLOW_TRACKING_USERNAME", PASSWORD_ENV):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(
        profile="team",
        home=home,
        user="bob",
        tracking_uri=team.cfg.url("mlflow"),
    )
    assert actor(Workspace(settings)) == "bob"
    # GIVEN a user `up` made no account for, THEN the error says how to get one
    stranger = Settings(
        profile="team", home=home, user="mallory", tracking_uri=settings.tracking_uri
    )
    with pytest.raises(Exception, match="no password for 'mallory'"):
        actor(Workspace(stranger))


# ---- without the stack ---------------------------------------------------------------------
def test_local_profile_identity_is_the_settings_user_as_claimed(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "ignored")
    settings = Settings(profile="local", home=tmp_path / ".mlplatform", user="anyone-at-all")
    assert actor(Workspace(settings)) == "anyone-at-all"  # self-asserted, never checked


def test_users_setting_reaches_up(tmp_path):
    settings = Settings(home=tmp_path, services={"users": ["alice", "bob"]})
    assert services_config(settings).users == ("alice", "bob")


def test_an_old_credentials_file_loads_and_gains_the_new_fields(tmp_path):
    old = {"postgres_user": "mlplatform", "postgres_password": "p" * 20}
    old |= {"s3_access_key": "mlpabc", "s3_secret_key": "s" * 30}
    path = tmp_path / CREDENTIALS_FILE
    path.write_text(json.dumps(old))
    creds = load_or_create(tmp_path)
    assert (creds.postgres_password, creds.s3_access_key) == ("p" * 20, "mlpabc")
    assert len(creds.mlflow_admin_password) >= 12
    assert creds.mlflow_users == {}
    assert json.loads(path.read_text())["mlflow_admin_password"] == creds.mlflow_admin_password
    assert load_or_create(tmp_path) == creds  # rewritten once, then stable
    # WHEN users are added twice THEN each keeps its first password
    first = add_users(tmp_path, ["alice"])
    assert (
        add_users(tmp_path, ["alice", "bob"]).mlflow_users["alice"] == first.mlflow_users["alice"]
    )
    assert Path(path).stat().st_mode & 0o777 == 0o600
