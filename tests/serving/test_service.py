"""The model server against a real registry: alias loading, canary split, sticky sessions,
promotion and rollback moving traffic, hot reload without a failed request, sampling."""

from __future__ import annotations

import asyncio
import io
from collections import Counter

import httpx
import numpy as np
import pandas as pd
import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.serving import BatchConfig, SamplingConfig, ServerConfig, VariantConfig
from mlplatform.serving.sampler import SAMPLES_PREFIX
from mlplatform.tracking import promote, rollback

from .conftest import MODEL


def rows(frame: pd.DataFrame, n: int = 5) -> list[dict[str, object]]:
    return frame.head(n).to_dict("records")


def canary_config(tracking_uri: str, weight: float = 30.0, **kwargs: object) -> ServerConfig:
    return ServerConfig(
        MODEL,
        (
            VariantConfig("champion", f"models:/{MODEL}@champion"),
            VariantConfig("challenger", f"models:/{MODEL}@challenger", weight),
        ),
        tracking_uri,
        **kwargs,  # type: ignore[arg-type]
    )


def test_serves_the_alias_version_with_the_native_flavour(
    registry, start_server, churn_models, churn_data
):
    # GIVEN a server following churn@champion (v1, the logreg pipeline)
    server = start_server(canary_config(registry, weight=0.0001))
    test = churn_data[1]
    # WHEN rows are posted as objects keyed by column (V1)
    answer = httpx.post(
        f"{server.url}/v1/models/{MODEL}:predict",
        json={"instances": rows(test, 20)},
        headers={"x-session-id": "pinned-to-champion"},
    )
    # THEN the predictions are the in-process predictions of v1, labelled with the version
    assert answer.status_code == 200, answer.text
    expected = churn_models["logreg"].predict(test.head(20))
    assert answer.json()["predictions"] == expected.tolist()
    assert answer.headers["x-mlp-model-version"] == "1"
    meta = httpx.get(f"{server.url}/v2/models/{MODEL}").json()
    assert meta["platform"] == "mlflow_sklearn"
    assert {i["name"] for i in meta["inputs"]} == set(test.columns)


def test_canary_splits_by_weight_and_sticky_sessions_stay(registry, start_server, churn_data):
    # GIVEN champion and a 30 % challenger canary
    server = start_server(canary_config(registry, weight=30))
    body = {"instances": rows(churn_data[1], 1)}
    with httpx.Client(base_url=server.url) as client:
        # WHEN 400 requests come without a session, and 20 sessions send 5 requests each
        seen = Counter(
            client.post(f"/v1/models/{MODEL}:predict", json=body).headers["x-mlp-variant"]
            for _ in range(400)
        )
        sessions = {
            s: {
                client.post(
                    f"/v1/models/{MODEL}:predict", json=body, headers={"x-session-id": f"u{s}"}
                ).headers["x-mlp-variant"]
                for _ in range(5)
            }
            for s in range(20)
        }
    # THEN about 30 % went to the challenger (binomial: 400 * 0.3 = 120, sd ~9)
    assert 80 <= seen["challenger"] <= 160, seen
    assert seen["champion"] + seen["challenger"] == 400
    # AND every session saw exactly one variant, and both variants had sessions
    assert all(len(v) == 1 for v in sessions.values()), sessions
    assert {next(iter(v)) for v in sessions.values()} == {"champion", "challenger"}
    # AND the metrics count requests per variant and version
    metrics = httpx.get(f"{server.url}/metrics").text
    assert (
        f'mlplatform_inference_requests_total{{code="200",model="{MODEL}",variant="challenger",'
        'version="2"}' in metrics
    )


def test_promote_and_rollback_move_the_traffic_with_no_failed_request(
    fresh_registry, start_server, churn_data
):
    # GIVEN a server with a canary, re-resolving aliases every 0.2 s
    server = start_server(canary_config(fresh_registry, weight=20, reload_interval_s=0.2))
    body = {"instances": rows(churn_data[1], 3)}
    statuses: Counter[int] = Counter()

    async def hammer(until: asyncio.Event) -> set[str]:
        versions = set()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            while not until.is_set():
                answer = await client.post(f"/v1/models/{MODEL}:predict", json=body)
                statuses[answer.status_code] += 1
                versions.add(answer.headers.get("x-mlp-model-version", "?"))
        return versions

    async def scenario() -> tuple[set[str], list[set[str]]]:
        stop = asyncio.Event()
        load = [asyncio.create_task(hammer(stop)) for _ in range(4)]
        # WHEN the challenger (v2) is promoted to champion while requests flow
        await asyncio.sleep(0.5)
        await asyncio.to_thread(
            promote, MODEL, "champion", 2, tracking_uri=fresh_registry, user="t", reason="t"
        )
        after_promote = await wait_for_versions(server.url, {"2"})
        # AND then rolled back
        await asyncio.to_thread(
            rollback, MODEL, "champion", tracking_uri=fresh_registry, user="t", reason="t"
        )
        after_rollback = await wait_for_versions(server.url, {"1", "2"})
        stop.set()
        seen = set().union(*await asyncio.gather(*load))
        return seen, [after_promote, after_rollback]

    seen, phases = asyncio.run(scenario())
    # THEN every request succeeded, and all traffic moved to v2 after the promotion
    assert set(statuses) == {200}, statuses
    assert phases[0] == {"2"}
    # AND the rollback brought v1 back beside the v2 canary
    assert phases[1] == {"1", "2"}
    assert seen >= {"1", "2"}


async def wait_for_versions(url: str, expected: set[str], tries: int = 100) -> set[str]:
    """The versions 60 requests see, once they are exactly ``expected`` (or the last seen)."""
    body_url = f"{url}/v2/models/{MODEL}"
    seen: set[str] = set()
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(tries):
            meta = (await client.get(body_url)).json()
            served = {v["version"] for v in meta["parameters"]["variants"]}
            primary = meta["parameters"]["variants"][0]["version"]
            seen = {primary} if served == {primary} else served
            if seen == expected:
                return seen
            await asyncio.sleep(0.1)
    return seen


def test_payload_samples_reach_parquet_and_the_drift_monitor(
    registry, start_server, churn_data, tmp_path
):
    # GIVEN a server sampling every request, flushing every 30 rows, with a drift monitor
    store_url = str(tmp_path / "store")
    config = ServerConfig(
        MODEL,
        (VariantConfig("champion", f"models:/{MODEL}@champion"),),
        registry,
        sampling=SamplingConfig(
            fraction=1.0, flush_rows=30, flush_interval_s=0.2, store_url=store_url
        ),
    )
    from mlplatform.drift import DriftConfig
    from mlplatform.serving.sampler import registry_monitors

    monitors = registry_monitors(registry, DriftConfig(), window_rows=30)
    server = start_server(config, monitors=monitors)
    test = churn_data[1]
    # WHEN the 60 test rows are predicted in 6 requests
    for i in range(6):
        httpx.post(
            f"{server.url}/v1/models/{MODEL}:predict",
            json={"instances": test.iloc[i * 10 : i * 10 + 10].to_dict("records")},
        ).raise_for_status()
    sampler = server.app.service.sampler
    for _ in range(100):
        if sum(w.rows for w in sampler.windows) >= 60:
            break
        asyncio.run(asyncio.sleep(0.05))
    # THEN the samples are in Parquet in the store, with inputs, prediction, version, variant
    store = ArtifactStore(store_url)
    keys = store.list(f"{SAMPLES_PREFIX}/{MODEL}")
    assert keys, "no sample file was written"
    frame = pd.concat(pd.read_parquet(io.BytesIO(store.read_bytes(k))) for k in keys)
    assert len(frame) == 60
    assert set(test.columns) <= set(frame.columns)
    assert set(frame["model_version"]) == {"1"}
    assert set(frame["variant"]) == {"champion"}
    assert np.isin(frame["prediction"], [0, 1]).all()
    # AND the drift monitor checked them in windows of 30 rows against the v1 profile
    assert [w.rows for w in sampler.windows] == [30, 30]
    assert "mlplatform_drift_window_rows" in httpx.get(f"{server.url}/metrics").text


def test_a_full_sample_buffer_drops_samples_not_requests(iris_dir, start_server):
    # GIVEN a server whose sample buffer holds 3 rows and never flushes during the test
    path, _model, x = iris_dir
    config = ServerConfig(
        "iris",
        (VariantConfig("primary", str(path)),),
        sampling=SamplingConfig(fraction=1.0, buffer_rows=3, flush_rows=10**6,
                                flush_interval_s=3600),
    )  # fmt: skip
    server = start_server(config)
    # WHEN 10 single-row requests come
    for row in x[:10]:
        answer = httpx.post(
            f"{server.url}/v1/models/iris:predict", json={"instances": [row.tolist()]}
        )
        assert answer.status_code == 200
    # THEN 3 were kept and 7 dropped, and counted
    assert server.app.service.sampler.buffered_rows == 3
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'mlplatform_payload_samples_total{model="iris",outcome="dropped"}' in metrics


def test_concurrent_requests_are_batched(iris_dir, start_server):
    # GIVEN a server that lets a busy batch fill for 20 ms
    path, model, x = iris_dir
    config = ServerConfig(
        "iris", (VariantConfig("primary", str(path)),),
        batch=BatchConfig(max_batch_size=32, max_batch_wait_ms=20),
    )  # fmt: skip
    server = start_server(config)

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url) as client:
            return await asyncio.gather(
                *(client.post("/v1/models/iris:predict", json={"instances": [r.tolist()]})
                  for r in x[:64])
            )  # fmt: skip

    asyncio.run(burst())  # warms the batcher up: its last batch had more than one request
    before = _batches(server.url)
    answers = asyncio.run(burst())
    after = _batches(server.url)
    # THEN each got its own row's prediction
    assert [a.json()["predictions"][0] for a in answers] == model.predict(x[:64]).tolist()
    # AND the 64 rows went through in fewer than 64 batches
    rows, batches = after[0] - before[0], after[1] - before[1]
    assert rows == 64
    assert batches < 64, f"{batches} batches for 64 rows"


def _batches(url: str) -> tuple[float, float]:
    """(rows, batches) the iris server's batcher predicted so far (metrics are per process)."""
    text = httpx.get(f"{url}/metrics").text
    prefix = 'mlplatform_inference_batch_size_{}{{model="iris"'
    return _metric(text, prefix.format("sum")), _metric(text, prefix.format("count"))


def _metric(text: str, prefix: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.rsplit(" ", 1)[1])


def test_unknown_alias_is_a_clear_error_before_serving(registry):
    from mlplatform.errors import RegistryError
    from mlplatform.serving import build_app

    config = ServerConfig(MODEL, (VariantConfig("x", f"models:/{MODEL}@nope"),), registry)
    with pytest.raises(RegistryError, match="nope"):
        build_app(config)
