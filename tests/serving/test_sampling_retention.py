"""Payload sampling: off unless asked, one default for `mlp serve` and the container, and a
stated retention that the sampler enforces by deleting old days of samples on every store."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ConfigError
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS
from mlplatform.serving import SamplingConfig, ServerConfig, VariantConfig
from mlplatform.serving.__main__ import config_from_args, parser
from mlplatform.serving.sampler import SAMPLES_PREFIX, PayloadSampler
from mlplatform.settings import load_settings
from mlplatform.workspace import Workspace

TODAY = date(2024, 5, 31)


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    """A folder named like a model (nothing loads it here), in a project with no settings."""
    for name in ("MLPLATFORM_SERVING", "MLPLATFORM_PROFILE", "MLPLATFORM_ARTIFACT_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris").mkdir()
    return tmp_path / "iris"


def _container(*argv: str) -> SamplingConfig:
    return config_from_args(parser().parse_args(["--name", "iris", "--model-dir", *argv])).sampling


def test_both_entry_points_share_one_default_off(model_dir):
    # GIVEN no flag and no setting WHEN `mlp serve` and the container build their config
    served = Workspace(load_settings()).server_config(str(model_dir)).sampling
    container = _container(str(model_dir))
    # THEN both sample nothing, and both would keep samples for the same stated time
    assert SAMPLE_FRACTION == 0
    assert served.fraction == container.fraction == SamplingConfig().fraction == SAMPLE_FRACTION
    assert served.retention_days == container.retention_days == SAMPLE_RETENTION_DAYS


def test_sampling_on_request_carries_its_retention(model_dir):
    served = Workspace(load_settings()).server_config(
        str(model_dir), sample_fraction=0.5, sample_retention_days=7
    )
    container = _container(str(model_dir), "--sample-fraction", "0.5",
                           "--sample-retention-days", "7")  # fmt: skip
    assert (served.sampling.fraction, served.sampling.retention_days) == (0.5, 7)
    assert (container.fraction, container.retention_days) == (0.5, 7)


@pytest.mark.parametrize(("fraction", "days"), [(1.5, 30), (-0.1, 30), (0.1, 0), (0.1, 4000)])
def test_a_fraction_or_retention_out_of_range_is_refused(fraction, days):
    with pytest.raises(ConfigError, match="sample"):
        SamplingConfig(fraction=fraction, retention_days=days)


def test_a_served_name_that_would_leave_the_store_is_refused(model_dir):
    with pytest.raises(ConfigError, match=r"'\.\./evil' does not follow the name rule"):
        _container(str(model_dir), "--name", "../evil")


def _write_day(store: ArtifactStore, model: str, day: date | str) -> str:
    key = f"{SAMPLES_PREFIX}/{model}/{day}/000000-test.parquet"
    buffer = io.BytesIO()
    pd.DataFrame({"x": [1.0]}).to_parquet(buffer)
    store.write_bytes(key, buffer.getvalue())
    return key


def _sampler(store: ArtifactStore, model: str = "churn", days: int = 30) -> PayloadSampler:
    config = SamplingConfig(fraction=1.0, retention_days=days, store_url=store.root)
    return PayloadSampler(model, config, store=store)


def check_prune(store: ArtifactStore) -> None:
    """GIVEN samples of several days on ``store`` WHEN a 30-day sampler prunes on TODAY
    THEN the days wholly older than 30 days are gone, the rest and other models stay."""
    days = {n: TODAY - timedelta(days=n) for n in (0, 1, 30, 31, 90)}
    keys = {n: _write_day(store, "churn", day) for n, day in days.items()}
    other = _write_day(store, "other", TODAY - timedelta(days=90))
    notes = _write_day(store, "churn", "notes")  # not a day folder: not ours to judge
    removed = _sampler(store).prune(TODAY)
    assert sorted(removed) == sorted(f"{SAMPLES_PREFIX}/churn/{days[n]}" for n in (31, 90))
    left = set(store.list(SAMPLES_PREFIX))
    assert left == {keys[0], keys[1], keys[30], other, notes}
    assert _sampler(store).prune(TODAY) == []  # nothing more to delete


def test_prune_deletes_old_days_and_keeps_recent_ones_on_a_local_store(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    check_prune(store)
    old_day = tmp_path / "store" / SAMPLES_PREFIX / "churn" / str(TODAY - timedelta(days=31))
    assert not old_day.exists()  # the folder went too, not only its files


def test_prune_without_samples_or_store_does_nothing(tmp_path):
    assert _sampler(ArtifactStore(tmp_path / "empty")).prune(TODAY) == []
    assert not (tmp_path / "empty").exists()  # reading created nothing
    assert PayloadSampler("churn", SamplingConfig(fraction=1.0)).prune(TODAY) == []


def test_a_running_server_enforces_the_retention(iris_dir, start_server, tmp_path):
    # GIVEN a store holding samples of a day long past the 7-day retention, and today's
    path, _model, x = iris_dir
    store = ArtifactStore(tmp_path / "store")
    today = datetime.now(UTC).date()
    old = _write_day(store, "iris", today - timedelta(days=8))
    recent = _write_day(store, "iris", today - timedelta(days=6))
    sampling = SamplingConfig(fraction=1.0, retention_days=7, store_url=store.root,
                              flush_interval_s=3600)  # fmt: skip
    config = ServerConfig("iris", (VariantConfig("primary", str(path)),), sampling=sampling)
    # WHEN a server sampling every request starts and answers one
    server = start_server(config)
    httpx.post(f"{server.url}/v1/models/iris:predict", json={"instances": [x[0].tolist()]})
    sampler = server.app.service.sampler
    for _ in range(200):  # the prune runs on the server's worker thread as it starts
        if sampler.pruned:
            break
        asyncio.run(asyncio.sleep(0.05))
    # THEN the expired day is deleted and the recent one kept
    assert list(sampler.pruned) == [f"{SAMPLES_PREFIX}/iris/{today - timedelta(days=8)}"]
    keys = set(store.list(SAMPLES_PREFIX))
    assert old not in keys
    assert recent in keys


@pytest.mark.parametrize("kind", ["s3", "azure", "gcs"])
def test_prune_deletes_old_days_and_keeps_recent_ones_on_object_stores(kind, monkeypatch):
    import fsspec

    from mlplatform.services import object_store
    from services.conftest import shared_store, unique_prefix

    if kind == "gcs":  # gcsfs' plain filesystem (see tests/services/test_object_stores.py)
        monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        fsspec.register_implementation("gs", "gcsfs.core.GCSFileSystem", clobber=True)
    try:
        team = shared_store(kind)  # the run's store of this kind: this test's own prefix
        found = object_store(team.cfg, team.creds, kind)
        root = f"{found.pipeline_root}/{unique_prefix()}"
        check_prune(ArtifactStore(root, found.storage_options))
    finally:
        if kind == "gcs":
            fsspec.register_implementation("gs", "gcsfs.GCSFileSystem", clobber=True)
