"""Settings: profiles and precedence flag > MLPLATFORM_* env > mlplatform.toml > defaults."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, SecretStr

from mlplatform.errors import ConfigError
from mlplatform.settings import Settings, load_settings, refuse_secrets


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in (
        "MLPLATFORM_PROFILE",
        "MLPLATFORM_WORKERS",
        "MLPLATFORM_TRACKING_URI",
        "MLPLATFORM_ARTIFACT_STORE",
        "MLPLATFORM_EXPERIMENT",
        "MLPLATFORM_ARGO_TOKEN",
        "MLPLATFORM_STORAGE_OPTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_local_profile_keeps_everything_under_dot_mlplatform(tmp_path):
    # GIVEN no configuration WHEN settings load
    # THEN MLflow is SQLite under .mlplatform, not ./mlruns
    s = load_settings()
    assert s.profile == "local"
    assert s.resolved_tracking_uri() == f"sqlite:///{tmp_path}/.mlplatform/mlflow.db"
    assert s.resolved_artifact_store() == str(tmp_path / ".mlplatform" / "artifacts")
    assert "mlruns" not in s.resolved_tracking_uri()


def test_precedence_flag_over_env_over_file_over_default(tmp_path, monkeypatch):
    # GIVEN a project file, an env var and a flag that disagree
    (tmp_path / "mlplatform.toml").write_text(
        'workers = 3\nexperiment = "from-file"\nprofile = "team"\n'
    )
    assert load_settings().workers == 3  # file beats default
    monkeypatch.setenv("MLPLATFORM_WORKERS", "5")
    assert load_settings().workers == 5  # env beats file
    assert load_settings(workers=7).workers == 7  # flag beats env
    s = load_settings()
    assert s.experiment == "from-file"
    assert s.profile == "team"
    assert s.resolved_tracking_uri().startswith("http://127.0.0.1:")


def test_cloud_profile_without_store_says_what_to_set():
    s = load_settings(profile="aws")
    with pytest.raises(ConfigError, match="artifact store") as info:
        s.resolved_artifact_store()
    assert "MLPLATFORM_ARTIFACT_STORE" in info.value.hint


def test_bad_value_is_a_config_error_naming_the_field(monkeypatch):
    monkeypatch.setenv("MLPLATFORM_WORKERS", "zero")
    with pytest.raises(ConfigError, match="workers"):
        load_settings()
    with pytest.raises(ConfigError, match="profile"):
        load_settings(profile="moon")


def test_unknown_key_in_project_file_is_rejected(tmp_path):
    (tmp_path / "mlplatform.toml").write_text("wokers = 3\n")
    with pytest.raises(ConfigError, match="wokers"):
        load_settings()


def _follow(hint: str, monkeypatch, value: str) -> str:
    """Do what a secret refusal's hint says: set the variable it names (to ``value``)."""
    env = re.search(r"export (MLPLATFORM_[A-Z0-9_]+)=", hint)
    assert env, hint
    monkeypatch.setenv(env.group(1), value)
    return env.group(1)


def test_a_token_in_the_project_file_is_refused_and_the_hint_works(tmp_path, monkeypatch):
    # GIVEN the Argo token committed in mlplatform.toml (the docs say: environment only)
    project = tmp_path / "mlplatform.toml"
    project.write_text('workers = 3\nargo_token = "s3cr3t"\n')
    # WHEN settings load THEN they refuse, naming the secret and the variable to use
    with pytest.raises(ConfigError, match="argo_token") as caught:
        load_settings()
    assert "environment" in caught.value.headline
    # WHEN the hint is followed: the line goes, the variable is set
    project.write_text("workers = 3\n")
    assert _follow(caught.value.hint, monkeypatch, "s3cr3t") == "MLPLATFORM_ARGO_TOKEN"
    s = load_settings()
    assert s.argo_token is not None
    assert s.argo_token.get_secret_value() == "s3cr3t"
    assert s.workers == 3


@pytest.mark.parametrize(
    ("table", "secret"),
    [
        ('secret = "x"', "storage_options.secret"),
        ('account_key = "x"', "storage_options.account_key"),
        ('sas_token = "x"', "storage_options.sas_token"),
        ('key = "x"', "storage_options.key"),
        ('client_kwargs = { aws_secret_access_key = "x" }',
         "storage_options.client_kwargs.aws_secret_access_key"),
    ],
)  # fmt: skip
def test_object_store_credentials_in_the_project_file_are_refused(tmp_path, table, secret):
    (tmp_path / "mlplatform.toml").write_text(
        f'[storage_options]\nendpoint_url = "http://127.0.0.1:1"\n{table}\n'
    )
    with pytest.raises(ConfigError, match=re.escape(secret)):
        load_settings()


def test_the_object_store_hint_works_when_followed(tmp_path, monkeypatch):
    project = tmp_path / "mlplatform.toml"
    project.write_text('[storage_options]\nendpoint_url = "http://e"\nsecret = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    project.write_text('[storage_options]\nendpoint_url = "http://e"\n')
    env = _follow(caught.value.hint, monkeypatch, "from-env")
    assert env == "MLPLATFORM_STORAGE_OPTIONS__SECRET"
    assert load_settings().storage_options == {"endpoint_url": "http://e", "secret": "from-env"}


def test_store_options_that_are_not_secrets_stay_in_the_file(tmp_path):
    (tmp_path / "mlplatform.toml").write_text(
        '[storage_options]\nendpoint_url = "http://e"\ntoken = "anon"\nanon = true\n'
    )
    assert load_settings().storage_options["token"] == "anon"


def test_every_secret_field_is_refused_at_any_depth():
    # GIVEN a settings model with a secret field inside a section (as a future one may be)
    class Cache(BaseModel):
        hmac_key: SecretStr | None = None
        ttl: int = 1

    class Some(BaseModel):
        cache: Cache = Cache()
        token: SecretStr

    refuse_secrets(Some, {"cache": {"ttl": 2}})  # no secret: nothing to say
    with pytest.raises(ConfigError, match=r"cache\.hmac_key") as caught:
        refuse_secrets(Some, {"cache": {"hmac_key": "k"}})
    assert "export MLPLATFORM_CACHE__HMAC_KEY=" in caught.value.hint
    with pytest.raises(ConfigError, match="MLPLATFORM_TOKEN"):
        refuse_secrets(Some, {"token": "t"})


SECRET_FIELDS = [
    name
    for name, info in Settings.model_fields.items()
    if "SecretStr" in str(info.annotation) or "SecretBytes" in str(info.annotation)
]


def test_the_settings_have_secret_fields_to_guard():
    assert "argo_token" in SECRET_FIELDS


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_every_secret_setting_is_refused_in_the_project_file(tmp_path, name):
    (tmp_path / "mlplatform.toml").write_text(f'{name} = "committed"\n')
    with pytest.raises(ConfigError, match=name) as caught:
        load_settings()
    assert f"export MLPLATFORM_{name.upper()}=" in caught.value.hint
