"""Argo's known memoization traps, and how the compiled templates stay clear of each.

Every test names the trap in its docstring. The object-store cache index stays the source of
truth (the launcher checks it in every pod); Argo's ConfigMap cache only saves starting pods.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.cli.app import app
from mlplatform.pipelines import launcher
from mlplatform.pipelines.argo import plan_steps
from mlplatform.pipelines.argo.clouds import CLOUDS
from mlplatform.pipelines.argo.keys import evaluate
from mlplatform.pipelines.cache import inputs_hash, key_of
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding
from mlplatform.pipelines.local import LocalExecutor, RunOptions
from mlplatform.pipelines.plan import plan
from mlplatform.pipelines.spec import StepResult

from . import gpu_flow
from ._compile import CLUSTER_ENV, LOCK, churn, compile_docs, container_templates, options, standard
from .conftest import POD_CACHE_KEY

PIPELINES = {
    "standard": standard,
    "churn": churn,
    "gpu-flow": lambda: gpu_flow.gpu_flow,
    "odd-name": lambda: gpu_flow.odd_name,
}
CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")
DNS_1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
CONFIGMAP_LIMIT = 1024 * 1024  # bytes of data one ConfigMap (one etcd object) may hold


def memoized(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in container_templates(docs) if "memoize" in t]


def baked_spec(t: dict[str, Any]) -> str:
    """The compile-time spec the template passes to the launcher (``--argo-spec``)."""
    args = t["container"]["args"]
    return str(args[args.index("--argo-spec") + 1])


def fake_digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


@pytest.fixture(autouse=True)
def no_declared_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps declare env vars that are part of their key (train: OMP_NUM_THREADS). A pod has
    only the compile env; unset them here so the local keys see the same environment."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


# ---- trap 1: memoize with retryStrategy ------------------------------------------------


@pytest.mark.parametrize("name", PIPELINES)
def test_templates_with_retries_are_not_memoized_and_all_others_are(name):
    """Trap: Argo does not record a cache entry for a template with a retryStrategy
    (argo-workflows#10426, #12490), so a memoized retrying step silently never hits.

    Design: such templates carry no ``memoize``; the launcher in the pod checks the object-store
    cache index (``check_cache``) for them, so they are still cached. Every other template is
    memoized (but those of steps with external state) on a v4 ConfigMap cache:
    ``configMap.name`` only (``configMap.key`` was removed
    in v4 and the strict schema rejects it) and a ``maxAge``.
    """
    pipe = PIPELINES[name]()
    templates = container_templates(compile_docs(pipe, "aws"))
    # steps that read external state (evaluate: the registry's champion) are keyed on what the
    # pod reads, like external data (ADR 0001): no memoize, the pod checks the store index
    reads_state = {f"step-{n}" for n, node in pipe.graph.nodes.items() if node.step.external}
    assert name not in ("standard", "churn") or "step-evaluate" in reads_state
    for t in templates:
        if "retryStrategy" in t or t["name"] in reads_state:
            assert "memoize" not in t, t["name"]
            assert launcher.argo_spec(baked_spec(t), [], "wf-1").check_cache is True
            continue
        memo = t["memoize"]
        assert memo["key"]
        assert memo["maxAge"] == "720h"
        assert set(memo["cache"]) == {"configMap"}
        assert set(memo["cache"]["configMap"]) == {"name"}, "configMap.key is gone in Argo v4"


def test_the_example_pipelines_have_both_kinds_of_template():
    """Guard for the test above: it must see retrying and memoized templates."""
    for pipe in (standard(), gpu_flow.gpu_flow):
        templates = container_templates(compile_docs(pipe, "aws"))
        assert [t for t in templates if "retryStrategy" in t]
        assert [t for t in templates if "memoize" in t]


# ---- trap 2: memoized templates need outputs ----------------------------------------------


@pytest.mark.parametrize("name", PIPELINES)
def test_every_memoized_template_declares_output_parameters(name):
    """Trap: on a cache hit Argo skips the pod and restores the node's outputs from the
    ConfigMap entry. A template without outputs stores nothing worth restoring, and a
    downstream task reading ``tasks.X.outputs.parameters.Y`` gets nothing.

    Design: every template outputs each artifact as a reference and a digest, and always a
    ``cache-key`` parameter, even for a step that returns nothing.
    """
    pipe = PIPELINES[name]()
    docs = compile_docs(pipe, "aws")
    for t in memoized(docs):
        names = [p["name"] for p in t["outputs"]["parameters"]]
        assert "cache-key" in names, t["name"]
    for node_name, node in pipe.graph.nodes.items():
        (t,) = [t for t in container_templates(docs) if t["name"] == f"step-{node_name}"]
        expected = {f"{out}-{kind}" for out in node.output_types for kind in ("ref", "digest")}
        assert {p["name"] for p in t["outputs"]["parameters"]} == expected | {"cache-key"}


def test_a_step_without_a_return_value_still_outputs_its_cache_key(tmp_path):
    """Trap (outputs required), the edge: ``notify`` returns None. Its memoized template
    outputs exactly ``cache-key``, and the launcher writes that file, so a hit restores it."""
    (t,) = [t for t in memoized(compile_docs(gpu_flow.gpu_flow)) if t["name"] == "step-notify"]
    assert [p["name"] for p in t["outputs"]["parameters"]] == ["cache-key"]
    launcher.write_argo_outputs(StepResult(status="ok"), "k" * 64, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache-key"]


# ---- trap 3: the ConfigMap size limit ----------------------------------------------------


@pytest.fixture(scope="module")
def real_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The output parameter files of a real pod run: the standard pipeline's ingest template,
    run by the launcher exactly as its container args say (store swapped for a temp folder)."""
    tmp = tmp_path_factory.mktemp("pod")
    (t,) = [t for t in container_templates(compile_docs(standard())) if t["name"] == "step-ingest"]
    spec = json.loads(baked_spec(t))
    spec["store_root"] = str(tmp / "store")
    args = [
        a.replace("{{workflow.name}}", "standard-training-x7k2p") for a in t["container"]["args"]
    ]
    args[args.index("--argo-spec") + 1] = json.dumps(spec)
    args[args.index("--outputs-dir") + 1] = str(tmp / "outputs")
    with pytest.MonkeyPatch.context() as env:  # the Secret's value, as the kubelet sets it
        env.setenv("MLPLATFORM_CACHE_KEY", POD_CACHE_KEY)
        assert launcher.main(args) == 0
    files = {p.name: p.read_text() for p in (tmp / "outputs").iterdir()}
    assert set(files) == {p["name"] for p in t["outputs"]["parameters"]}
    return files


def test_output_parameters_are_small_references(real_outputs):
    """Trap: memoized outputs live in a ConfigMap, capped at 1 MiB for all its entries. Passing
    data (a table, a model) through parameters would fill it in a few runs; Argo then only logs
    "Failed to save node outputs to cache" (argo-workflows#5847) and stops memoizing.

    Design: a parameter is a reference JSON, a digest or a key, never the data.
    """
    ref = ArtifactRef.from_dict(json.loads(real_outputs["output-ref"]))
    assert ref.size > 10_000  # the data itself is far bigger than its reference
    assert real_outputs["output-digest"] == ref.digest
    assert re.fullmatch(r"[0-9a-f]{64}", real_outputs["cache-key"])
    for name, value in real_outputs.items():
        assert len(value.encode()) < 1024, name


def cache_entry(key: str, template: dict[str, Any], values: dict[str, str]) -> str:
    """A ConfigMap cache entry as Argo writes it (``cache.Entry``: nodeID, outputs with each
    parameter's name, value and valueFrom, exitCode, creation and last-hit timestamps)."""
    params = [
        {"name": p["name"], "value": values[p["name"]], "valueFrom": p["valueFrom"]}
        for p in template["outputs"]["parameters"]
    ]
    entry = {
        "nodeID": "standard-training-x7k2p-1234567890",
        "outputs": {"parameters": params, "exitCode": "0"},
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "lastHitTimestamp": "2026-01-01T00:00:00Z",
    }
    return key + json.dumps(entry, separators=(",", ":"))


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_each_cache_configmap_holds_over_400_runs(cloud, real_outputs):
    """Trap (size limit), quantified: every run with new data adds one entry per memoized step,
    and Argo does not collect old entries unless the controller sets CACHE_GC_PERIOD. Entries
    hold only reference-sized values (a real ref, its URI on the cloud's store): 1-2 KB each.
    With one ConfigMap per step, over 400 runs with all-new keys fit in each. Runs that reuse
    keys add nothing; past the limit Argo stops memoizing new keys and the launcher's store
    index still caches every step.
    """
    real = ArtifactRef.from_dict(json.loads(real_outputs["output-ref"]))
    uri = f"{CLOUDS[cloud].default_store}/{ArtifactStore.object_key(real.digest)}"
    ref = json.dumps({**real.to_dict(), "uri": uri}, sort_keys=True)
    key, digest = real_outputs["cache-key"], real_outputs["output-digest"]
    for t in memoized(compile_docs(standard(), cloud)):
        values = {
            p["name"]: ref if p["name"].endswith("-ref") else digest
            for p in t["outputs"]["parameters"]
        }
        values["cache-key"] = key
        per_run = len(cache_entry(key, t, values).encode())
        runs = CONFIGMAP_LIMIT // per_run
        assert runs > 400, f"{t['name']}: {per_run} bytes per run, only {runs} runs fit"


def test_cache_configmaps_are_valid_names_one_per_step():
    """Trap: an invalid ConfigMap name makes Argo fail the memoized node at run time, and one
    ConfigMap shared by many steps or pipelines reaches the 1 MiB limit sooner.

    Design: ``mlp-cache-<pipeline>-<step>``, a DNS-1123 name, one per step.
    """
    seen: set[str] = set()
    for pipe in PIPELINES.values():
        docs = compile_docs(pipe(), "azure", schedule="0 3 * * *")
        names = [t["memoize"]["cache"]["configMap"]["name"] for t in memoized(docs)]
        assert len(set(names)) == len(names), names
        for cm in names:
            assert len(cm) <= 253, cm
            assert DNS_1123_SUBDOMAIN.fullmatch(cm), cm
        assert not seen & set(names)
        seen |= set(names)


# ---- trap 4: memoize.key is whatever string you write --------------------------------------


def local_executor(tmp_path: Path) -> LocalExecutor:
    """A local executor whose step environment is the compile env (what pods get)."""
    return LocalExecutor(
        ArtifactStore(tmp_path / "store"), RunOptions(env=CLUSTER_ENV, lock_file=LOCK)
    )


@pytest.mark.parametrize("name", ["standard", "churn"])
def test_root_step_keys_are_the_keys_mlp_pipeline_plan_shows(name, tmp_path):
    """Trap: Argo's ``memoize.key`` is any string; a key that omits the code, params or
    environment hits stale results, one that differs from the local key splits the cache.

    Design: steps without artifact inputs carry their full cache key as a literal, the very key
    `mlp pipeline plan` computes.
    """
    pipe = PIPELINES[name]()
    planned = {e.node: e.key for e in plan(local_executor(tmp_path), pipe.graph, {})}
    roots = [n for n, node in pipe.graph.nodes.items() if not node.upstream]
    assert roots
    for t in container_templates(compile_docs(pipe, "aws")):
        node = t["name"].removeprefix("step-")
        if node not in roots:
            continue
        key = launcher.argo_spec(baked_spec(t), [], "wf-1").cache_key
        assert key == planned[node]
        if "memoize" in t:
            assert re.fullmatch(r"[0-9a-f]{64}", t["memoize"]["key"])
            assert t["memoize"]["key"] == planned[node]


@pytest.mark.parametrize("name", ["standard", "churn", "gpu-flow"])
def test_downstream_keys_evaluate_to_the_launcher_and_local_keys(name, tmp_path):
    """Design (continued): a step with artifact inputs has a key expression over its inputs'
    digests. Given digests, Argo's value (``keys.evaluate``), the pod launcher's key
    (``argo_spec``), ``cache.key_of`` and the local executor's key are one string, and a valid
    ConfigMap key."""
    pipe = PIPELINES[name]()
    docs = compile_docs(pipe, "aws")
    plans = {p.node.name: p for p in plan_steps(pipe.graph, {}, options("aws"))}
    executor = local_executor(tmp_path)
    values = resolve_params(pipe.graph, {})
    checked = 0
    for t in memoized(docs):
        node = pipe.graph.nodes[t["name"].removeprefix("step-")]
        artifacts = {a: b for a, b in node.bindings.items() if isinstance(b, ArtifactBinding)}
        if not artifacts:
            continue
        refs = {
            a: ArtifactRef(f"s3://b/objects/{a}", fake_digest(node.name, a), "json", 10)
            for a in artifacts
        }
        digests = {a: r.digest for a, r in refs.items()}
        argo_key = evaluate(t["memoize"]["key"], {f"{a}-digest": d for a, d in digests.items()})
        inputs = [f"{a}={json.dumps(r.to_dict())}" for a, r in refs.items()]
        pod_key = launcher.argo_spec(baked_spec(t), inputs, "wf-1").cache_key
        expected = key_of({**plans[node.name].components, "inputs": inputs_hash(digests)})
        local = executor.node_key(node, node.param_values(values), refs).key
        assert argo_key == pod_key == expected == local, node.name
        assert CONFIGMAP_KEY.fullmatch(argo_key)
        assert len(argo_key) <= 253
        checked += 1
    assert checked


def test_a_different_input_digest_gives_a_different_key():
    """The key expression really reads the digest parameters (a constant would always hit)."""
    (t,) = [t for t in memoized(compile_docs(standard())) if t["name"] == "step-featurize"]
    one = evaluate(t["memoize"]["key"], {"data-digest": fake_digest("a")})
    two = evaluate(t["memoize"]["key"], {"data-digest": fake_digest("b")})
    assert one != two


def test_cli_plan_on_a_cluster_profile_shows_the_compiled_keys(tmp_path, monkeypatch):
    """`mlp pipeline plan` (the real CLI, aws profile: the cluster MLflow env) prints, for a
    root step, the same key the compiled YAML carries."""
    for var in ("MLPLATFORM_TRACKING_URI", "MLPLATFORM_OWNER", "MLPLATFORM_LOCK_FILE"):
        monkeypatch.delenv(var, raising=False)
    env = {"MLPLATFORM_ARTIFACT_STORE": str(tmp_path / "store")}
    cmd = ["--profile", "aws", "pipeline", "plan", "standard-training", "--format", "json"]
    result = CliRunner().invoke(app, cmd, env=env)
    assert result.exit_code == 0, result.output
    planned = {e["node"]: e["key"] for e in json.loads(result.stdout)}
    (ingest,) = [t for t in container_templates(compile_docs(standard())) if "ingest" in t["name"]]
    assert launcher.argo_spec(baked_spec(ingest), [], "wf").cache_key == planned["ingest"]
