"""`mlp llm register|list|show` as users run them (the real `mlp` app, in-process) on the
local profile: the store is `.mlplatform/mlflow.db` in an empty project folder.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from mlplatform.cli.app import app
from mlplatform.llm.catalog import CATALOG

from ._fake_checkpoint import expected_parameters, fake_checkpoint


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "mlflow-template.db"
    if not path.exists():
        building = path.with_suffix(".building")
        MlflowClient(f"sqlite:///{building}").search_experiments()
        building.replace(path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder as the working directory, no MLPLATFORM_*/MLFLOW_* set."""
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def store(project, mlflow_template):
    """The local profile's store, already migrated (a copy opens in a fraction of a second)."""
    (project / ".mlplatform").mkdir()
    shutil.copy(mlflow_template, project / ".mlplatform" / "mlflow.db")
    return project / ".mlplatform"


def mlp(*args: str):
    return CliRunner().invoke(app, list(args))


def test_help_lists_the_group_with_examples(project):
    assert "llm" in mlp("--help").output
    result = mlp("llm", "--help")
    assert result.exit_code == 0, result.output
    assert "mlp llm register --catalog tinyllama-1.1b" in result.output
    for command in ("register", "list", "show"):
        assert command in result.output
        assert "Example" in mlp("llm", command, "--help").output


def test_register_list_show_a_local_folder(store, project):
    fake_checkpoint(project / "tiny-llama")
    # WHEN the folder is registered as champion
    result = mlp("llm", "register", "tiny-llama", "--alias", "champion")
    # THEN it is version 1 of a model named after the folder, stored in the local store
    assert result.exit_code == 0, result.output
    assert "tiny-llama/1 registered (champion -> 1)" in result.output
    assert (store / "mlartifacts").is_dir()
    # AND `mlp llm list` shows it with its figures
    listed = json.loads(mlp("llm", "list", "--format", "json").stdout)
    assert [(m["name"], m["version"], m["aliases"]) for m in listed] == [
        ("tiny-llama", 1, ["champion"])
    ]
    assert listed[0]["shape"]["parameters"] == expected_parameters()
    # AND `mlp llm show NAME@ALIAS` prints the metadata
    shown = mlp("llm", "show", "tiny-llama@champion")
    assert shown.exit_code == 0, shown.output
    for text in ("served name", "LlamaForCausalLM", f"{expected_parameters():,}", "float32"):
        assert text in shown.output
    as_json = json.loads(mlp("llm", "show", "tiny-llama/1", "-f", "json").stdout)
    assert as_json[0]["local_path"].endswith("/artifacts/weights")
    # AND the registry's own command shows the LLM's version like any model's
    models = json.loads(mlp("models", "show", "tiny-llama", "--format", "json").stdout)
    assert [(v["version"], v["tags"]["mlp.kind"]) for v in models] == [(1, "llm")]


def test_register_from_the_catalog_then_again_is_the_same_version(store):
    first = mlp("llm", "register", "--catalog", "tinyllama-1.1b")
    assert first.exit_code == 0, first.output
    again = mlp("llm", "register", "--catalog", "tinyllama-1.1b", "--format", "json")
    got = json.loads(again.stdout)
    assert (got["version"], got["created"], got["weights_uri"]) == (
        1,
        False,
        CATALOG["tinyllama-1.1b"].uri,
    )


def test_an_unpinned_hf_uri_is_refused_before_the_store_is_touched(project):
    result = mlp("llm", "register", "hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    assert result.exit_code == 2
    assert "is not pinned" in result.output
    assert "hint: Pin the 40-hex commit" in result.output
    assert not (project / ".mlplatform").exists()  # no store was created


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("./here", "--catalog", "tinyllama-1.1b"), "name the weights once"),
        ((), "name the weights once"),
        (("--catalog", "gpt-5"), "No model 'gpt-5' in the LLM catalog"),
        (("ftp://host/model",), "cannot hold weights at a ftp:// URI"),
        (("no-such-folder",), "is not a folder"),
    ],
)
def test_bad_sources_are_refused_with_a_hint(project, args, says):
    result = mlp("llm", "register", *args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "hint:" in result.output


def test_show_of_a_predictive_model_version_says_it_is_not_an_llm(store):
    uri = f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn")
    client.create_model_version("churn", source="s3://bucket/churn/model")
    result = mlp("llm", "show", "churn/1")
    assert result.exit_code == 2
    assert "churn/1 is not an LLM" in result.output
