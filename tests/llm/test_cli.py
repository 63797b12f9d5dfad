"""`mlp deploy llm` as users run it (the real `mlp` app, in-process): dry-run documents that
pass the strict schemas, the capacity refusal, catalog keys, and the missing-cluster error.

Errors go through the one printer of the root app: exit 2, `error:` and `hint:` on stderr.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from typer.testing import CliRunner

from mlplatform.cli.app import app
from mlplatform.llm.catalog import CATALOG

# the strict-schema fixture of tests/llm/deploy, registered here by importing it
from .deploy.conftest import Validate, validate  # noqa: F401

CLOUDS = ("aws", "azure", "gcp")


@pytest.fixture
def mlp(tmp_path, monkeypatch):
    """`mlp deploy llm ...` in an empty project folder, with no cluster configured."""
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["deploy", "llm", *args])

    return invoke


def test_help_has_examples_and_names_the_later_slice(mlp):
    result = mlp("--help")
    assert result.exit_code == 0, result.output
    assert "Example: mlp deploy llm" in result.output
    assert "NAME@ALIAS" in result.output


@pytest.mark.parametrize("cloud", CLOUDS)
def test_dry_run_prints_documents_that_pass_the_schemas(
    mlp,
    validate: Validate,  # noqa: F811
    cloud,
    tmp_path,
):
    # WHEN TinyLlama is rendered for the cloud, with no cluster anywhere
    result = mlp("tinyllama-1.1b", "--cloud", cloud, "--concurrency", "4", "--dry-run")
    # THEN stdout is the YAML: the LLMInferenceService, its PodMonitor and route, all valid
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["LLMInferenceService", "PodMonitor", "HTTPRoute"]
    for doc in docs:
        validate(doc)
    service = docs[0]
    container = service["spec"]["template"]["containers"][0]
    assert "--max-model-len=2048" in container["args"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    # AND the capacity check's arithmetic is on stderr, not in the YAML
    assert "tinyllama-1.1b on nvidia-tesla-t4: fits" in result.stderr
    assert "2048 tokens x 4 sequences" in result.stderr
    # AND nothing was written into the project (a dry run creates nothing)
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_flags_reach_vllm_and_json_goes_to_a_file(mlp, validate: Validate, tmp_path):  # noqa: F811
    out = tmp_path / "llm.json"
    result = mlp(
        *("mistral-7b-instruct", "--cloud", "gcp", "--max-model-len", "4096"),
        *("--gpu-memory-utilization", "0.85", "--dtype", "float16", "--pool", "gpu-l4"),
        *("--namespace", "llms", "--name", "mistral", "--format", "json", "-o", str(out)),
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    listing = json.loads(out.read_text())
    service, monitor, route = listing["items"]
    for doc in (service, monitor, route):
        validate(doc)
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == ("mistral", "llms")
    args = service["spec"]["template"]["containers"][0]["args"]
    assert args == ["--max-model-len=4096", "--gpu-memory-utilization=0.85", "--dtype=float16"]
    selector = service["spec"]["template"]["nodeSelector"]
    assert selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}


def test_the_pool_is_the_smallest_that_fits(mlp):
    # Mistral-7B at its full context does not fit a T4: the 24 GB pool is picked
    result = mlp("mistral-7b-instruct", "--cloud", "aws", "--dry-run")
    assert result.exit_code == 0, result.output
    service = next(yaml.safe_load_all(result.stdout))
    assert service["metadata"]["annotations"]["mlplatform.io/gpu-pool"] == "gpu-workloads-a10g"


def test_a_model_that_does_not_fit_is_refused_with_the_numbers_and_what_to_change(mlp):
    # GIVEN CodeLlama-7B at its full 16k context (no grouped-query attention: 8 GiB of cache)
    result = mlp("codellama-7b-instruct", "--cloud", "aws", "--dry-run")
    # THEN exit 2 with the needed and available GiB, and a --max-model-len that would fit
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "error: No GPU pool on aws fits codellama-7b-instruct" in result.stderr
    assert "22.05 GiB" in result.stderr
    assert "20.24 GiB" in result.stderr
    assert "--max-model-len 12544" in result.stderr.partition("hint:")[2]
    assert "Traceback" not in result.stderr
    # AND following the hint works
    fixed = mlp("codellama-7b-instruct", "--cloud", "aws", "--max-model-len", "12544", "--dry-run")
    assert fixed.exit_code == 0, fixed.output


def test_too_many_sequences_on_a_named_pool_are_refused(mlp):
    result = mlp(
        *("tinyllama-1.1b", "--cloud", "azure", "--pool", "gpu"),
        *("--concurrency", "1000", "--dry-run"),
    )
    assert result.exit_code == 2, result.output
    assert "error: tinyllama-1.1b does not fit nvidia-tesla-t4" in result.stderr
    assert "--max-model-len" in result.stderr


@pytest.mark.parametrize("key", ["llama-70b", "tinyllama-1.1b@champion"])
def test_an_unknown_model_lists_the_catalog_and_says_what_the_registry_said(mlp, key):
    result = mlp(key, "--cloud", "gcp", "--dry-run")
    assert result.exit_code == 2, result.output
    assert f"error: '{key}' is not in the LLM catalog, and the registry says" in result.stderr
    assert "no registered model named" in result.stderr
    for known in CATALOG:
        assert known in result.stderr.partition("hint:")[2]


def test_the_inferenceservice_kind_needs_a_registered_version(mlp):
    # The model-lineage policy refuses an InferenceService without an MLflow run; a catalog
    # key has none, so the hint is to register it, or the default kind.
    result = mlp("tinyllama-1.1b", "--cloud", "gcp", "--kind", "inferenceservice", "--dry-run")
    assert result.exit_code == 2, result.output
    assert "--kind inferenceservice needs a registered LLM version" in result.stderr
    assert "mlp llm register --catalog tinyllama-1.1b" in result.stderr
    assert "pass --kind llminferenceservice" in result.stderr
    assert mlp("tinyllama-1.1b", "--cloud", "gcp", "--dry-run").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cloud", "mars"), "mars"),
        (("--cloud", "aws", "--pool", "gpu-h100"), "aws has no GPU pool 'gpu-h100'"),
        (("--cloud", "aws", "--gpus", "2"), "2 GPUs per replica need a pool chosen by hand"),
        (("--cloud", "aws", "--max-model-len", "4096"), "--max-model-len 4096 is outside"),
    ],
)
def test_bad_options_are_errors_with_a_hint(mlp, args, message):
    result = mlp("tinyllama-1.1b", *args, "--dry-run")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "hint:" in result.stderr


def test_without_dry_run_a_missing_cluster_says_how_to_point_at_one(mlp):
    result = mlp("tinyllama-1.1b", "--cloud", "aws")
    assert result.exit_code == 2, result.output
    assert "error: no Kubernetes cluster is configured" in result.stderr
    assert "hint: Set KUBECONFIG (or --context), or pass --dry-run" in result.stderr
    assert "applied" not in result.stdout


# ---- registered LLMs: NAME@ALIAS, canaries, scale to zero, undeploy ----------------------
OTHER_REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def registry(tmp_path):
    """A real MLflow registry (SQLite) holding two versions of one LLM: champion (version 1,
    the catalog's TinyLlama revision) and challenger (version 2, another revision)."""
    from mlplatform.llm.registry import register_llm
    from mlplatform.llm.sources import parse_source

    uri = f"sqlite:///{tmp_path / 'registry' / 'mlflow.db'}"
    (tmp_path / "registry").mkdir()
    register_llm(parse_source(None, catalog="tinyllama-1.1b"), tracking_uri=uri, name="tiny",
                 alias="champion")  # fmt: skip
    other = f"hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@{OTHER_REVISION}"
    register_llm(parse_source(other), tracking_uri=uri, name="tiny", alias="challenger")
    return uri


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_a_registered_llm_deploys_with_a_weighted_canary(
    mlp,
    registry,
    validate: Validate,  # noqa: F811
):
    # WHEN the champion is deployed with the challenger taking 10 % of its served name
    result = _run(
        *("--tracking-uri", registry, "deploy", "llm", "tiny@champion", "--cloud", "gcp"),
        *("--canary", "challenger=10", "--dry-run"),
    )
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == [
        "LLMInferenceService", "LLMInferenceService", "PodMonitor", "HTTPRoute"
    ]  # fmt: skip
    for doc in docs:
        validate(doc)
    # THEN both versions are rendered from the registry: URI, version, alias, run
    primary, challenger, _, route = docs
    assert primary["spec"]["model"]["uri"].endswith(":fe8a4ea1ffedaf415f4da2f062534de366a451e6")
    assert challenger["spec"]["model"]["uri"].endswith(f":{OTHER_REVISION}")
    # each version's semantic version is the registry's (N.0.0 where it records none)
    from mlplatform.tracking import get_version

    for doc, version in ((primary, 1), (challenger, 2)):
        tags = get_version("tiny", version, tracking_uri=registry).tags
        semver = tags.get("mlplatform.semver") or f"{version}.0.0"
        assert doc["metadata"]["labels"]["mlplatform.io/model-version"] == semver
    assert challenger["metadata"]["annotations"]["mlplatform.io/model-alias"] == "challenger"
    assert len(challenger["metadata"]["labels"]["mlplatform.io/mlflow-run-id"]) == 32
    # AND the route splits the one served name 90 / 10
    assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [90, 10]
    # AND the endpoint host is announced, since deploy.hostname is not set
    assert "the endpoint is llm-kserve.example.com" in result.stderr


def test_a_registered_llm_scales_to_zero_as_an_inference_service(mlp, registry):
    result = _run(
        *("--tracking-uri", registry, "deploy", "llm", "tiny@champion", "--cloud", "aws"),
        *("--kind", "inferenceservice", "--min-replicas", "0", "--max-replicas", "2"),
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs][-2:] == ["HTTPScaledObject", "ScaledObject"]
    # the InferenceService carries the run the model-lineage policy asks for
    assert docs[0]["metadata"]["annotations"]["mlplatform.io/mlflow-experiment-id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--canary", "challenger=100"), "not a whole percent from 1 to 99"),
        (("--canary", "challenger=60", "--canary", "2=50"), "leaving none to the primary"),
        (("--canary", "champion=10"), "the primary itself"),
        (("--min-replicas", "0"), "at least one replica of an LLMInferenceService"),
        (("--canary", "nobody=10"), "nobody"),
    ],
)
def test_bad_canaries_and_scaling_are_errors_with_a_hint(mlp, registry, args, message):
    result = _run("--tracking-uri", registry, "deploy", "llm", "tiny@champion",
                  "--cloud", "gcp", *args, "--dry-run")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_catalog_key_takes_no_canary(mlp):
    result = mlp("tinyllama-1.1b", "--cloud", "gcp", "--canary", "challenger=10", "--dry-run")
    assert result.exit_code == 2, result.output
    assert "is a catalog key" in result.stderr
    assert "mlp llm register --catalog tinyllama-1.1b" in result.stderr


def test_undeploy_llm_has_examples_and_needs_a_cluster(mlp):
    helped = _run("undeploy", "llm", "--help")
    assert helped.exit_code == 0, helped.output
    assert "Example: mlp undeploy llm tinyllama" in helped.output
    result = _run("undeploy", "llm", "tinyllama")
    assert result.exit_code == 2, result.output
    assert "error: no Kubernetes cluster is configured" in result.stderr


def test_production_is_refused_for_what_the_registry_has_not_approved_and_recorded(
    mlp, registry, tmp_path
):
    # GIVEN a catalog key (no registry version) and a registered version nobody approved
    catalog = mlp("tinyllama-1.1b", "--cloud", "aws", "--stage", "production", "--dry-run")
    registered = _run("--tracking-uri", registry, "deploy", "llm", "tiny@champion", "--cloud",
                      "gcp", "--stage", "production", "-o", str(tmp_path / "out.yaml"))  # fmt: skip
    # THEN both are refused naming the rules, and nothing is written
    for result in (catalog, registered):
        assert result.exit_code == 2, result.output
        assert "production.approval" in result.stderr
        assert "Nothing was written or applied" in result.stderr
    assert "metadata.semver" in catalog.stderr
    assert not (tmp_path / "out.yaml").exists()
    # AND the registered model's refusal is in its audit chain
    from mlplatform.governance.audit import records
    from mlplatform.settings import load_settings
    from mlplatform.workspace import Workspace

    ws = Workspace(load_settings(tracking_uri=registry))
    (record,) = records(store_root=ws.store.root, storage_options=None, model="tiny")
    assert (record.what, record.version) == ("refused", "1")


def test_a_staging_deploy_labels_the_registry_semver_or_n00_and_records_nothing(mlp, registry):
    result = _run("--tracking-uri", registry, "deploy", "llm", "tiny@champion", "--cloud", "gcp",
                  "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output
    (isvc, *_) = yaml.safe_load_all(result.stdout)
    assert "mlplatform.io/approved-by" not in isvc["metadata"]["annotations"]
    from mlplatform.governance.audit import records
    from mlplatform.settings import load_settings
    from mlplatform.workspace import Workspace

    ws = Workspace(load_settings(tracking_uri=registry))
    assert records(store_root=ws.store.root, storage_options=None, model="tiny") == []
