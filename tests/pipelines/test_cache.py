"""Cache keys: which changes make a new key, which do not; the index in the store."""

from __future__ import annotations

import pytest

from mlplatform import Resources, Retries, step
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.cache import (
    CacheEntry,
    CacheIndex,
    CacheKey,
    compute_key,
    environment_fingerprint,
)
from mlplatform.pipelines.dsl import Step

ENV = {"lock": "lock:abc", "python": "CPython-3.11.7", "mlplatform": "0.1.0"}
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


@step(env=("MLP_TEST_TZ",), data={"path": "optional"})
def read_config(path: str, n: int, table: dict) -> dict:
    return {"path": path, "n": n, "table": table}


def key(
    st: Step = read_config,
    params: dict | None = None,
    inputs: dict | None = None,
    environ: dict | None = None,
    env: dict | None = None,
) -> CacheKey:
    return compute_key(
        st,
        params if params is not None else {"path": "", "n": 1, "table": {"a": 1}},
        inputs or {},
        env or ENV,
        environ=environ if environ is not None else {},
    )


def changed(a: CacheKey, b: CacheKey) -> set[str]:
    """The components that differ; the overall key must differ exactly when some do."""
    diff = {name for name in a.components if a.components[name] != b.components[name]}
    assert (a.key != b.key) == bool(diff)
    return diff


def test_equal_inputs_give_equal_keys():
    assert key() == key()
    assert key(params={"table": {"a": 1}, "n": 1, "path": ""}).key == key().key


def test_a_param_change_changes_the_params_component():
    assert changed(key(), key(params={"path": "", "n": 2, "table": {"a": 1}})) == {"params"}
    assert changed(key(), key(params={"path": "", "n": 1, "table": {"a": 2}})) == {"params"}


def test_an_input_digest_change_changes_the_inputs_component():
    ref = ArtifactRef(uri="file:///s/objects/a", digest=DIGEST_A, type="numpy", size=8)
    other = ArtifactRef(uri="file:///s/objects/a", digest=DIGEST_B, type="numpy", size=8)
    assert changed(key(inputs={"x": ref}), key(inputs={"x": other})) == {"inputs"}


def test_where_an_input_is_stored_does_not_change_the_key():
    # GIVEN the same bytes (same digest) in two stores
    here = ArtifactRef(uri="file:///here/objects/a", digest=DIGEST_A, type="numpy", size=8)
    there = ArtifactRef(uri="s3://there/objects/a", digest=DIGEST_A, type="numpy", size=8)

    # THEN the key is the same: it is content-addressed
    assert changed(key(inputs={"x": here}), key(inputs={"x": there})) == set()


def test_a_declared_env_var_changes_the_env_component():
    utc, cet = key(environ={"MLP_TEST_TZ": "UTC"}), key(environ={"MLP_TEST_TZ": "CET"})
    assert changed(utc, cet) == {"env"}
    assert changed(key(environ={}), utc) == {"env"}


def test_an_undeclared_env_var_does_not_change_the_key():
    assert changed(key(environ={"HOME": "/a"}), key(environ={"HOME": "/b"})) == set()


def test_the_environment_fingerprint_changes_the_env_component():
    assert changed(key(), key(env={**ENV, "lock": "lock:def"})) == {"env"}


def test_lock_file_content_is_the_fingerprint(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text("numpy==2.0\n")
    first = environment_fingerprint(lock)
    lock.write_text("numpy==2.1\n")
    assert environment_fingerprint(lock)["lock"] != first["lock"]
    assert environment_fingerprint(None)["lock"].startswith("installed:")


def test_a_data_file_content_change_changes_the_data_component(tmp_path):
    # GIVEN a step whose `path` parameter names data, fingerprinted by content
    config = tmp_path / "config.yaml"
    config.write_text("alpha: 1\n")
    params = {"path": str(config), "n": 1, "table": {}}
    before = key(params=params)

    # WHEN the file changes but the path does not
    config.write_text("alpha: 2\n")

    # THEN the key changes
    assert changed(before, key(params=params)) == {"data"}
    assert before.details["data"]["path"] != key(params=params).details["data"]["path"]


def test_an_optional_data_file_that_does_not_exist_is_marked_absent(tmp_path):
    params = {"path": str(tmp_path / "missing.yaml"), "n": 1, "table": {}}
    assert key(params=params).details["data"]["path"]["method"] == "absent"


def test_resources_retries_and_timeout_do_not_change_the_key():
    # GIVEN the same function as two steps that differ only in how they run
    plain = Step(read_config.fn, env=("MLP_TEST_TZ",), data={"path": "optional"})
    tuned = Step(
        read_config.fn,
        env=("MLP_TEST_TZ",),
        data={"path": "optional"},
        resources=Resources(cpu=8, memory="64Gi", gpu=2),
        retries=Retries(count=5, backoff=3),
        timeout=10,
    )

    # THEN their keys are equal
    assert changed(key(plain), key(tuned)) == set()


def test_the_index_round_trips_entries_and_treats_garbage_as_a_miss(tmp_path):
    # GIVEN an index in a store
    index = CacheIndex(ArtifactStore(tmp_path / "store"))
    ref = ArtifactRef(uri="file:///s/objects/a", digest=DIGEST_A, type="json", size=2)
    entry = CacheEntry(
        key="ab" + "0" * 62,
        pipeline="p",
        node="n",
        outputs={"output": ref},
        pipeline_run_id="run-1",
        metrics={"acc": 0.5},
    )

    # WHEN an entry is put THEN it reads back equal
    assert index.get(entry.key) is None
    index.put(entry)
    assert index.get(entry.key) == entry

    # WHEN the entry's file holds garbage THEN it is a miss, not an error
    index.store.write_bytes(f"cache/ab/{entry.key}.json", b"{not json")
    assert index.get(entry.key) is None


@pytest.mark.parametrize("garbage", [b"[]", b'{"key": "k"}', b"\xff\xfe"])
def test_malformed_entries_are_misses(tmp_path, garbage):
    index = CacheIndex(ArtifactStore(tmp_path / "store"))
    index.store.write_bytes("cache/ab/ab00.json", garbage)
    assert index.get("ab00") is None
