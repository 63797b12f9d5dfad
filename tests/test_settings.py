"""Settings: profiles and precedence flag > MLPLATFORM_* env > mlplatform.toml > defaults."""

from __future__ import annotations

import pytest

from mlplatform.errors import ConfigError
from mlplatform.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in (
        "MLPLATFORM_PROFILE",
        "MLPLATFORM_WORKERS",
        "MLPLATFORM_TRACKING_URI",
        "MLPLATFORM_ARTIFACT_STORE",
        "MLPLATFORM_EXPERIMENT",
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
