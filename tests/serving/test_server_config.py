"""`mlp serve`'s model argument and flags, turned into a ServerConfig from the settings."""

from __future__ import annotations

import pytest

from mlplatform.errors import CanaryError, ConfigError, ModelReferenceError
from mlplatform.settings import load_settings
from mlplatform.workspace import Workspace


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.chdir(tmp_path)
    return Workspace(load_settings(home=tmp_path / ".mlplatform"))


@pytest.mark.parametrize(
    ("model", "variant", "uri"),
    [
        ("churn", "champion", "models:/churn@champion"),
        ("churn@challenger", "challenger", "models:/churn@challenger"),
        ("churn@3", "v3", "models:/churn/3"),
        ("churn/3", "v3", "models:/churn/3"),
        ("models:/churn@challenger", "challenger", "models:/churn@challenger"),
        ("models:/churn/3", "v3", "models:/churn/3"),
    ],
)
def test_model_argument_names_the_primary_variant(ws, model, variant, uri):
    config = ws.server_config(model)
    assert config.name == "churn"
    ((primary),) = config.variants
    assert (primary.name, primary.model_uri) == (variant, uri)
    assert config.tracking_uri == ws.tracking_uri


def test_a_folder_is_served_under_its_name(ws, tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    config = ws.server_config(str(folder))
    assert config.name == "my-model"
    assert config.variants[0].model_uri == str(folder.resolve())


def test_a_bad_model_reference_is_refused_before_anything_loads(ws):
    with pytest.raises(ModelReferenceError, match="neither a model folder") as caught:
        ws.server_config("churn@v3")
    assert "MLflow reserves the alias 'v3'" in caught.value.details
    assert "NAME@ALIAS" in caught.value.hint


def test_canaries_and_flags_override_the_settings(ws):
    config = ws.server_config(
        "churn", canaries=["challenger=10", "shadow=5%", "2=1"], port=9000, max_batch_size=8
    )
    assert [(v.name, v.model_uri, v.weight) for v in config.variants[1:]] == [
        ("challenger", "models:/churn@challenger", 10),
        ("shadow", "models:/churn@shadow", 5),
        ("v2", "models:/churn/2", 1),
    ]
    assert config.port == 9000
    assert config.batch.max_batch_size == 8
    assert config.batch.max_queue == ws.settings.serving.max_queue
    assert config.sampling.store_url == ws.settings.resolved_artifact_store()


@pytest.mark.parametrize(
    ("canary", "problem"),
    [("challenger", "is not ALIAS=PERCENT"), ("challenger=0", "not a whole percent"),
     ("challenger=100", "not a whole percent"), ("x=2.5", "not a whole percent")],
)  # fmt: skip
def test_bad_canaries_are_refused_naming_the_flag(ws, canary, problem):
    with pytest.raises(CanaryError, match=problem) as caught:
        ws.server_config("churn", canaries=[canary])
    assert caught.value.headline.startswith(f"--canary {canary!r}")


def test_canaries_that_take_all_the_traffic_are_refused(ws):
    with pytest.raises(CanaryError, match="take 100 % of the traffic"):
        ws.server_config("churn", canaries=["a=60", "b=40"])


def test_a_folder_takes_no_canary(ws, tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    with pytest.raises(ConfigError, match="needs a registered model"):
        ws.server_config(str(folder), canaries=["challenger=10"])
