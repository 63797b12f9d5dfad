"""The launcher: runs one step from a spec, verifying inputs and recording the cache entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines import launcher
from mlplatform.pipelines.cache import CacheIndex
from mlplatform.pipelines.spec import StepResult, StepSpec

from . import flows


def spec_for(store: ArtifactStore, node: str, inputs: dict, params: dict, key: str) -> StepSpec:
    step = getattr(flows, node)
    return StepSpec(
        pipeline="p",
        run_id="run-1",
        node=node,
        module=step.module,
        qualname=step.qualname,
        module_file=flows.__file__,
        store_root=store.root,
        inputs=inputs,
        params=params,
        outputs={k: str(v) for k, v in step.output_types.items()},
        cache_key=key,
    )


def stored_array(store: ArtifactStore, tmp_path: Path, arr: np.ndarray):
    local = tmp_path / "arr.npy"
    np.save(local, arr, allow_pickle=False)
    return store.put_object(local, "numpy")


def test_execute_runs_the_step_and_records_the_cache_entry(tmp_path):
    # GIVEN an input in the store and a spec for a step consuming it
    store = ArtifactStore(tmp_path / "store")
    arr = stored_array(store, tmp_path, np.array([1, 2, 3]))
    spec = spec_for(store, "total", {"arr": arr}, {}, "k" * 64)

    # WHEN it is executed
    result = launcher.execute(spec)

    # THEN it succeeded and the index holds its output under the key
    assert result.status == "ok"
    entry = CacheIndex(store).get("k" * 64)
    assert entry is not None
    assert entry.outputs == result.outputs
    assert json.loads(store.read_bytes(store.object_key(result.outputs["output"].digest))) == 6


def test_a_corrupted_input_fails_the_step_before_it_runs(tmp_path):
    # GIVEN a step input whose stored bytes were changed after it was written
    store = ArtifactStore(tmp_path / "store")
    arr = stored_array(store, tmp_path, np.array([1, 2, 3]))
    path = Path(store.root.removeprefix("file://")) / store.object_key(arr.digest)
    path.write_bytes(path.read_bytes()[:-1] + b"\x07")
    spec = spec_for(store, "total", {"arr": arr}, {}, "k" * 64)

    # WHEN the step is executed
    result = launcher.execute(spec)

    # THEN it fails with the digest mismatch, and nothing is cached
    assert result.status == "error"
    assert result.error_type == "DigestMismatchError"
    assert f"expected {arr.digest}" in result.error_message
    assert CacheIndex(store).get("k" * 64) is None


def test_main_writes_the_result_document_and_exit_status(tmp_path, monkeypatch):
    # GIVEN a spec file for a step that will raise
    store = ArtifactStore(tmp_path / "store")
    spec = spec_for(store, "fragile", {}, {"xs": [1, 2], "fail": True}, "f" * 64)
    spec_path, result_path = tmp_path / "spec.json", tmp_path / "result.json"
    spec_path.write_text(spec.to_json())
    monkeypatch.chdir(tmp_path)

    # WHEN the launcher entry point runs it
    status = launcher.main(["--spec", str(spec_path), "--result", str(result_path)])

    # THEN it exits 1 and the result document carries the step's error
    assert status == 1
    result = StepResult.from_json(result_path.read_text())
    assert (result.error_type, result.error_message) == ("ValueError", "bad batch of 2 rows")
    assert "Traceback" in result.error_traceback
    assert list(tmp_path.glob(".*.tmp")) == []


def test_a_cache_entry_naming_a_corrupted_object_is_rejected_and_removed(tmp_path):
    # GIVEN a cached step whose output object was then corrupted
    store = ArtifactStore(tmp_path / "store")
    arr = stored_array(store, tmp_path, np.array([4, 5]))
    result = launcher.execute(spec_for(store, "total", {"arr": arr}, {}, "c" * 64))
    out = result.outputs["output"]
    (Path(store.root.removeprefix("file://")) / store.object_key(out.digest)).write_bytes(b"0")

    # WHEN the cache is consulted
    entry, problem = launcher.cached_result(store, "c" * 64)

    # THEN it is a miss with the reason, and the entry is gone
    assert entry is None
    assert problem.startswith("cached output 'output' rejected: artifact")
    assert "is corrupted" in problem
    assert CacheIndex(store).get("c" * 64) is None
