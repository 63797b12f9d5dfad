"""The churn example on the feature store through the real CLI, on one machine: land the
offline table, apply, train from the store (steps as subprocesses), and serve online features
with Feast's own server."""

from __future__ import annotations

import json
import socket
import sys
import urllib.error

import pytest

from _http_servers import background, post, post_when_up

from ._mlp import ROOT, clean_env, mlp, mlp_json

EXAMPLE = ROOT / "examples" / "pipelines" / "churn"
PIPELINE = str(EXAMPLE / "features_pipeline.py")
MLP = [sys.executable, "-m", "mlplatform"]
ENV = clean_env()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_feature_store_example_end_to_end_on_one_machine(tmp_path):
    # GIVEN a project whose mlplatform.toml points at the example's feature repository
    (tmp_path / "mlplatform.toml").write_text(f'[features]\nrepo = "{EXAMPLE / "features"}"\n')
    # WHEN the offline table is landed and the definitions applied
    mlp("features", "ingest", "synthetic://churn-activity", "--path",
        "customer_activity.parquet", "--rows", "300", cwd=tmp_path)  # fmt: skip
    assert (tmp_path / ".mlplatform/artifacts/features/customer_activity.parquet").is_file()
    mlp("features", "apply", cwd=tmp_path)
    listed = {(o["kind"], o["name"]) for o in mlp_json("features", "list", cwd=tmp_path)}
    assert ("feature service", "churn") in listed
    # AND materialize without saying how is refused with the two ways
    refused = mlp("features", "materialize", cwd=tmp_path, check=False)
    assert refused.returncode != 0
    assert "--incremental" in refused.stderr + refused.stdout
    # AND the example pipeline trains from the store
    result = mlp("pipeline", "run", "churn-features-training", "--file", PIPELINE,
                 "-p", "rows=300", "--format", "json", cwd=tmp_path)  # fmt: skip
    run = json.loads(result.stdout)
    assert run["status"] == "succeeded"
    assert run["steps"]["historical-features"]["status"] == "ran"
    assert run["steps"]["materialize-features"]["status"] == "ran"
    # THEN the registered model serves from entity keys alone
    port = free_port()
    with background([*MLP, "serve", "churn-features-model", "--port", str(port)], tmp_path, ENV):
        url = f"http://127.0.0.1:{port}/v1/models/churn-features-model:predict"
        answer = post_when_up(url, {"instances": [{"customer_id": 1000}, {"customer_id": 1001}]})
        assert len(answer["predictions"]) == 2
        with pytest.raises(urllib.error.HTTPError) as missing:
            post(url, {"instances": [{"customer_id": 5}]})
        assert missing.value.code == 422
        assert "customer_id=5" in missing.value.read().decode()
    # AND training and online features agree for the model's entities (no skew)
    skew = mlp("features", "skew", "churn-features-model", "--format", "json", cwd=tmp_path)
    verdict = json.loads(skew.stdout)
    assert verdict["skewed"] is False
    assert verdict["entities"] > 0
    # AND Feast's own feature server answers from the online store the pipeline loaded
    port = free_port()
    with background([*MLP, "features", "serve", "--port", str(port)], tmp_path, ENV):
        body = {"feature_service": "churn", "entities": {"customer_id": [1000]}}
        answer = post_when_up(f"http://127.0.0.1:{port}/get-online-features", body)
    names = answer["metadata"]["feature_names"]
    values = dict(zip(names, (r["values"][0] for r in answer["results"]), strict=True))
    assert values["customer_id"] == 1000
    assert isinstance(values["spend_30d"], float)
