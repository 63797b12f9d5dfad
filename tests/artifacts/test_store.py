"""The content-addressed store: atomic writes, verified reads, self-repairing puts."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mlplatform.artifacts.digest import digest_bytes
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ArtifactError, ArtifactNotFoundError, DigestMismatchError


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "store")


def root(store: ArtifactStore) -> Path:
    return Path(store.root.removeprefix("file://"))


def temp_files(store: ArtifactStore) -> list[Path]:
    return list(root(store).rglob(".*.tmp"))


def put(store: ArtifactStore, tmp_path: Path, data: bytes, type_: str = "pickle") -> ArtifactRef:
    local = tmp_path / f"local-{digest_bytes(data)[7:19]}"
    local.write_bytes(data)
    return store.put_object(local, type_)


def test_a_plain_path_becomes_a_file_url(tmp_path):
    store = ArtifactStore(tmp_path / "s")
    assert store.root == (tmp_path / "s").resolve().as_uri()
    assert store.local
    assert store.protocol == "file"


def test_put_object_stores_bytes_under_their_digest(store, tmp_path):
    # GIVEN some bytes WHEN stored
    ref = put(store, tmp_path, b"hello", "json")

    # THEN the reference names the digest, and the object lives at the digest's key
    assert ref.digest == digest_bytes(b"hello")
    assert (ref.type, ref.size) == ("json", 5)
    assert ref.uri == store.url(store.object_key(ref.digest))
    assert store.read_bytes(store.object_key(ref.digest)) == b"hello"
    assert temp_files(store) == []


def test_equal_bytes_are_stored_once(store, tmp_path):
    (tmp_path / "other").mkdir()
    a, b = put(store, tmp_path, b"same"), put(store, tmp_path / "other", b"same")
    assert a == b
    assert store.list("objects") == [store.object_key(a.digest)]


def test_write_bytes_leaves_no_temporary_file(store):
    store.write_bytes("cache/ab/k.json", b"{}")
    store.write_bytes("cache/ab/k.json", b'{"a":1}')
    assert store.read_bytes("cache/ab/k.json") == b'{"a":1}'
    assert temp_files(store) == []
    assert store.list("") == ["cache/ab/k.json"]


def test_a_failed_put_leaves_nothing_behind(store, tmp_path):
    # GIVEN a source file that disappears before the copy
    with pytest.raises(FileNotFoundError):
        store._put_file(tmp_path / "gone", "objects/sha256/ab/abcd")

    # THEN neither the object nor a temporary file exists
    assert not store.exists("objects/sha256/ab/abcd")
    assert temp_files(store) == []


def test_readers_never_see_a_partial_write(store):
    # GIVEN a writer that keeps replacing one key with one of two large payloads
    payloads = {b"a" * 1_000_000, b"b" * 700_000}
    store.write_bytes("k", b"a" * 1_000_000)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            for data in payloads:
                store.write_bytes("k", data)

    thread = threading.Thread(target=writer)
    thread.start()

    # WHEN a reader reads it over and over meanwhile
    try:
        seen = [store.read_bytes("k") for _ in range(100)]
    finally:
        stop.set()
        thread.join()

    # THEN every read is one whole payload
    assert [len(data) for data in seen if data not in payloads] == []
    assert temp_files(store) == []


def test_list_hides_temporary_files(store):
    # GIVEN an object beside the temporary files of killed writers (atomicfile's, and the
    # `.tmp-` ones of earlier versions)
    store.write_bytes("objects/sha256/ab/abc", b"x")
    (root(store) / "objects/sha256/ab/.abd.0123456789abcdef.tmp").write_bytes(b"half")
    (root(store) / "objects/sha256/ab/.tmp-123-abd").write_bytes(b"half")
    # THEN only the object is listed
    assert store.list("objects") == ["objects/sha256/ab/abc"]


def test_fetch_returns_verified_bytes(store, tmp_path):
    ref = put(store, tmp_path, b"payload")
    assert store.fetch(ref, tmp_path).read_bytes() == b"payload"


def test_fetch_of_corrupted_bytes_raises_digest_mismatch(store, tmp_path):
    # GIVEN a stored object whose bytes were changed on disk
    ref = put(store, tmp_path, b"payload")
    path = root(store) / store.object_key(ref.digest)
    path.write_bytes(b"paYload")

    # WHEN a consumer reads it THEN the read fails, naming both digests
    with pytest.raises(DigestMismatchError) as info:
        store.fetch(ref, tmp_path)
    assert f"expected {ref.digest}, found {digest_bytes(b'paYload')}" in info.value.headline
    assert "re-run" in info.value.hint
    with pytest.raises(DigestMismatchError):
        store.verify(ref)


def test_fetch_of_a_missing_object_raises_not_found(store, tmp_path):
    ref = put(store, tmp_path, b"payload")
    os.unlink(root(store) / store.object_key(ref.digest))
    with pytest.raises(ArtifactNotFoundError, match="does not exist"):
        store.fetch(ref, tmp_path)


def test_putting_bytes_again_repairs_a_corrupted_object(store, tmp_path):
    # GIVEN an object corrupted on disk
    ref = put(store, tmp_path, b"payload")
    (root(store) / store.object_key(ref.digest)).write_bytes(b"garbage")

    # WHEN the same bytes are put again
    again = put(store, tmp_path, b"payload")

    # THEN the object is whole again
    assert again == ref
    store.verify(ref)


def test_read_bytes_of_a_missing_key_raises_not_found(store):
    with pytest.raises(ArtifactNotFoundError, match="nope does not exist"):
        store.read_bytes("nope")


def test_delete_is_idempotent(store):
    store.write_bytes("a/b", b"1")
    store.delete("a/b")
    store.delete("a/b")
    assert not store.exists("a/b")


def test_object_key_rejects_what_is_not_a_sha256_digest():
    with pytest.raises(ValueError, match="not a sha256 digest"):
        ArtifactStore.object_key("md5:abc")


# ---- keys stay under the root ------------------------------------------------------------
ESCAPING_KEYS = (
    "../outside",
    "a/../../outside",
    "objects/../../outside",
    "/etc/passwd",
    "a//b",
    "./a",
    "a/.",
    "a/",
    "",
    "..\\outside",
    "a\0b",
)
METHODS = {
    "exists": lambda s, k, tmp: s.exists(k),
    "read_bytes": lambda s, k, tmp: s.read_bytes(k),
    "write_bytes": lambda s, k, tmp: s.write_bytes(k, b"escaped"),
    "put": lambda s, k, tmp: s._put_file(tmp, k),
    "delete": lambda s, k, tmp: s.delete(k),
    "url": lambda s, k, tmp: s.url(k),
}


@pytest.mark.parametrize("key", ESCAPING_KEYS)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_refuses_a_key_that_leaves_the_root(tmp_path, key, method):
    # GIVEN a store in a folder, with a file beside the store that must stay untouched
    store = ArtifactStore(tmp_path / "store")
    source = tmp_path / "source"
    source.write_bytes(b"escaped")
    (tmp_path / "outside").write_bytes(b"mine")

    # WHEN a method gets a key that is absolute or leaves the root THEN it is refused
    with pytest.raises(ArtifactError, match="refused store key") as info:
        METHODS[method](store, key, source)
    assert "relative paths under the store root" in info.value.hint

    # AND nothing was written, outside or inside
    assert (tmp_path / "outside").read_bytes() == b"mine"
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("prefix", ["../", "..", "/tmp", "a//", "a/../.."])
def test_list_refuses_a_prefix_that_leaves_the_root(store, prefix):
    with pytest.raises(ArtifactError, match="refused store key"):
        store.list(prefix)


def test_list_takes_the_whole_store_and_a_folder_prefix(store):
    store.write_bytes("last/p/a.json", b"{}")
    store.write_bytes("cache/ab/k.json", b"{}")
    assert store.list("") == ["cache/ab/k.json", "last/p/a.json"]
    assert store.list("last/") == store.list("last") == ["last/p/a.json"]


def test_plain_names_with_dots_and_dashes_are_keys(store):
    # dots inside a part are not traversal: a model called `v1.2..final` is fine
    store.write_bytes("last/my-pipe.v2/step..x.json", b"1")
    assert store.read_bytes("last/my-pipe.v2/step..x.json") == b"1"


def test_the_store_module_exports_the_store_and_the_key_rule():
    import mlplatform.artifacts.objectmeta as objectmeta
    import mlplatform.artifacts.store as module

    assert module.__all__ == ["ArtifactStore", "checked_key"]
    assert objectmeta.__all__ == ["Recorded", "can_record", "put_recorded", "recorded"]
    assert module.checked_key("objects/sha256/ab/abc") == "objects/sha256/ab/abc"
    with pytest.raises(ValueError, match=r"'\.\.' part"):
        module.checked_key("last/../x")


def test_a_local_store_records_no_metadata_and_checks_by_hashing(store, tmp_path):
    # GIVEN a local object changed on disk to other bytes of the same size
    ref = put(store, tmp_path, b"12345678")
    (root(store) / store.object_key(ref.digest)).write_bytes(b"87654321")
    # THEN the local check (a hash of the file) catches it
    with pytest.raises(DigestMismatchError, match="corrupted"):
        store.verify(ref)
