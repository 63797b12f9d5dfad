"""External data in the cache key: the data component, plan and run, the real CLI scenario,
and parameters whose canonical form is not stable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlplatform import pipeline, step
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import DataSourceError, PipelineDefinitionError
from mlplatform.pipelines.cache import compute_key
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.pipelines.plan import plan

from ._helpers import environ_without, run_process

ENV = {"lock": "lock:abc", "python": "CPython-3.11.7", "mlplatform": "0.1.0"}
OLD_NS = 1_600_000_000 * 10**9


@step(data=("source",))
def count_rows(source: str, scale: int = 1) -> int:
    return scale * len(Path(source).read_text().splitlines())


@step
def touch_marker(marker: str) -> int:
    Path(marker).write_text("ran")
    return 1


@step
def add(a: int, b: int) -> int:
    return a + b


@pipeline(name="data-keys")
def data_keys(source: str = "data.csv", marker: str = "marker.txt") -> None:
    add(touch_marker(marker), count_rows(source))


def csv(path: Path, rows: int) -> Path:
    path.write_text("".join(f"{i}\n" for i in range(rows)))
    os.utime(path, ns=(OLD_NS + rows, OLD_NS + rows))
    return path


def key_of(params: dict) -> object:
    return compute_key(count_rows, params, {}, ENV, environ={}, code_hash="c")


def test_changed_bytes_change_only_the_data_component(tmp_path):
    data = csv(tmp_path / "data.csv", 3)
    before = key_of({"source": str(data), "scale": 1})
    csv(data, 4)
    after = key_of({"source": str(data), "scale": 1})
    assert {c for c in before.components if before.components[c] != after.components[c]} == {"data"}
    assert before.key != after.key
    assert after.details["data"]["source"]["method"] == "sha256"


def test_the_same_bytes_elsewhere_change_only_params(tmp_path):
    a, b = csv(tmp_path / "a.csv", 3), csv(tmp_path / "b.csv", 3)
    ka, kb = key_of({"source": str(a)}), key_of({"source": str(b)})
    assert ka.components["data"] == kb.components["data"]
    assert ka.components["params"] != kb.components["params"]


def executor(tmp_path: Path) -> LocalExecutor:
    options = RunOptions(in_process=True, data_digests=tmp_path / "data-digests.json")
    return LocalExecutor(ArtifactStore(tmp_path / "store"), options)


def test_a_missing_source_fails_the_run_before_any_step_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ex = executor(tmp_path)
    with pytest.raises(DataSourceError) as info:
        ex.run(data_keys.graph, {"source": "missing.csv"})
    assert "missing.csv" in info.value.headline
    assert "'source'" in info.value.headline
    assert "-p source=<path>" in info.value.hint
    # THEN no step ran: the first step's side effect is not there, nothing was stored
    assert not (tmp_path / "marker.txt").exists()
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.json"))


def test_a_missing_source_fails_the_plan(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataSourceError, match=r"missing\.csv"):
        plan(executor(tmp_path), data_keys.graph, {"source": "missing.csv"})


def test_plan_names_the_data_change_and_the_run_recomputes(tmp_path, monkeypatch):
    # GIVEN a run on data.csv
    monkeypatch.chdir(tmp_path)
    data = csv(tmp_path / "data.csv", 3)
    ex = executor(tmp_path)
    first = ex.run(data_keys.graph, {})
    assert first.steps["add"].outputs
    # AND its lineage: the step's outcome params carry the data fingerprint
    digest = first.steps["count-rows"].params["data.source"]
    assert digest.startswith("sha256:")
    assert "data.source" not in first.steps["touch-marker"].params
    # WHEN the file gets other rows
    csv(data, 5)
    entries = {e.node: e for e in plan(ex, data_keys.graph, {})}
    # THEN plan says the reader misses because of the data, the other steps hit
    assert entries["count-rows"].status == "miss"
    (why,) = entries["count-rows"].changed
    assert why.startswith("data source: data.csv sha256 ")
    assert "→" in why
    assert entries["count-rows"].data["source"]["method"] == "sha256"
    assert entries["touch-marker"].status == "hit"
    # AND the run recomputes it (and its dependant) with the new data
    second = ex.run(data_keys.graph, {})
    assert second.steps["count-rows"].status == "ran"
    assert second.steps["touch-marker"].status == "cached"
    assert second.steps["count-rows"].params["data.source"] != digest
    # AND a third run is all cached, still recording the data lineage
    third = ex.run(data_keys.graph, {})
    assert {o.status for o in third.steps.values()} == {"cached"}
    assert (
        third.steps["count-rows"].params["data.source"]
        == second.steps["count-rows"].params["data.source"]
    )


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ({3, 1, 2}, "set"),
        (Opaque(), "Opaque.*memory address"),
        ({"k": [1, Opaque()]}, "Opaque"),
        ({1: "a"}, "int"),
        (Path("x"), "PosixPath"),
    ],
)
def test_a_param_without_a_stable_canonical_form_is_refused(value, what):
    with pytest.raises(
        PipelineDefinitionError, match=f"parameter 'scale' of step 'count-rows'.*{what}"
    ):
        compute_key(count_rows, {"source": "", "scale": value}, {}, ENV, environ={}, code_hash="c")


def test_json_values_are_stable():
    params = {"source": "", "scale": {"a": [1, 2.5, None, True, ("t", 1)]}}
    k1 = compute_key(count_rows, params, {}, ENV, environ={}, code_hash="c")
    assert k1 == compute_key(count_rows, params, {}, ENV, environ={}, code_hash="c")


def mlp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = environ_without("MLPLATFORM_", "MLFLOW_")
    result = run_process([sys.executable, "-m", "mlplatform", *args], cwd, env, timeout=600)
    assert result.returncode == 0, f"mlp {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_issue_scenario_through_the_real_cli(tmp_path):
    # GIVEN a trained model from data.csv (the standard pipeline, through `mlp`)
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.head(400).to_csv(tmp_path / "data.csv", index=False)
    standard = ["standard-training", "-p", "source=data.csv", "-p", "model=logreg"]
    run = ["pipeline", "run", *standard]
    first = json.loads(mlp(tmp_path, *run, "--format", "json").stdout)
    assert {s["status"] for s in first["steps"].values()} == {"ran"}
    # WHEN data.csv is replaced by different rows
    frame.tail(400).to_csv(tmp_path / "data.csv", index=False)
    # THEN plan shows ingest as a miss naming the data change
    planned = mlp(tmp_path, "pipeline", "plan", *standard, "--format", "json")
    entries = {e["node"]: e for e in json.loads(planned.stdout)}
    assert entries["ingest"]["status"] == "miss"
    assert any(w.startswith("data source: data.csv sha256 ") for w in entries["ingest"]["changed"])
    assert entries["ingest"]["data"]["source"]["method"] == "sha256"
    # AND the table form prints the fingerprint
    table = mlp(tmp_path, "pipeline", "plan", *standard)
    assert "data ingest.source: data.csv sha256" in table.stdout
    # AND the run retrains on the new data
    second = json.loads(mlp(tmp_path, *run, "--format", "json").stdout)
    assert second["steps"]["ingest"]["status"] == "ran"
    assert second["steps"]["train"]["status"] == "ran"
    # AND MLflow recorded which bytes trained each model
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / '.mlplatform' / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    recorded = {r.data.params.get("data.source") for r in runs} - {None}
    assert len(recorded) == 2
    assert all(v.startswith("sha256:") for v in recorded)
    # AND the digest cache in the state folder remembers the file
    cache = json.loads((tmp_path / ".mlplatform" / "data-digests.json").read_text())
    assert str((tmp_path / "data.csv").resolve()) in cache["entries"]
