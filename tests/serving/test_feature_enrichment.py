"""The model server fetching a version's features from the feature store: requests with only
the entity keys, through the real server over HTTP, against Feast's real local stores (Parquet
offline, SQLite online, file registry) and a registry version tagged with its feature service.

One store and one registry per module (apply + materialize take seconds); the servers that
need their own settings (a store that is down, sampling) start their own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import socket
from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from _feature_store import churn_layout, last_snapshots
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.components.churn_data import churn_activity
from mlplatform.errors import InferenceInputError, ServingError
from mlplatform.features import FeatureStoreLayout, materialize
from mlplatform.features.online import OnlineFeatures
from mlplatform.serving import (
    BackgroundServer,
    BatchConfig,
    SamplingConfig,
    ServerConfig,
    VariantConfig,
    build_app,
    start_background,
)
from mlplatform.serving.enrich import EntityRows, FeatureEnricher
from mlplatform.serving.sampler import SAMPLES_PREFIX

from ._feature_models import FEATURES, fit_on_features, tagged_registry

REGISTERED = "churn-features"
CUSTOMERS = 40
FIRST_ID = 1000  # churn_data's first customer id
UNKNOWN = 5  # an id the store has never seen


@pytest.fixture(scope="module")
def activity() -> pd.DataFrame:
    return churn_activity(CUSTOMERS, 7)


@pytest.fixture(scope="module")
def latest(activity) -> pd.DataFrame:
    return last_snapshots(activity)


@pytest.fixture(scope="module")
def layout(tmp_path_factory, activity) -> FeatureStoreLayout:
    """The churn example's feature store, applied and materialized, in a temporary folder."""
    root = tmp_path_factory.mktemp("feature-store")
    found = churn_layout(root, project="serving_test", activity=activity)
    materialize(found)
    return found


@pytest.fixture(scope="module")
def model(latest) -> Pipeline:
    return fit_on_features(latest)


@pytest.fixture(scope="module")
def tracking(tmp_path_factory, model, latest) -> str:
    """A registry whose champion was trained on feature service ``churn`` (tagged so)."""
    return tagged_registry(
        tmp_path_factory.mktemp("registry") / "mlflow.db", REGISTERED, model, latest
    )


def server_config(tracking: str, layout: FeatureStoreLayout | None, **kwargs: object):
    return ServerConfig(
        kwargs.pop("name", REGISTERED),  # type: ignore[arg-type]
        (VariantConfig("champion", f"models:/{REGISTERED}@champion"),),
        tracking,
        feature_store=layout,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def server(tracking, layout) -> Iterator[BackgroundServer]:
    """One server for the module's read-only tests; a busy batch waits 20 ms to fill."""
    config = server_config(tracking, layout, batch=BatchConfig(max_batch_wait_ms=20))
    running = start_background(build_app(config))
    yield running
    running.stop()


def predict(server: BackgroundServer, body: dict[str, object], name: str = REGISTERED):
    return httpx.post(f"{server.url}/v1/models/{name}:predict", json=body, timeout=30)


def expected(model: Pipeline, latest: pd.DataFrame, ids: list[int]) -> list[int]:
    return model.predict(latest.loc[ids, FEATURES].reset_index(drop=True)).tolist()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- entity keys in, features from the store --------------------------------------------


def test_entity_keys_alone_are_predicted_with_the_stores_features(server, model, latest):
    # GIVEN a served version tagged with feature service churn
    ids = [FIRST_ID, FIRST_ID + 1, FIRST_ID + 7]
    # WHEN a V1 request carries only the customer ids
    answer = predict(server, {"instances": [{"customer_id": i} for i in ids]})
    # THEN it is predicted on the customers' latest features, as in-process predictions are
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == expected(model, latest, ids)


def test_v2_entity_keys_and_positional_rows_work_too(server, model, latest):
    ids = [FIRST_ID + 2, FIRST_ID + 3]
    # WHEN the keys come as a V2 INT64 column, and as V1 positional rows
    v2 = httpx.post(
        f"{server.url}/v2/models/{REGISTERED}/infer",
        json={"inputs": [{"name": "customer_id", "shape": [2], "datatype": "INT64",
                          "data": ids}]},
    )  # fmt: skip
    v1 = predict(server, {"instances": [[i] for i in ids]})
    # THEN both are predicted from the store's features
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == expected(model, latest, ids)
    assert v1.json()["predictions"] == expected(model, latest, ids)


def test_requests_with_every_feature_keep_working(server, model, latest):
    # GIVEN rows carrying every feature (no key)
    rows = latest.loc[[FIRST_ID + 4, FIRST_ID + 5], FEATURES]
    # WHEN they are posted as before the feature store
    answer = predict(server, {"instances": rows.to_dict("records")})
    # THEN they are predicted on the features sent
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == model.predict(rows.reset_index(drop=True)).tolist()


def test_metadata_names_the_feature_service_and_the_entity_inputs(server):
    parameters = httpx.get(f"{server.url}/v2/models/{REGISTERED}").json()["parameters"]
    assert parameters["feature_service"] == "churn"
    assert parameters["entity_inputs"] == ["customer_id"]


def test_a_request_that_is_neither_says_how_to_send_keys(server):
    answer = predict(server, {"instances": [{"customer": FIRST_ID}]})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "has no input" in error
    assert "send only customer_id" in error
    assert "feature service 'churn'" in error


# ---- missing entities and a mixed batch ---------------------------------------------------


def test_a_missing_entity_is_422_naming_the_key(server):
    answer = predict(server, {"instances": [{"customer_id": FIRST_ID}, {"customer_id": UNKNOWN}]})
    assert answer.status_code == 422
    assert f"no online features for entity customer_id={UNKNOWN}" in answer.json()["error"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert (
        f'mlplatform_feature_store_errors_total{{model="{REGISTERED}",reason="entity_not_found"}}'
        in metrics
    )


def test_a_mixed_concurrent_batch_fails_only_the_missing_entitys_request(server, model, latest):
    # GIVEN concurrent requests: known keys, an unknown key, and full feature rows
    full = latest.loc[[FIRST_ID + 9], FEATURES]
    bodies = [{"instances": [{"customer_id": FIRST_ID + i}]} for i in range(10, 22)]
    bodies.insert(5, {"instances": [{"customer_id": UNKNOWN + 1}]})
    bodies.insert(9, {"instances": full.to_dict("records")})

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            url = f"/v1/models/{REGISTERED}:predict"
            return await asyncio.gather(*(client.post(url, json=b) for b in bodies))

    # WHEN they are sent at once (the server batches them)
    answers = asyncio.run(send())
    # THEN only the unknown entity's request failed, with a 422 naming it
    codes = [a.status_code for a in answers]
    assert codes == [422 if i == 5 else 200 for i in range(len(bodies))], codes
    assert f"customer_id={UNKNOWN + 1}" in answers[5].json()["error"]
    # AND every other request got its own prediction
    assert answers[9].json()["predictions"] == model.predict(full.reset_index(drop=True)).tolist()
    keyed = [i for i in range(len(bodies)) if i not in (5, 9)]
    ids = [bodies[i]["instances"][0]["customer_id"] for i in keyed]  # type: ignore[index]
    assert [answers[i].json()["predictions"][0] for i in keyed] == expected(model, latest, ids)


class CountingOnlineFeatures(OnlineFeatures):
    """The real online reads, counted."""

    lookups = 0

    def lookup(self, rows):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return super().lookup(rows)


def test_a_micro_batch_reads_the_online_store_once(layout, server, latest):
    # GIVEN the enricher of the served version, reading through a counting OnlineFeatures
    from mlplatform.features import open_store

    online = CountingOnlineFeatures(open_store(layout), "churn")
    schema = server.app.service.primary.model.schema
    enricher = FeatureEnricher(online, schema, "count-test")
    full = schema.from_v1({"instances": latest.loc[[FIRST_ID], FEATURES].to_dict("records")})
    keys = [
        EntityRows(pd.DataFrame({"customer_id": ids})) for ids in ([1001, 1002], [UNKNOWN], [1003])
    ]
    # WHEN a batch of three entity-key requests and one full request is enriched
    blocks = enricher.enrich([keys[0], full, keys[1], keys[2]])
    # THEN the store was read once, the unknown entity got its 422, the rest their rows
    assert online.lookups == 1
    missing = blocks[2]
    assert isinstance(missing, InferenceInputError)
    assert missing.status == 422
    assert blocks[1] is full
    first = blocks[0]
    assert isinstance(first, pd.DataFrame)
    assert first["plan"].tolist() == latest.loc[[1001, 1002], "plan"].tolist()
    assert first["spend_30d"].tolist() == latest.loc[[1001, 1002], "spend_30d"].tolist()
    assert isinstance(blocks[3], pd.DataFrame)
    assert len(blocks[3]) == 1


# ---- the store down, no store, sampling ---------------------------------------------------


def test_an_online_store_that_is_down_is_503_with_retry_after_and_counted(
    tracking, layout, model, latest
):
    # GIVEN the registry's definitions, and an online store (PostgreSQL) nobody listens on
    down = dataclasses.replace(
        layout,
        online_store={"type": "postgres", "host": "127.0.0.1", "port": closed_port(),
                      "database": "features", "user": "nobody", "password": "x",
                      "sslmode": "disable"},
    )  # fmt: skip
    name = "churn-store-down"
    with start_background(build_app(server_config(tracking, down, name=name))) as server:
        # WHEN an entity-key request and a full-feature request come
        keyed = predict(server, {"instances": [{"customer_id": FIRST_ID}]}, name)
        rows = latest.loc[[FIRST_ID], FEATURES]
        full = predict(server, {"instances": rows.to_dict("records")}, name)
        metrics = httpx.get(f"{server.url}/metrics").text
    # THEN the keyed one is refused for now, with Retry-After, and counted
    assert keyed.status_code == 503, keyed.text
    assert keyed.headers["retry-after"] == "5"
    assert "did not answer" in keyed.json()["error"]
    line = f'mlplatform_feature_store_errors_total{{model="{name}",reason="unavailable"}} 1.0'
    assert line in metrics
    # AND the full-feature one is still predicted
    assert full.status_code == 200
    assert full.json()["predictions"] == model.predict(rows.reset_index(drop=True)).tolist()


def test_a_tagged_version_without_a_feature_store_does_not_load(tracking):
    with pytest.raises(ServingError, match=r"feature service 'churn'.*no feature store"):
        build_app(server_config(tracking, None, name="churn-no-store"))


def test_sampled_payloads_hold_the_fetched_features(tracking, layout, latest, tmp_path):
    # GIVEN a server sampling every request to an artifact store
    store_url = str(tmp_path / "samples")
    sampling = SamplingConfig(fraction=1.0, flush_rows=10**6, flush_interval_s=3600,
                              store_url=store_url)  # fmt: skip
    name = "churn-sampled"
    ids = [FIRST_ID + 30, FIRST_ID + 31, FIRST_ID + 32]
    with start_background(build_app(server_config(tracking, layout, name=name,
                                                  sampling=sampling))) as server:  # fmt: skip
        # WHEN entity-key requests are predicted (the samples are written when it stops)
        for i in ids:
            assert predict(server, {"instances": [{"customer_id": i}]}, name).status_code == 200
    # THEN the samples hold the features the store gave, which the model saw
    store = ArtifactStore(store_url)
    keys = store.list(f"{SAMPLES_PREFIX}/{name}")
    frame = pd.concat(pd.read_parquet(io.BytesIO(store.read_bytes(k))) for k in keys)
    frame = frame.reset_index(drop=True)
    assert set(FEATURES) <= set(frame.columns)
    want = latest.loc[ids, FEATURES].reset_index(drop=True)
    assert frame["plan"].tolist() == want["plan"].tolist()
    np.testing.assert_allclose(frame["spend_30d"], want["spend_30d"])
    assert frame["tenure_days"].tolist() == want["tenure_days"].tolist()


# ---- mlp serve's configuration ------------------------------------------------------------


def test_mlp_serve_gives_the_server_the_projects_feature_store(tmp_path, monkeypatch):
    from mlplatform.settings import load_settings
    from mlplatform.workspace import Workspace

    # GIVEN a project without a feature repository, then with one
    monkeypatch.chdir(tmp_path)
    ws = Workspace(load_settings(home=tmp_path / ".mlplatform"))
    assert ws.server_config("churn").feature_store is None
    (tmp_path / "features").mkdir()
    # WHEN the server's configuration is built
    config = ws.server_config("churn")
    # THEN it names the profile's feature store (local: SQLite online store under home)
    assert config.feature_store is not None
    assert config.feature_store.repo.resolve() == (tmp_path / "features").resolve()
    assert config.feature_store.online_store["type"] == "sqlite"
