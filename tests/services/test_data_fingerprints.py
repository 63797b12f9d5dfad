"""Remote data fingerprints on real stores (SeaweedFS S3, Azurite, fake-gcs-server): the store's
own content identity from metadata, never a download, and a changed object changes the key.

Bytes read are counted on the real filesystem class (a subclass that counts ``_open`` and
``cat``/``get`` calls before passing them on), registered for the protocol during the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fsspec
import pytest

from mlplatform import step
from mlplatform.pipelines.cache import compute_key
from mlplatform.pipelines.datasource import fingerprint, fingerprint_params
from mlplatform.services import object_store

from .conftest import shared_store, unique_prefix
from .test_object_stores import plain_gcsfs  # noqa: F401  (a fixture)

PROTOCOL = {"s3": "s3", "azure": "abfs", "gcs": "gs"}
METHODS = {"s3": {"etag"}, "azure": {"content-md5", "etag"}, "gcs": {"md5", "crc32c"}}
ENV = {"lock": "lock:abc", "python": "CPython-3.11.7", "mlplatform": "0.1.0"}


@step(data=("source",))
def read_source(source: str) -> int:
    return len(source)


@pytest.fixture
def counting(request, plain_gcsfs) -> Iterator[dict[str, int]]:  # noqa: F811
    """Count reads of object bytes through the protocol's real filesystem class."""
    protocol = PROTOCOL[request.node.callspec.params["kind"]]
    real = type(fsspec.filesystem(protocol, skip_instance_cache=True, **_dummy(protocol)))
    reads = {"open": 0, "cat": 0}

    class Counting(real):  # type: ignore[misc, valid-type]
        def _open(self, *args: Any, **kwargs: Any) -> Any:
            reads["open"] += 1
            return super()._open(*args, **kwargs)

        async def _cat_file(self, *args: Any, **kwargs: Any) -> Any:
            reads["cat"] += 1
            return await super()._cat_file(*args, **kwargs)

    fsspec.register_implementation(protocol, Counting, clobber=True)
    try:
        yield reads
    finally:
        fsspec.register_implementation(protocol, real, clobber=True)


def _dummy(protocol: str) -> dict[str, Any]:
    if protocol == "abfs":
        return {"account_name": "devstoreaccount1", "anon": True}
    if protocol == "gs":
        return {"token": "anon"}
    return {"anon": True}


@pytest.mark.parametrize("kind", ["s3", "azure", "gcs"])
def test_a_changed_object_changes_the_key_without_a_download(kind, counting):
    # GIVEN the run's store of this kind, and a data object and a folder of two in its
    # bucket, under this test's own prefix
    team = shared_store(kind)
    store = object_store(team.cfg, team.creds, kind)
    options = dict(store.storage_options)
    fs = fsspec.filesystem(PROTOCOL[kind], skip_instance_cache=True, **options)
    bucket = store.pipeline_root.split("://", 1)[1].split("/", 1)[0]
    data_dir = f"{bucket}/{unique_prefix()}/data"
    url = f"{PROTOCOL[kind]}://{data_dir}/train.csv"
    fs.pipe(f"{data_dir}/train.csv", b"a,b\n1,2\n" * 1000)
    fs.pipe(f"{data_dir}/more.csv", b"a,b\n3,4\n")
    start = dict(counting)

    # WHEN the object and its folder are fingerprinted
    one = fingerprint(url, storage_options=options)
    folder = fingerprint(f"{PROTOCOL[kind]}://{data_dir}", storage_options=options)
    params = {"source": url}
    data = fingerprint_params(read_source, params, storage_options=options)
    before = compute_key(read_source, params, {}, ENV, environ={}, code_hash="c", data=data)

    # THEN the store's own identity was used, with the size, and no bytes were read
    assert one.method in METHODS[kind], one
    assert one.size == 8000
    assert folder.objects == 2
    assert dict(counting) == start

    # WHEN the object gets other bytes of the same size
    fs.pipe(f"{data_dir}/train.csv", b"a,b\n1,3\n" * 1000)
    data = fingerprint_params(read_source, params, storage_options=options)
    after = compute_key(read_source, params, {}, ENV, environ={}, code_hash="c", data=data)

    # THEN the data component, and so the key, changed; still nothing was downloaded
    assert after.components["data"] != before.components["data"]
    assert after.key != before.key
    assert after.components["params"] == before.components["params"]
    assert dict(counting) == start
