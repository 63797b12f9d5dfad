"""Faults the executor must survive: a SIGKILL mid-write, corrupted objects, concurrent runs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mlplatform.artifacts.digest import digest_file
from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.atomicfile import is_temporary
from mlplatform.errors import StepFailedError
from mlplatform.pipelines.cache import CacheEntry, CacheIndex
from mlplatform.pipelines.local import (
    LocalExecutor,
    PipelineRunResult,
    ProgressEvent,
    RunOptions,
)

from . import flows


def local_root(store: ArtifactStore) -> Path:
    return Path(store.root.removeprefix("file://"))


def statuses(result: PipelineRunResult) -> dict[str, str]:
    return {n: o.status for n, o in result.steps.items()}


def digests(result: PipelineRunResult) -> dict[str, dict[str, str]]:
    return {
        node: {name: ref["digest"] for name, ref in outcome.outputs.items()}
        for node, outcome in result.steps.items()
    }


def assert_store_consistent(store: ArtifactStore) -> list[CacheEntry]:
    """Every visible object matches its digest name; every cache entry parses and verifies."""
    objects = [p for p in (local_root(store) / "objects").rglob("*") if p.is_file()]
    visible = [p for p in objects if not is_temporary(p)]
    assert sorted(store.list("objects")) == sorted(
        str(p.relative_to(local_root(store))) for p in visible
    )
    for path in visible:
        assert digest_file(path)[0] == f"sha256:{path.name}", f"{path} does not match its name"
    entries = []
    for key in store.list("cache"):
        entry = CacheEntry.from_json(store.read_bytes(key))
        assert key == f"cache/{entry.key[:2]}/{entry.key}.json"
        for ref in entry.outputs.values():
            store.verify(ref)
        entries.append(entry)
    return entries


# ---- 1. SIGKILL while an output is being written ------------------------------------------

WHERE_LEFT = {"object-copy": "objects", "object-rename": "objects", "cache-entry-rename": "cache"}


@pytest.mark.parametrize("point", list(flows.CRASH_POINTS))
def test_a_step_killed_while_storing_its_output_leaves_no_partial_artifact(tmp_path, point):
    # GIVEN a pipeline whose `expand` step SIGKILLs its own process at `point` of storing
    # its output, beside an independent branch
    store = ArtifactStore(tmp_path / "store")
    marker = tmp_path / "crash"
    marker.write_text(point)
    params = {"n": "5", "crash_marker": str(marker)}

    # WHEN it runs, in subprocess mode
    with pytest.raises(StepFailedError) as info:
        LocalExecutor(store, RunOptions(in_process=False)).run(flows.crashy.graph, params)

    # THEN the step failed as killed; its dependent was skipped, the other branch finished
    assert info.value.headline == (
        "step 'expand' failed: ProcessError: step process killed by signal SIGKILL"
    )
    crashed = info.value.result
    assert statuses(crashed) == {
        "source": "ran",
        "expand": "failed",
        "square": "ran",
        "mean": "skipped",
        "total": "ran",
    }
    # AND the process really died inside the store's write: its temporary file is left over
    leftovers = list(local_root(store).rglob(".*.tmp"))
    assert [p.relative_to(local_root(store)).parts[0] for p in leftovers] == [WHERE_LEFT[point]]
    # AND nothing partial is visible: objects match their names, entries verify, and the
    # killed step has no cache entry
    entries = assert_store_consistent(store)
    assert sorted(e.node for e in entries) == ["source", "square", "total"]
    assert CacheIndex(store).get(crashed.steps["expand"].cache_key) is None

    # WHEN the cause is gone and the pipeline is run again
    marker.unlink()
    resumed = LocalExecutor(store, RunOptions(in_process=False)).run(flows.crashy.graph, params)

    # THEN only the killed step and its dependent ran
    assert statuses(resumed) == {
        "source": "cached",
        "expand": "ran",
        "square": "cached",
        "mean": "ran",
        "total": "cached",
    }
    assert_store_consistent(store)
    # AND the outputs are exactly those of an uninterrupted run in a fresh store
    fresh = LocalExecutor(ArtifactStore(tmp_path / "fresh"), RunOptions(in_process=True)).run(
        flows.crashy.graph, params
    )
    assert digests(resumed) == digests(fresh)
    if point.startswith("object-"):  # the leftover is the expand output, cut or whole
        full = fresh.steps["expand"].outputs["output"]["size"]
        cut = leftovers[0].stat().st_size
        assert cut < full if point == "object-copy" else cut == full


# ---- 2. a corrupted object in the cache ----------------------------------------------------


def flip_first_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "flipped": flip_first_byte,
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:10]),
    "deleted": Path.unlink,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cached_object_is_detected_reported_and_recomputed(tmp_path, damage):
    # GIVEN a cached pipeline, and then the object of one step's output damaged on disk
    store = ArtifactStore(tmp_path / "store")
    run = LocalExecutor(store, RunOptions(in_process=True)).run
    first = run(flows.squares.graph, {"n": 5})
    square = first.output("square")
    DAMAGE[damage](local_root(store) / store.object_key(square.digest))

    # WHEN the pipeline runs again
    events: list[ProgressEvent] = []
    second = LocalExecutor(store, RunOptions(in_process=True, progress=events.append)).run(
        flows.squares.graph, {"n": 5}
    )

    # THEN the damage is reported, as a progress event and in the result's problems
    assert [e.node for e in events if e.status == "corrupt"] == ["square"]
    assert len(second.problems) == 1
    assert second.problems[0].startswith("square: cached output 'output' rejected: artifact")
    assert second.problems[0].endswith("; recomputing")
    # AND the step was recomputed to the same artifact, which the store now holds intact
    assert statuses(second) == {"source": "cached", "square": "ran", "total": "cached"}
    assert second.output("square") == square
    store.verify(square)
    assert_store_consistent(store)
    # AND the next run is clean and all cached
    third = run(flows.squares.graph, {"n": 5})
    assert (third.cached, third.problems) == (["source", "square", "total"], [])


def test_a_step_whose_input_was_damaged_reads_it_recomputed(tmp_path):
    # GIVEN a cached pipeline whose middle output is damaged on disk
    store = ArtifactStore(tmp_path / "store")
    first = LocalExecutor(store, RunOptions(in_process=True)).run(flows.squares.graph, {"n": 5})
    flip_first_byte(local_root(store) / store.object_key(first.output("square").digest))

    # WHEN the consumer of that output must run too
    again = LocalExecutor(store, RunOptions(in_process=True, force=("total",))).run(
        flows.squares.graph, {"n": 5}
    )

    # THEN it read the repaired bytes and produced the same result
    assert statuses(again) == {"source": "cached", "square": "ran", "total": "ran"}
    assert again.output("total") == first.output("total")


# ---- 3. two runs at once on one store ------------------------------------------------------


def test_two_concurrent_runs_on_one_store_both_succeed_and_leave_it_consistent(tmp_path):
    # GIVEN one store and two executors started at the same moment, in subprocess mode
    store = ArtifactStore(tmp_path / "store")
    start = threading.Barrier(2)
    results: dict[int, PipelineRunResult | BaseException] = {}

    def run(i: int) -> None:
        executor = LocalExecutor(store, RunOptions(in_process=False, workers=2))
        start.wait()
        try:
            results[i] = executor.run(flows.branches.graph, {"n": 7})
        except BaseException as exc:  # reported below, with the thread's result
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    # THEN both succeeded, with the same outputs
    a, b = results[0], results[1]
    assert isinstance(a, PipelineRunResult), a
    assert isinstance(b, PipelineRunResult), b
    assert a.status == b.status == "succeeded"
    assert digests(a) == digests(b)
    assert "ran" in statuses(a).values()
    assert "ran" in statuses(b).values()
    # AND every cache entry parses and every object it names verifies; nothing is left over
    entries = assert_store_consistent(store)
    assert {e.node for e in entries} == set(flows.branches.graph.nodes)
    assert list(local_root(store).rglob(".*.tmp")) == []

    # WHEN a third run starts THEN everything is cached
    third = LocalExecutor(store, RunOptions(in_process=False)).run(flows.branches.graph, {"n": 7})
    assert third.cached == list(flows.branches.graph.order)
    assert digests(third) == digests(a)


def test_artifact_refs_in_results_point_into_the_store(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    result = LocalExecutor(store, RunOptions(in_process=True)).run(flows.squares.graph)
    ref: ArtifactRef = result.output("total")
    assert ref.uri == store.url(store.object_key(ref.digest))
    assert (ref.type, ref.size) == ("json", 2)
