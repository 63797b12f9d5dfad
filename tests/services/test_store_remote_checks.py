"""Cached is cheap on every remote store: a check and a repeated put read no object bytes,
and bytes changed behind the store's back are still caught when they are read.

Each store is the real emulator on loopback (SeaweedFS for S3, Azurite for Azure Blob,
fake-gcs-server for GCS): the run's one of each kind (``shared_store``), stopped by PID when the
run ends; this module writes under its own prefix. The bytes moved are counted on the store's
own fsspec filesystem object (``Meter``, the cache re-run benchmark's): nothing is replaced,
every call still goes to the server.
"""

from __future__ import annotations

import contextlib
import runpy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ArtifactError, ArtifactNotFoundError, DigestMismatchError
from mlplatform.pipelines.dsl import pipeline, step
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.services import object_store

from .conftest import shared_store, unique_prefix

SERVICE = {"s3": "seaweedfs", "azure": "azurite", "gcs": "fake-gcs"}
SIZE = 3 << 20  # larger than anything a metadata request returns: a download would show
# The cache re-run benchmark's byte meter (one meter for both; it lives beside the benchmark's
# worker, which runs under old code too and so cannot import from src/ or tests/).
METER = Path(__file__).resolve().parents[2] / "benchmarks" / "_cache_rerun" / "meter.py"
Meter = runpy.run_path(str(METER))["Meter"]


@pytest.fixture(scope="module", params=sorted(SERVICE))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(root, storage options, kind) of a real store, for the module."""
    kind = request.param
    with contextlib.ExitStack() as stack:
        team = shared_store(kind)
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        store = object_store(team.cfg, team.creds, kind)
        for name, value in store.client_env.items():
            patch.setenv(name, value)
        if kind == "gcs":  # the plain gcsfs class: see test_object_stores.plain_gcsfs
            fsspec.register_implementation("gs", "gcsfs.core.GCSFileSystem", clobber=True)
            stack.callback(
                fsspec.register_implementation, "gs", "gcsfs.GCSFileSystem", clobber=True
            )
        yield f"{store.pipeline_root}/{unique_prefix()}", dict(store.storage_options), kind


@pytest.fixture
def store(served: tuple[str, dict[str, Any], str]) -> ArtifactStore:
    root, options, _ = served
    return ArtifactStore(f"{root}/{uuid.uuid4().hex[:12]}", options)


def put(store: ArtifactStore, tmp_path: Path, data: bytes) -> ArtifactRef:
    local = tmp_path / f"src-{uuid.uuid4().hex[:8]}"
    local.write_bytes(data)
    return store.put_object(local, "bytes")


def payload(seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(SIZE)


def test_a_check_and_a_repeated_put_read_no_object_bytes(store, tmp_path, monkeypatch):
    # GIVEN a 3 MB object written by the store
    data = payload(1)
    ref = put(store, tmp_path, data)
    # WHEN it is checked, and the same bytes are put again, on a metered filesystem
    meter = Meter(store.fs, monkeypatch.setattr)
    store.verify(ref)
    again = put(store, tmp_path, data)
    # THEN both agree it is intact, and not one byte of it was read or written
    assert again == ref
    assert (meter.read, meter.written) == (0, 0), meter.calls
    assert not meter.calls, meter.calls
    # AND reading it does move its bytes (the meter counts what it should)
    assert store.fetch(ref, tmp_path / "scratch").read_bytes() == data
    assert meter.read >= SIZE


def test_bytes_changed_with_the_digest_kept_are_caught_when_read(store, tmp_path):
    # GIVEN an object whose bytes are replaced by others of the same size, by a writer that
    # also copies the recorded digest (the metadata check cannot see this)
    ref = put(store, tmp_path, payload(2))
    forged = tmp_path / "forged"
    forged.write_bytes(payload(3))
    store._put_file(forged, store.object_key(ref.digest), ref.digest)
    store.verify(ref)
    # WHEN the bytes are read THEN the read fails on their digest
    with pytest.raises(DigestMismatchError, match="corrupted"):
        store.fetch(ref, tmp_path / "scratch")
    # AND nothing of the bad copy is left in the scratch folder
    assert list((tmp_path / "scratch").iterdir()) == []


def test_bytes_written_by_another_client_fail_the_check_and_a_put_repairs_them(store, tmp_path):
    # GIVEN an object overwritten by a plain client (same size, no recorded digest)
    data = payload(4)
    ref = put(store, tmp_path, data)
    store.fs.pipe_file(store._path(store.object_key(ref.digest)), payload(5))
    # WHEN it is checked THEN it is not trusted
    with pytest.raises(DigestMismatchError, match="no digest recorded"):
        store.verify(ref)
    # AND putting the right bytes again writes them, with their digest
    assert put(store, tmp_path, data) == ref
    store.verify(ref)
    assert store.fetch(ref, tmp_path / "scratch").read_bytes() == data


def test_a_missing_object_is_a_miss(store, tmp_path):
    # GIVEN an object that was deleted after it was written
    ref = put(store, tmp_path, b"short-lived")
    store.delete(store.object_key(ref.digest))
    # THEN the check and the read both say it is gone, and a put writes it again
    with pytest.raises(ArtifactNotFoundError, match="does not exist"):
        store.verify(ref)
    with pytest.raises(ArtifactNotFoundError, match="does not exist"):
        store.fetch(ref, tmp_path)
    assert put(store, tmp_path, b"short-lived") == ref
    store.verify(ref)


def test_a_size_that_differs_fails_the_check(store, tmp_path):
    ref = put(store, tmp_path, b"twelve bytes")
    wrong = ArtifactRef(uri=ref.uri, digest=ref.digest, type=ref.type, size=ref.size + 1)
    with pytest.raises(DigestMismatchError, match="expected 13 bytes, found 12"):
        store.verify(wrong)


def test_keys_that_leave_the_root_are_refused(store):
    for key in ("../outside", "a/../../outside", "/abs", "a//b"):
        with pytest.raises(ArtifactError, match="refused store key"):
            store.write_bytes(key, b"x")
        with pytest.raises(ArtifactError, match="refused store key"):
            store.read_bytes(key)


# ---- the same through a pipeline: a cached re-run reads no object bytes ---------------------
@step
def block(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(SIZE // 8)


@step
def mean(values: np.ndarray) -> float:
    return float(values.mean())


@pipeline(name="remote-cached-rerun")
def chain(seed: int = 7) -> None:
    mean(block(seed))


def test_a_cached_rerun_reads_no_object_bytes(store, monkeypatch):
    # GIVEN a pipeline whose 3 MB array went through the store once
    first = LocalExecutor(store, RunOptions(in_process=True)).run(chain.graph, {"seed": 7})
    assert {o.status for o in first.steps.values()} == {"ran"}
    # WHEN it runs again on a metered filesystem
    meter = Meter(store.fs, monkeypatch.setattr)
    again = LocalExecutor(store, RunOptions(in_process=True)).run(chain.graph, {"seed": 7})
    # THEN every step is cached, and only the small index entries moved (no object bytes)
    assert set(again.cached) == {"block", "mean"}
    assert meter.moved < 16 << 10, (meter.read, meter.written, meter.calls)
    assert again.output("block").digest == first.output("block").digest
