"""What the payload sampler remembers is bounded: a server runs for months, and the keys of
the files it wrote and the drift windows it closed must not grow with its life."""

from __future__ import annotations

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.drift import DriftMonitor, build_profile
from mlplatform.serving import SamplingConfig
from mlplatform.serving.loader import load_model
from mlplatform.serving.sampler import PREDICTION, RECENT, SAMPLES_PREFIX, PayloadSampler

EXTRA = 20  # flushes beyond what is remembered


def test_written_files_and_drift_windows_keep_the_last_ones_and_count_all(iris_dir, tmp_path):
    # GIVEN a sampler writing to a local store and monitoring the iris model in windows of
    # 2 rows against a profile of the iris rows
    path, _model, x = iris_dir
    model = load_model(path, None, name="iris")
    block = model.schema.from_v1({"instances": x[:2].tolist()})
    outputs = model.predict(block)
    probe = PayloadSampler("iris", SamplingConfig(fraction=1.0))
    probe.offer(model, "primary", [block], [outputs])
    columns = [PREDICTION, "model_version", "variant", "sampled_at"]
    profile = build_profile(probe.drain().drop(columns=columns))
    store = ArtifactStore(tmp_path / "store")
    sampler = PayloadSampler(
        "iris",
        SamplingConfig(fraction=1.0, store_url=store.root),
        store=store,
        monitors=lambda m: DriftMonitor(profile, window_rows=2, workers=1),
    )
    sampler.attach(model, sampler.prepare(model))
    # WHEN RECENT + EXTRA flushes of 2 rows each are written and monitored
    keys = []
    for _ in range(RECENT + EXTRA):
        sampler.offer(model, "primary", [block], [outputs])
        keys.append(sampler.persist(sampler.drain()))
    # THEN every file is in the store, and every window was closed and counted
    assert len(store.list(f"{SAMPLES_PREFIX}/iris")) == RECENT + EXTRA
    assert sampler.files_written == RECENT + EXTRA
    assert sampler.windows_closed == RECENT + EXTRA
    # AND the sampler remembers only the last RECENT of each
    assert list(sampler.written) == keys[-RECENT:]
    assert len(sampler.windows) == RECENT
    assert all(w.rows == 2 for w in sampler.windows)


def test_no_monitor_is_built_when_sampling_is_off(iris_dir):
    # GIVEN a server that does not sample, given a monitor factory (mlp serve always has one)
    path, _model, _x = iris_dir
    model = load_model(path, None, name="iris")
    built = []
    sampler = PayloadSampler("iris", SamplingConfig(), monitors=built.append)
    # WHEN a version is prepared and attached
    sampler.attach(model, sampler.prepare(model))
    # THEN no profile was loaded: nothing would ever feed the monitor
    assert built == []
