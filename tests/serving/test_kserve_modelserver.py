"""The same runtime inside KServe's own ModelServer (`--server kserve`): KServe's FastAPI
front end, our loader, signature checks, batcher and variants behind it; payload sampling to
the samples store (a folder, and SeaweedFS over S3), the drift monitor and the retention, as
in the default server."""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.serving.sampler import SAMPLES_PREFIX

from ._container import serving_process
from .conftest import MODEL


@contextlib.contextmanager
def modelserver(name: str, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m mlplatform.serving --server kserve ARGS`` until ready; its URL. It gets
    SIGTERM at the end, as a pod does, and must exit cleanly."""
    with serving_process(
        name, ["--server", "kserve", "--name", name, *args], {**os.environ, **(env or {})},
        exit_code=0,
    ) as url:  # fmt: skip
        yield url


@pytest.fixture
def kserve_server(iris_dir):
    path, model, x = iris_dir
    with modelserver("iris", "--model-dir", str(path)) as url:
        yield url, model, x


def test_kserve_modelserver_serves_the_runtime_on_v1_and_v2(kserve_server):
    url, model, x = kserve_server
    # WHEN rows go through KServe's own V1 and V2 endpoints
    v1 = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": x[:5].tolist()})
    v2 = httpx.post(
        f"{url}/v2/models/iris/infer",
        json={"inputs": [{"name": "input-0", "shape": [5, 4], "datatype": "FP64",
                          "data": x[:5].ravel().tolist()}]},
    )  # fmt: skip
    # THEN both answer what the model predicts in-process
    expected = model.predict(x[:5]).tolist()
    assert v1.status_code == 200, v1.text
    assert v1.json()["predictions"] == expected
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == expected
    # AND a row of the wrong width is KServe's 400 with our message naming the problem
    bad = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": [[1.0, 2.0]]})
    assert bad.status_code == 400
    assert "has 2 values; the model expects 4" in bad.text


def _write_day(store: ArtifactStore, model: str, day: object) -> str:
    key = f"{SAMPLES_PREFIX}/{model}/{day}/000000-old.parquet"
    buffer = io.BytesIO()
    pd.DataFrame({"x": [1.0]}).to_parquet(buffer)
    store.write_bytes(key, buffer.getvalue())
    return key


def _samples(store: ArtifactStore, model: str, today: object) -> pd.DataFrame:
    keys = store.list(f"{SAMPLES_PREFIX}/{model}/{today}")
    frames = [pd.read_parquet(io.BytesIO(store.read_bytes(k))) for k in keys]
    return pd.concat(frames) if frames else pd.DataFrame()


def test_kserve_modelserver_samples_to_the_store_and_the_drift_monitor(
    registry, churn_data, tmp_path
):
    # GIVEN a samples store holding a day of samples older than a 7-day retention
    store = ArtifactStore(tmp_path / "store")
    today = datetime.now(UTC).date()
    old = _write_day(store, MODEL, today - timedelta(days=8))
    # AND KServe's ModelServer serving churn@champion (v1, registered with a reference
    # profile), sampling every request, flushing every 0.2 s, drift windows of 30 rows
    flags = ["--model-uri", f"models:/{MODEL}@champion", "--tracking-uri", registry,
             "--sample-fraction", "1", "--samples-store", store.root,
             "--sample-retention-days", "7", "--sample-flush-interval-s", "0.2",
             "--drift-window-rows", "30"]  # fmt: skip
    test = churn_data[1]
    with modelserver(MODEL, *flags) as url:
        # WHEN 60 rows are predicted through KServe's V1 endpoint in 6 requests
        for i in range(6):
            rows = test.iloc[i * 10 : i * 10 + 10].to_dict("records")
            answer = httpx.post(f"{url}/v1/models/{MODEL}:predict", json={"instances": rows})
            assert answer.status_code == 200, answer.text
        window = f'mlplatform_drift_window_rows{{model="{MODEL}",version="1"}} 30.0'
        for _ in range(200):
            metrics = httpx.get(f"{url}/metrics").text
            if len(_samples(store, MODEL, today)) >= 60 and window in metrics:
                break
            time.sleep(0.1)
        # THEN the sampled rows are in Parquet in the store while the server runs
        frame = _samples(store, MODEL, today)
        assert len(frame) == 60
        assert set(test.columns) <= set(frame.columns)
        assert set(frame["model_version"]) == {"1"}
        # AND the drift monitor checked them: its gauges are on KServe's /metrics
        assert window in metrics
    # AND the day past the retention was deleted by the server
    assert old not in store.list(SAMPLES_PREFIX)


def test_kserve_modelserver_writes_samples_to_s3_and_flushes_on_sigterm(iris_dir):
    from mlplatform.services import object_store
    from services.conftest import shared_store, unique_prefix

    path, model, x = iris_dir
    team = shared_store("s3")  # the run's SeaweedFS: this test's samples under its own prefix
    found = object_store(team.cfg, team.creds, "s3")
    options = found.storage_options
    # GIVEN the ModelServer sampling to SeaweedFS over S3, with the credentials and
    # endpoint in the environment (as a pod gets them) and no flush before it stops
    env = {
        "AWS_ACCESS_KEY_ID": options["key"],
        "AWS_SECRET_ACCESS_KEY": options["secret"],
        "AWS_ENDPOINT_URL": options["endpoint_url"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    root = f"{found.pipeline_root.rsplit('/', 1)[0]}/{unique_prefix()}"  # s3://BUCKET/PREFIX
    flags = ["--model-dir", str(path), "--sample-fraction", "1", "--samples-store", root,
             "--sample-flush-interval-s", "3600"]  # fmt: skip
    with modelserver("iris", *flags, env=env) as url:
        # WHEN 5 requests are answered, then the server gets SIGTERM
        for row in x[:5]:
            answer = httpx.post(f"{url}/v1/models/iris:predict", json={"instances": [row.tolist()]})
            assert answer.status_code == 200, answer.text
    # THEN the 5 sampled rows are in the bucket
    store = ArtifactStore(root, options)
    frame = _samples(store, "iris", datetime.now(UTC).date())
    assert len(frame) == 5
    assert frame["prediction"].tolist() == model.predict(x[:5]).tolist()
