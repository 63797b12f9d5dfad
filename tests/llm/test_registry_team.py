"""LLMs in the registry on the team profile: the `mlp up` MLflow server (PostgreSQL) with its
artifacts in the S3 store (SeaweedFS), through the real CLI and `resolve_llm`.

One stack (PostgreSQL, SeaweedFS, MLflow) serves the module; the tests run in file order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from mlflow import MlflowClient

from mlplatform.errors import DigestMismatchError
from mlplatform.llm.registry import resolve_llm
from mlplatform.services import Supervisor
from mlplatform.services.seaweedfs import s3_client
from services.conftest import cli_env, config, project_home, running

from ._fake_checkpoint import expected_parameters, fake_checkpoint


@pytest.fixture(scope="module")
def team() -> Any:
    with project_home() as home, running(config(home), ("mlflow",)) as supervisor:
        yield supervisor


def mlp(team: Supervisor, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=team.cfg.home.parent.parent,
        env=cli_env(team.cfg),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"mlp {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def mlflow_client(team: Supervisor) -> MlflowClient:
    uri = team.cfg.url("mlflow")
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def bucket_keys(team: Supervisor, prefix: str) -> list[str]:
    pages = s3_client(team.cfg, team.creds).get_paginator("list_objects_v2")
    listing = pages.paginate(Bucket=team.cfg.bucket, Prefix=prefix)
    return [obj["Key"] for page in listing for obj in page.get("Contents", [])]


def test_a_local_folder_is_stored_in_the_team_s3_store(team, tmp_path):
    folder = fake_checkpoint(tmp_path / "tiny-llama")
    # WHEN the folder is registered on the team profile through the CLI
    out = mlp(team, "llm", "register", str(folder), "--alias", "champion", "-f", "json")
    got = json.loads(out.stdout)
    # THEN the version's source is the run's artifact folder on the MLflow server
    version = mlflow_client(team).get_model_version("tiny-llama", str(got["version"]))
    assert version.source == got["weights_uri"]
    assert version.source.startswith("mlflow-artifacts:")
    assert version.run_id == got["run_id"]
    # AND the files are objects in the S3 bucket, under that run
    keys = bucket_keys(team, "mlartifacts/")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert any(k.endswith(f"{version.run_id}/artifacts/weights/{name}") for k in keys)
    # AND no local path: nothing of the team store is on this disk until resolved
    assert got["local_path"] is None


def test_resolving_downloads_the_weights_once_and_checks_them(team, tmp_path):
    cache = tmp_path / "cache"
    uri = team.cfg.url("mlflow")
    llm = resolve_llm("tiny-llama@champion", tracking_uri=uri, cache_dir=cache)
    assert llm.local_path == cache / "tiny-llama" / "1" / "weights"
    original = fake_checkpoint(tmp_path / "same")  # seed 0: the bytes registered above
    for path in original.iterdir():
        assert (llm.local_path / path.name).read_bytes() == path.read_bytes()
    # a second resolve uses the copy (a file left there is still there)
    (llm.local_path / "left-here").write_text("x")
    again = resolve_llm("tiny-llama", tracking_uri=uri, cache_dir=cache)
    assert (again.local_path / "left-here").exists()
    assert again.shape.parameters == expected_parameters()


def test_weights_changed_in_the_store_are_refused_on_download(team, tmp_path):
    folder = fake_checkpoint(tmp_path / "v2", seed=1)
    got = json.loads(mlp(team, "llm", "register", str(folder), "--name", "tiny-llama",
                         "-f", "json").stdout)  # fmt: skip
    assert got["version"] == 2
    key = next(k for k in bucket_keys(team, "mlartifacts/") if got["run_id"] in k and
               k.endswith("weights/config.json"))  # fmt: skip
    s3_client(team.cfg, team.creds).put_object(Bucket=team.cfg.bucket, Key=key, Body=b"{}")
    cache = tmp_path / "cache"
    with pytest.raises(DigestMismatchError, match="differ from those registered"):
        resolve_llm("tiny-llama/2", tracking_uri=team.cfg.url("mlflow"), cache_dir=cache)
    assert not (cache / "tiny-llama" / "2").exists()
    assert list((cache / "tiny-llama").iterdir()) == []  # the staging folder went too


def test_an_object_store_folder_is_read_in_place(team, tmp_path):
    folder = fake_checkpoint(tmp_path / "s3-llama", seed=4)
    s3 = s3_client(team.cfg, team.creds)
    for path in folder.iterdir():
        s3.put_object(Bucket=team.cfg.bucket, Key=f"llms/s3-llama/{path.name}",
                      Body=path.read_bytes())  # fmt: skip
    source = f"s3://{team.cfg.bucket}/llms/s3-llama"
    got = json.loads(mlp(team, "llm", "register", source, "-f", "json").stdout)
    # the shape came from the objects' headers; the weights stayed where they are
    assert (got["name"], got["weights_uri"], got["stored"]) == ("s3-llama", source, False)
    assert got["shape"]["parameters"] == expected_parameters()
    assert mlflow_client(team).get_model_version("s3-llama", "1").source == source
    llm = resolve_llm("s3-llama/1", tracking_uri=team.cfg.url("mlflow"), cache_dir=tmp_path)
    assert llm.local_path is None


def test_models_show_and_llm_list_on_the_team_server(team):
    shown = json.loads(mlp(team, "models", "show", "tiny-llama", "-f", "json").stdout)
    assert [(v["version"], v["aliases"], v["tags"]["mlp.kind"]) for v in shown] == [
        (2, [], "llm"),
        (1, ["champion"], "llm"),
    ]
    listed = json.loads(mlp(team, "llm", "list", "-f", "json").stdout)
    assert sorted((m["name"], m["version"]) for m in listed) == [
        ("s3-llama", 1),
        ("tiny-llama", 1),
        ("tiny-llama", 2),
    ]
    table = mlp(team, "llm", "show", "tiny-llama@champion").stdout
    assert "mlflow-artifacts:" in table
