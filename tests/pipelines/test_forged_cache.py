"""Nothing unsafe is loaded from a shared store: a forged cache entry is a miss, never a load.

Anyone who can write to a bucket shared by laptops and Argo pods can plant an entry that
points at a pickle of their choosing. These tests plant one (an object whose unpickling
creates a marker file) on a local store and on a real S3 store (SeaweedFS), and prove that
nothing from it runs and the step is recomputed. A control shows that the same plant, signed
with the right key, would run: so the tests can fail.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mlplatform.artifacts.signing import CACHE_KEY_ENV, Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import StepFailedError
from mlplatform.pipelines.cache import CacheEntry, CacheIndex
from mlplatform.pipelines.discovery import discover
from mlplatform.pipelines.graph import PipelineGraph
from mlplatform.pipelines.local import LocalExecutor, PipelineRunResult, RunOptions

KEY = "team-key-" + "a" * 40
OTHER = "other-key-" + "b" * 40

FLOW = '''
from mlplatform import pipeline, step


class Bag:
    """A type with no safe format: stored with pickle."""

    def __init__(self, items):
        self.items = items


@step
def produce(n: int) -> Bag:
    return Bag(list(range(n)))


@step
def consume(bag: Bag) -> int:
    return sum(bag.items)


@pipeline(name="forgeable")
def forgeable(n: int = 4) -> None:
    consume(produce(n))
'''


class Trap:
    """Unpickling it creates ``path`` (``open(path, "w")``): proof that it ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (self.path, "w")


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> PipelineGraph:
    """The pipeline, from a file of its own (the step processes import its ``Bag``)."""
    path = tmp_path_factory.mktemp("flow") / "forgeable_flow.py"
    path.write_text(FLOW)
    return discover([str(path)])["forgeable"].graph


def run(graph: PipelineGraph, store: ArtifactStore, in_process: bool) -> PipelineRunResult:
    options = RunOptions(in_process=in_process, env={CACHE_KEY_ENV: KEY})
    return LocalExecutor(store, options).run(graph, {"n": 4})


def plant(store: ArtifactStore, entry_key: str, marker: Path, tmp: Path) -> CacheEntry:
    """A trapped pickle in the store, and an entry for ``entry_key`` whose output is it."""
    local = tmp / "trap.pkl"
    local.write_bytes(pickle.dumps(Trap(str(marker))))
    ref = store.put_object(local, "pickle")
    return CacheEntry(entry_key, "forgeable", "produce", {"output": ref}, "attacker")


def statuses(result: PipelineRunResult) -> dict[str, str]:
    return {name: outcome.status for name, outcome in result.steps.items()}


def write_unsigned(store: ArtifactStore, entry: CacheEntry) -> None:
    store.write_bytes(f"cache/{entry.key[:2]}/{entry.key}.json", entry.to_json())


def write_signed_with_other_key(store: ArtifactStore, entry: CacheEntry) -> None:
    CacheIndex(store, Signer(OTHER)).put(entry)


FORGERIES = {"unsigned": write_unsigned, "signed-with-another-key": write_signed_with_other_key}


def forged_entry_is_a_miss(
    graph: PipelineGraph, store: ArtifactStore, tmp: Path, forge: str, in_process: bool
) -> None:
    # GIVEN a pipeline run whose entries are signed with the team's key
    first = run(graph, store, in_process)
    produced = first.steps["produce"].cache_key
    # AND an attacker who replaced the producer's entry with one naming a trapped pickle
    marker = tmp / f"pwned-{forge}"
    FORGERIES[forge](store, plant(store, produced, marker, tmp))
    # WHEN the pipeline runs again
    again = run(graph, store, in_process)
    # THEN nothing from the forged entry ran: the trap never fired
    assert not marker.exists()
    # AND the producer was recomputed, the consumer (same bytes in) is still a hit
    assert statuses(again) == {"produce": "ran", "consume": "cached"}
    assert again.steps["consume"].outputs == first.steps["consume"].outputs
    # AND the run says why the entry was ignored
    assert any(p.startswith("produce: cache entry ignored") for p in again.problems)
    # AND the re-run replaced it with a genuine entry: the next run is all hits
    assert set(statuses(run(graph, store, in_process)).values()) == {"cached"}


@pytest.mark.parametrize("forge", sorted(FORGERIES))
def test_a_forged_entry_on_a_local_store_runs_nothing(graph, tmp_path, forge):
    store = ArtifactStore(tmp_path / "store")
    forged_entry_is_a_miss(graph, store, tmp_path, forge, in_process=False)


def test_control_the_same_plant_signed_with_the_key_would_run(graph, tmp_path):
    # GIVEN the plant of the tests above, but signed with the key the consumers use
    store = ArtifactStore(tmp_path / "store")
    produced = run(graph, store, in_process=True).steps["produce"].cache_key
    marker = tmp_path / "pwned"
    CacheIndex(store, Signer(KEY)).put(plant(store, produced, marker, tmp_path))
    # WHEN the pipeline runs again THEN the consumer unpickles the trap: the key is the boundary
    with pytest.raises(StepFailedError, match="step 'consume' failed"):  # a file, not a Bag
        run(graph, store, in_process=True)
    assert marker.exists()


def test_an_entry_signed_for_another_key_is_not_replayed(tmp_path):
    # GIVEN a genuine signed entry for one key, copied to the place of another key
    store = ArtifactStore(tmp_path / "store")
    index = CacheIndex(store, Signer(KEY))
    entry = CacheEntry("ab" + "1" * 62, "p", "n", {}, "run")
    index.put(entry)
    other = "ab" + "2" * 62
    store.write_bytes(f"cache/ab/{other}.json", store.read_bytes(f"cache/ab/{entry.key}.json"))
    # WHEN each is looked up THEN the genuine one is a hit and the copy a miss that says so
    assert index.lookup(entry.key)[0] == entry
    found, problem = index.lookup(other)
    assert found is None
    assert problem is not None
    assert "signed for another key" in problem


def test_a_tampered_signed_entry_is_a_miss(tmp_path):
    # GIVEN a signed entry whose content was changed afterwards (a metric, say)
    store = ArtifactStore(tmp_path / "store")
    index = CacheIndex(store, Signer(KEY))
    entry = CacheEntry("cd" + "1" * 62, "p", "n", {}, "run", metrics={"accuracy": 0.5})
    index.put(entry)
    path = f"cache/cd/{entry.key}.json"
    store.write_bytes(path, store.read_bytes(path).replace(b"0.5", b"0.99"))
    # THEN it is ignored, with the key id in the warning (never the key)
    found, problem = index.lookup(entry.key)
    assert found is None
    assert problem is not None
    assert Signer(KEY).key_id in problem
    assert KEY not in problem


def test_the_key_never_appears_in_the_store(graph, tmp_path):
    store = ArtifactStore(tmp_path / "store")
    run(graph, store, in_process=True)
    assert store.list("cache")
    for path in store.list(""):
        assert KEY.encode() not in store.read_bytes(path)


# ---- the same on a real S3 store (SeaweedFS) ---------------------------------------------


@pytest.fixture(scope="module")
def s3_store() -> ArtifactStore:
    from mlplatform.services import object_store
    from services.conftest import shared_store, unique_prefix

    team = shared_store("s3")  # the run's SeaweedFS; this module's entries under its own prefix
    store = object_store(team.cfg, team.creds, "s3")
    return ArtifactStore(f"{store.pipeline_root}/{unique_prefix()}", store.storage_options)


@pytest.mark.parametrize("forge", sorted(FORGERIES))
def test_a_forged_entry_on_an_s3_store_runs_nothing(graph, s3_store, tmp_path, forge):
    forged_entry_is_a_miss(graph, s3_store, tmp_path, forge, in_process=forge == "unsigned")
