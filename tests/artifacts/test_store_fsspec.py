"""The store's fsspec path (every scheme but file://), exercised on fsspec's memory:// backend.

The cloud schemes (s3://, gs://, abfs://) take this same code path, except that their checks
read the digest recorded as object metadata instead of the bytes; that is tested on their real
servers (SeaweedFS, fake-gcs-server, Azurite) in tests/services/test_store_remote_checks.py.
memory:// records no metadata, so its check reads the bytes.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ArtifactError, ArtifactNotFoundError, DigestMismatchError
from mlplatform.pipelines.dsl import pipeline, step
from mlplatform.pipelines.local import LocalExecutor, RunOptions


@step
def numbers(n: int) -> list[int]:
    return list(range(n))


@step
def total(values: list[int]) -> int:
    return sum(values)


@pipeline(name="sum-on-fsspec")
def summing(n: int = 3) -> None:
    total(numbers(n))


@pytest.fixture
def store():
    return ArtifactStore(f"memory://mlp-test-{uuid.uuid4().hex}")


def test_put_fetch_verify_and_list_through_fsspec(store, tmp_path):
    src = tmp_path / "blob"
    src.write_bytes(b"hello store")
    ref = store.put_object(src, "json")
    assert not store.local
    assert ref.uri.startswith("memory://")
    assert store.fetch(ref, tmp_path).read_bytes() == b"hello store"
    assert store.list("objects") == [store.object_key(ref.digest)]
    store.write_bytes("cache/ab/x.json", b"{}")
    assert store.read_bytes("cache/ab/x.json") == b"{}"


def test_corrupted_remote_object_is_detected(store, tmp_path):
    src = tmp_path / "blob"
    src.write_bytes(b"original bytes")
    ref = store.put_object(src, "json")
    store.fs.pipe_file(store._path(store.object_key(ref.digest)), b"tampered bytes")
    with pytest.raises(DigestMismatchError, match="corrupted"):
        store.fetch(ref, tmp_path / "fresh")
    # a scheme without object metadata is checked by reading the bytes: same size is caught
    with pytest.raises(DigestMismatchError, match="corrupted"):
        store.verify(ref)
    assert store.put_object(src, "json") == ref  # and a put repairs it
    store.verify(ref)
    store.delete(store.object_key(ref.digest))
    with pytest.raises(ArtifactNotFoundError):
        store.verify(ref)


def test_a_pipeline_runs_and_caches_on_an_fsspec_store(store, tmp_path: Path):
    executor = LocalExecutor(store, RunOptions(in_process=True))
    first = executor.run(summing.graph, {"n": 4})
    assert {o.status for o in first.steps.values()} == {"ran"}
    again = LocalExecutor(store, RunOptions(in_process=True)).run(summing.graph, {"n": 4})
    assert set(again.cached) == set(again.steps)
    assert again.output("total").digest == first.output("total").digest


def test_keys_that_leave_the_root_are_refused_through_fsspec(store):
    for key in ("../other-bucket/x", "a/../../x", "/abs"):
        with pytest.raises(ArtifactError, match="refused store key"):
            store.write_bytes(key, b"x")
        with pytest.raises(ArtifactError, match="refused store key"):
            store.exists(key)
    with pytest.raises(ArtifactError, match="refused store key"):
        store.list("../")
