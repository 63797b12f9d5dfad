"""Parity: the compiled workflow, executed step by step as Argo would, equals a local run.

No cluster runs here, so this test plays Argo's part: it walks the compiled DAG in dependency
order, substitutes the parameters Argo would (`{{tasks.X.outputs.parameters.Y}}`,
`{{inputs.parameters.P}}`, `{{workflow.name}}`), runs each container's command as a local
process, reads the output parameters from the paths Argo would read, and evaluates each
template's `memoize.key` expression. The cache keys and output digests must equal those of a
local run of the same pipeline, and a store shared by both is a cache hit in both directions.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.argo import CompileOptions, compile_pipeline
from mlplatform.pipelines.argo.keys import evaluate
from mlplatform.pipelines.argo.templates import OUTPUTS_DIR, template_name
from mlplatform.pipelines.discovery import discover
from mlplatform.pipelines.local import LocalExecutor, RunOptions

from .._helpers import run_container

FLOW = textwrap.dedent(
    """
    from __future__ import annotations

    import numpy as np
    import pandas as pd

    from mlplatform import Retries, log_metrics, pipeline, step


    @step
    def make(rows: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(rows, 3))
        return pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x @ [1.0, -2.0, 0.5])


    @step(outputs=("train", "test"))
    def split(data: pd.DataFrame, fraction: float = 0.75) -> tuple[pd.DataFrame, pd.DataFrame]:
        cut = int(len(data) * fraction)
        return data.iloc[:cut], data.iloc[cut:]


    @step(retries=Retries(count=2, backoff=0.1))
    def fit(train: pd.DataFrame) -> np.ndarray:
        x, y = train[["a", "b", "c"]].to_numpy(), train["y"].to_numpy()
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        return coef


    @step
    def score(coef: np.ndarray, test: pd.DataFrame) -> dict:
        err = float(np.abs(test[["a", "b", "c"]].to_numpy() @ coef - test["y"].to_numpy()).max())
        log_metrics({"max_error": err})
        return {"max_error": round(err, 12), "rows": len(test)}


    @pipeline(name="parity")
    def parity(rows: int = 200, seed: int = 1) -> None:
        train, test = split(make(rows, seed))
        score(fit(train), test)
    """
)

TASK_REF = re.compile(r"\{\{tasks\.([a-z0-9-]+)\.outputs\.parameters\.([a-z0-9_-]+)\}\}")
INPUT_REF = re.compile(r"\{\{inputs\.parameters\.([a-z0-9_-]+)\}\}")


def _order(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    while len(order) < len(tasks):
        for task in tasks:
            if task["name"] not in done and set(task.get("dependencies", [])) <= done:
                order.append(task)
                done.add(task["name"])
    return order


def play_argo(doc: dict[str, Any], cwd: Path, workdir: Path) -> dict[str, dict[str, str]]:
    """Run a compiled Workflow's DAG locally, as Argo would; returns each task's outputs."""
    templates = {t["name"]: t for t in doc["spec"]["templates"]}
    outputs: dict[str, dict[str, str]] = {}
    for task in _order(templates["main"]["dag"]["tasks"]):
        tpl = templates[task["template"]]
        arguments = {
            p["name"]: TASK_REF.sub(lambda m: outputs[m[1]][m[2]], p["value"])
            for p in task.get("arguments", {}).get("parameters", [])
        }
        out_dir = workdir / task["name"]
        container = tpl["container"]
        given = dict(arguments)
        args = [
            INPUT_REF.sub(lambda m, given=given: given[m[1]], a)
            .replace("{{workflow.name}}", "parity-argo-run")
            .replace(OUTPUTS_DIR, str(out_dir))
            for a in container["args"]
        ]
        assert container["command"][0] == "python"
        # literal values as rendered; a Secret reference (the cache key) stands for the value
        # the test exported, which the kubelet would read from the Secret
        secrets = {e["name"] for e in container.get("env", []) if "valueFrom" in e}
        assert secrets <= set(os.environ), f"the pod would need {secrets}"
        env = {**os.environ, **{e["name"]: e["value"] for e in container["env"] if "value" in e}}
        proc = run_container(container, args, cwd, env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        outputs[task["name"]] = {
            p["name"]: Path(p["valueFrom"]["path"].replace(OUTPUTS_DIR, str(out_dir))).read_text()
            for p in tpl["outputs"]["parameters"]
        }
        outputs[task["name"]]["_stdout"] = proc.stdout
        if "memoize" in tpl:  # Argo's key for this task, from the arguments it got
            assert evaluate(tpl["memoize"]["key"], arguments) == outputs[task["name"]]["cache-key"]
    return outputs


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # the laptop and the cluster share the cache only when they share its signing key
    monkeypatch.setenv("MLPLATFORM_CACHE_KEY", "parity-" + "k" * 40)
    (tmp_path / "flow.py").write_text(FLOW)
    return tmp_path


def _compile(store: Path) -> dict[str, Any]:
    graph = discover(["flow.py"])["parity"].graph
    options = CompileOptions(cloud="aws", store_root=store.as_uri())
    return compile_pipeline(graph, {"rows": 240}, options)[0]


def test_compiled_workflow_matches_a_local_run(project):
    # GIVEN the same pipeline run locally and played as Argo would run it, on separate stores
    graph = discover(["flow.py"])["parity"].graph
    local = LocalExecutor(ArtifactStore(project / "local-store"), RunOptions(env={}))
    result = local.run(graph, {"rows": 240})
    argo = play_argo(_compile(project / "argo-store"), project, project / "argo-work")

    for node, outcome in result.steps.items():
        task = template_name(node).removeprefix("step-")
        # THEN every step has the same cache key in both places
        assert argo[task]["cache-key"] == outcome.cache_key, node
        # AND the same output digests and references (by digest)
        for out, ref in outcome.outputs.items():
            assert argo[task][f"{out}-digest"] == ref["digest"], (node, out)
            assert json.loads(argo[task][f"{out}-ref"])["digest"] == ref["digest"]


def test_a_store_shared_by_laptop_and_cluster_is_a_cache_hit_both_ways(project):
    shared = project / "shared-store"
    graph = discover(["flow.py"])["parity"].graph
    # GIVEN a local run on the shared store
    LocalExecutor(ArtifactStore(shared), RunOptions(env={})).run(graph, {"rows": 240})
    # WHEN the compiled workflow runs on the same store THEN every step is a cache hit
    argo = play_argo(_compile(shared), project, project / "argo-work")
    assert all("cached" in argo[t]["_stdout"] for t in argo), {
        t: o["_stdout"] for t, o in argo.items()
    }

    # AND the other way round: steps the cluster ran are hits locally
    other = project / "cluster-first"
    play_argo(_compile(other), project, project / "argo-work-2")
    again = LocalExecutor(ArtifactStore(other), RunOptions(env={})).run(graph, {"rows": 240})
    assert set(again.cached) == set(again.steps)
