"""Fingerprints of external data: files, folders, globs, the digest cache, missing sources."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import fsspec
import pytest

from mlplatform import step
from mlplatform.errors import DataSourceError, PipelineDefinitionError
from mlplatform.pipelines.datasource import (
    FALLBACK,
    DigestCache,
    fingerprint,
    fingerprint_params,
    sha256_file,
)
from mlplatform.pipelines.dsl import Step

OLD_NS = 1_600_000_000 * 10**9  # a modification time long before any hashing here


def write(path: Path, data: bytes, mtime_ns: int = OLD_NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def rewrite_in_place(path: Path, data: bytes) -> None:
    """New bytes in the same inode, with the old size and modification time put back."""
    st = path.stat()
    with open(path, "r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_ino == st.st_ino


def test_a_local_file_is_the_sha256_of_its_bytes(tmp_path):
    data = write(tmp_path / "data.csv", b"a,b\n1,2\n")
    fp = fingerprint(str(data))
    assert (fp.method, fp.digest, fp.size) == (
        "sha256",
        hashlib.sha256(b"a,b\n1,2\n").hexdigest(),
        8,
    )
    assert fp.token == f"sha256:{fp.digest}"
    # AND a file:// URL of the same file is the same content
    assert fingerprint(data.as_uri()).token == fp.token


def test_large_files_hash_like_hashlib(tmp_path):
    blob = os.urandom(9 * 1024 * 1024 + 7)  # more than two read chunks, not a multiple
    path = write(tmp_path / "big.bin", blob)
    assert sha256_file(path) == hashlib.sha256(blob).hexdigest()


def test_a_folder_is_its_sorted_relative_listing_of_digests(tmp_path):
    # GIVEN a folder of two files
    write(tmp_path / "d" / "a.csv", b"1")
    write(tmp_path / "d" / "sub" / "b.csv", b"2")
    before = fingerprint(str(tmp_path / "d"))
    assert (before.method, before.objects, before.size) == ("sha256", 2, 2)
    # WHEN the same bytes are copied to another folder THEN the fingerprint is the same
    write(tmp_path / "e" / "a.csv", b"1")
    write(tmp_path / "e" / "sub" / "b.csv", b"2")
    assert fingerprint(str(tmp_path / "e")).digest == before.digest
    # WHEN a file is renamed (same bytes) THEN it changes
    (tmp_path / "d" / "a.csv").rename(tmp_path / "d" / "c.csv")
    assert fingerprint(str(tmp_path / "d")).digest != before.digest
    # WHEN a file is added THEN it changes
    write(tmp_path / "e" / "z.csv", b"3")
    assert fingerprint(str(tmp_path / "e")).objects == 3


def test_a_glob_covers_the_matching_files_only(tmp_path):
    write(tmp_path / "parts" / "p1.csv", b"1")
    write(tmp_path / "parts" / "p2.csv", b"2")
    write(tmp_path / "parts" / "notes.txt", b"ignored")
    pattern = str(tmp_path / "parts" / "*.csv")
    before = fingerprint(pattern)
    assert before.objects == 2
    # WHEN a non-matching file changes THEN nothing changes
    write(tmp_path / "parts" / "notes.txt", b"changed")
    assert fingerprint(pattern) == before
    # WHEN a matching file changes THEN the fingerprint changes
    write(tmp_path / "parts" / "p2.csv", b"22")
    assert fingerprint(pattern).digest != before.digest


def test_an_unchanged_file_is_not_read_again(tmp_path):
    # GIVEN a file hashed once through a persistent digest cache
    path = write(tmp_path / "data.csv", b"x" * 1000)
    cache_file = tmp_path / "state" / "data-digests.json"
    cache_file.parent.mkdir()
    first = DigestCache(cache_file)
    digest = first.digest(path, path.stat())
    first.save()
    assert first.hashed_bytes == 1000
    # WHEN its bytes change but size, mtime_ns and inode are put back (no real edit does this)
    rewrite_in_place(path, b"y" * 1000)
    # THEN a new process's cache returns the recorded digest: the file was not read
    again = DigestCache(cache_file)
    assert again.digest(path, path.stat()) == digest
    assert again.hashed_bytes == 0


@pytest.mark.parametrize("change", ["mtime", "inode", "size"])
def test_a_cache_entry_is_not_trusted_when_stat_differs(tmp_path, change):
    # GIVEN a file whose digest is cached
    path = write(tmp_path / "data.csv", b"a" * 100)
    cache = DigestCache()
    old = cache.digest(path, path.stat())
    # WHEN it gets new bytes and only one of size, mtime_ns, inode differs
    if change == "mtime":
        rewrite_in_place(path, b"b" * 100)
        os.utime(path, ns=(OLD_NS, OLD_NS + 1))
    elif change == "inode":
        st = path.stat()
        write(tmp_path / "new.csv", b"b" * 100, st.st_mtime_ns)
        os.replace(tmp_path / "new.csv", path)
        assert path.stat().st_ino != st.st_ino
    else:
        write(path, b"b" * 101)
    # THEN the file is read again and the digest is the new bytes'
    new = cache.digest(path, path.stat())
    assert new == hashlib.sha256(path.read_bytes()).hexdigest() != old
    assert cache.hashed_bytes == 100 + path.stat().st_size


def test_a_file_modified_right_before_hashing_is_read_again(tmp_path):
    # GIVEN a file written "now": a same-size rewrite in the same mtime tick would be invisible
    path = tmp_path / "fresh.csv"
    path.write_bytes(b"q" * 50)
    cache = DigestCache()
    cache.digest(path, path.stat())
    # WHEN asked again with nothing changed THEN it is read again (racy entry, not trusted)
    cache.digest(path, path.stat())
    assert cache.hashed_bytes == 100


def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path):
    path = write(tmp_path / "data.csv", b"abc")
    cache_file = tmp_path / "data-digests.json"
    cache_file.write_text("{not json")
    cache = DigestCache(cache_file)
    assert cache.digest(path, path.stat()) == hashlib.sha256(b"abc").hexdigest()
    cache.save()
    assert str(path) in json.loads(cache_file.read_text())["entries"]


def test_a_cache_whose_folder_does_not_exist_creates_nothing(tmp_path):
    path = write(tmp_path / "data.csv", b"abc")
    cache = DigestCache(tmp_path / ".mlplatform" / "data-digests.json")
    cache.digest(path, path.stat())
    cache.save()
    assert not (tmp_path / ".mlplatform").exists()


def test_a_missing_source_names_itself_and_an_optional_one_is_absent(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(DataSourceError, match=r"nope\.csv.*does not exist"):
        fingerprint(missing)
    with pytest.raises(DataSourceError, match="does not exist"):
        fingerprint(str(tmp_path / "*.parquet"))  # a glob that matches nothing
    assert fingerprint(missing, missing_ok=True).method == "absent"


def test_library_data_is_identified_by_its_value():
    fp = fingerprint("sklearn://breast_cancer")
    assert (fp.method, fp.digest) == ("value", "sklearn://breast_cancer")
    assert fingerprint("synthetic://classification").method == "value"


def test_a_store_without_content_identity_is_read_and_says_so():
    # GIVEN fsspec's memory filesystem, whose info() has no ETag, version or checksum
    fs = fsspec.filesystem("memory")
    fs.pipe("/fp-test/data.csv", b"1,2\n")
    fp = fingerprint("memory://fp-test/data.csv")
    # THEN the bytes were hashed, and the fingerprint says it was a download
    assert fp.method == FALLBACK
    assert fp.downloaded
    assert fp.digest == hashlib.sha256(b"1,2\n").hexdigest()
    # AND new bytes change it; a prefix is one listing of the same
    fs.pipe("/fp-test/data.csv", b"1,3\n")
    assert fingerprint("memory://fp-test/data.csv").digest != fp.digest
    assert fingerprint("memory://fp-test").objects == 1
    with pytest.raises(DataSourceError, match="does not exist"):
        fingerprint("memory://fp-test/other.csv")


@step(data=("source",))
def load(source: str, rows: int = 1) -> int:
    return rows


def test_fingerprint_params_names_the_parameter_and_its_flag(tmp_path):
    missing = str(tmp_path / "gone.csv")
    with pytest.raises(DataSourceError) as info:
        fingerprint_params(load, {"source": missing}, flags={"source": "-p train_data"})
    assert "parameter 'source'" in info.value.headline
    assert "gone.csv" in info.value.headline
    assert "-p train_data=<path>" in info.value.hint
    # AND an empty value names no data
    assert fingerprint_params(load, {"source": ""}) == {}


def test_data_must_name_parameters_of_the_step():
    with pytest.raises(PipelineDefinitionError, match="'path' it does not have"):
        Step(load.fn, data=("path",))
    with pytest.raises(PipelineDefinitionError, match="'maybe'"):
        Step(load.fn, data={"source": "maybe"})
    assert Step(load.fn, data={"source": "optional"}).data == {"source": "optional"}
