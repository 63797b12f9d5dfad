"""The Argo compiler: strict schemas, determinism, restricted pods, placement, parameters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from mlplatform.pipelines.argo import CompileOptions, compile_pipeline, to_yaml
from mlplatform.pipelines.argo.clouds import AKS_SPOT_TAINT, CLOUDS

from . import gpu_flow
from ._compile import (
    CLOUD_NAMES,
    CLUSTER_ENV,
    LOCK,
    REPO,
    SCHEDULE,
    churn,
    compile_docs,
    container_templates,
    dag_tasks,
    standard,
    walk,
    workflow_spec,
)

DIGEST = "sha256:" + "ab" * 32
PIPELINES = {"standard": standard, "churn": churn, "gpu-flow": lambda: gpu_flow.gpu_flow}


def gpu_docs(cloud: str = "aws") -> list[dict[str, Any]]:
    return compile_docs(gpu_flow.gpu_flow, cloud)


def template(docs: list[dict[str, Any]], node: str) -> dict[str, Any]:
    (found,) = [t for t in container_templates(docs) if t["name"] == f"step-{node}"]
    return found


# ---- strict schemas ---------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [None, SCHEDULE], ids=["workflow", "scheduled"])
@pytest.mark.parametrize("cloud", CLOUD_NAMES)
@pytest.mark.parametrize("name", PIPELINES)
def test_every_document_validates_strictly(name, cloud, schedule, validate):
    # GIVEN an example pipeline  WHEN it compiles for a cloud, with or without a schedule
    docs = compile_docs(PIPELINES[name](), cloud, schedule=schedule)
    # THEN a Workflow, or a WorkflowTemplate plus a CronWorkflow, each valid for Argo v4
    kinds = [d["kind"] for d in docs]
    assert kinds == (["WorkflowTemplate", "CronWorkflow"] if schedule else ["Workflow"])
    for doc in docs:
        validate(doc)
    if schedule:
        template, cron = docs
        assert cron["spec"]["schedules"] == [SCHEDULE]
        assert (
            cron["spec"]["workflowSpec"]["workflowTemplateRef"]["name"]
            == (template["metadata"]["name"])
        )


@pytest.mark.parametrize("pipe", [gpu_flow.odd_name, gpu_flow.long_name], ids=["odd", "long"])
def test_pipeline_names_become_valid_object_names(pipe, validate):
    # GIVEN a pipeline named with capitals, '_' and '.', or a long name
    for schedule in (None, SCHEDULE):
        docs = compile_docs(pipe, "aws", schedule=schedule)
        for doc in docs:
            validate(doc)
            name = doc["metadata"].get("name") or doc["metadata"]["generateName"].rstrip("-")
            # THEN every object name is a DNS-1123 label (the API server rejects others)
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
            # AND a CronWorkflow's fits Argo's 52 characters (argo-workflows#5407)
            assert len(name) <= 52
            assert doc["metadata"]["labels"]["mlplatform.io/pipeline"] == _label(pipe.name)


def _label(name: str) -> str:
    return name[:63].strip("-._")


# ---- determinism --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["standard", "churn"])
def test_compiling_twice_gives_identical_yaml(name):
    pipe = PIPELINES[name]()
    for schedule in (None, SCHEDULE):
        first = to_yaml(compile_docs(pipe, "azure", schedule=schedule))
        assert to_yaml(compile_docs(pipe, "azure", schedule=schedule)) == first


def test_cli_compile_in_a_fresh_process_matches_in_process(tmp_path):
    # GIVEN settings from the environment, as on a cluster profile
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    env |= {
        "MLPLATFORM_ARTIFACT_STORE": "gs://team-bucket/pipelines",
        "MLPLATFORM_OWNER": "team-churn",
        "MLPLATFORM_IMAGE_DIGEST": DIGEST,
        "MLPLATFORM_ARGO_NAMESPACE": "ml",
    }
    out = tmp_path / "churn.yaml"
    # WHEN `mlp pipeline compile` runs in a new interpreter
    cmd = [sys.executable, "-m", "mlplatform", "pipeline", "compile", "churn-training"]
    cmd += ["--file", "examples/pipelines/churn/pipeline.py", "--cloud", "gcp", "-o", str(out)]
    cmd += ["--schedule", SCHEDULE]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # THEN its bytes equal an in-process compile with the same options
    options = CompileOptions(
        cloud="gcp",
        store_root="gs://team-bucket/pipelines",
        owner="team-churn",
        image_digest=DIGEST,
        namespace="ml",
        lock_file=LOCK,
        schedule=SCHEDULE,
        env=CLUSTER_ENV,
    )
    expected = to_yaml(compile_pipeline(churn().graph, {}, options))
    assert out.read_text() == expected


# ---- restricted pods, labels, identity ----------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUD_NAMES)
@pytest.mark.parametrize("name", PIPELINES)
def test_pods_meet_the_restricted_pod_security_standard(name, cloud):
    docs = compile_docs(PIPELINES[name](), cloud)
    spec = workflow_spec(docs)
    pod = spec.get("securityContext", {})
    scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    for t in container_templates(docs):
        sc = t["container"]["securityContext"]
        assert pod.get("runAsNonRoot") or sc.get("runAsNonRoot"), t["name"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert "add" not in sc["capabilities"]
        seccomp = sc.get("seccompProfile") or pod.get("seccompProfile")
        assert seccomp == {"type": "RuntimeDefault"}
        mounts = {m["mountPath"]: m["name"] for m in t["container"]["volumeMounts"]}
        assert mounts.get("/tmp") in scratch, f"{t['name']}: no emptyDir at /tmp"
        assert not sc.get("privileged")


@pytest.mark.parametrize("cloud", CLOUD_NAMES)
def test_pods_carry_platform_labels_and_the_cloud_identity(cloud):
    for schedule in (None, SCHEDULE):
        docs = compile_docs(standard(), cloud, schedule=schedule)
        spec = workflow_spec(docs)
        labels = spec["podMetadata"]["labels"]
        assert labels["mlplatform.io/pipeline"] == "standard-training"
        assert labels["mlplatform.io/model-name"] == "standard-model"
        assert labels["mlplatform.io/owner"] == "mlplatform"
        assert labels["mlplatform.io/pipeline-run-id"] == "{{workflow.name}}"
        assert spec["serviceAccountName"] == CLOUDS[cloud].service_account
        identity = labels.get("azure.workload.identity/use")
        assert identity == ("true" if cloud == "azure" else None)
        for doc in docs:
            assert doc["metadata"]["labels"]["mlplatform.io/owner"] == "mlplatform"
        if schedule:
            cron = docs[1]["spec"]["workflowMetadata"]["labels"]
            assert cron["mlplatform.io/pipeline"] == "standard-training"
        for t in container_templates(docs):
            # no static keys: identity comes from the service account alone, and the one secret
            # a step needs (the cache signing key) is a reference to a Secret, never a value
            env = t["container"].get("env", [])
            assert not [e for e in env if "KEY" in e["name"] and "value" in e]
            assert [e["valueFrom"] for e in env if e["name"] == "MLPLATFORM_CACHE_KEY"] == [
                {"secretKeyRef": {"name": "mlplatform-cache-key", "key": "key", "optional": False}}
            ]


# ---- resources, placement, retries, timeouts ----------------------------------------------


@pytest.mark.parametrize("name", ["standard", "gpu-flow"])
def test_requests_and_limits_come_from_step_resources(name):
    pipe = PIPELINES[name]()
    docs = compile_docs(pipe, "aws")
    for node_name, node in pipe.graph.nodes.items():
        res = template(docs, node_name)["container"]["resources"]
        cpu, memory = f"{node.step.resources.cpu:g}", node.step.resources.memory
        for kind in ("requests", "limits"):
            assert res[kind]["cpu"] == cpu
            assert res[kind]["memory"] == memory


@pytest.mark.parametrize("cloud", CLOUD_NAMES)
def test_gpu_step_gets_gpus_the_gpu_pool_and_its_toleration(cloud):
    docs = gpu_docs(cloud)
    fit = template(docs, "fit-on-gpu")
    assert fit["container"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert fit["nodeSelector"] == dict(CLOUDS[cloud].gpu_node_selector)
    gpu = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    # (on AKS the training and GPU pools are spot pools, which AKS taints itself)
    spot = [dict(t) for t in CLOUDS[cloud].pool_taints]
    assert spot == ([dict(AKS_SPOT_TAINT)] if cloud == "azure" else [])
    assert fit["tolerations"] == [gpu, *spot]
    # AND a 2-CPU step goes to the training pool, a small one anywhere
    crunch = template(docs, "crunch")
    training = {"key": "workload", "operator": "Equal", "value": "training"}
    assert crunch["tolerations"] == [{**training, "effect": "NoSchedule"}, *spot]
    assert crunch["nodeSelector"] == dict(CLOUDS[cloud].training_node_selector)
    assert "nvidia.com/gpu" not in crunch["container"]["resources"]["limits"]
    small = template(docs, "make-batch")
    assert "tolerations" not in small
    assert "nodeSelector" not in small


def test_retries_become_retry_strategy_and_timeout_active_deadline():
    fit = template(gpu_docs(), "fit-on-gpu")
    retry = fit["retryStrategy"]
    assert retry["limit"] == 3
    assert retry["backoff"]["duration"] == "2s"
    assert retry["backoff"]["factor"] == 2
    assert fit["activeDeadlineSeconds"] == 600
    small = template(gpu_docs(), "make-batch")
    assert "retryStrategy" not in small
    assert "activeDeadlineSeconds" not in small


# ---- only references and digests travel as parameters -----------------------------------


@pytest.mark.parametrize("name", PIPELINES)
def test_parameters_carry_only_references_and_digests(name):
    docs = compile_docs(PIPELINES[name](), "gcp")
    for t in container_templates(docs):
        assert "artifacts" not in t.get("inputs", {}), t["name"]
        assert "artifacts" not in t.get("outputs", {}), t["name"]
        for p in t["outputs"]["parameters"]:
            assert set(p) == {"name", "valueFrom"}
            assert set(p["valueFrom"]) == {"path"}
            assert p["valueFrom"]["path"] == f"/tmp/mlp/outputs/{p['name']}"
        for p in t.get("inputs", {}).get("parameters", []):
            assert p["name"].endswith(("-ref", "-digest"))
            assert "value" not in p
    assert not [path for path, _ in walk(docs) if path.endswith(".artifacts")]
    assert "artifactRepositoryRef" not in workflow_spec(docs)
    ref = re.compile(r"\{\{tasks\.[a-z0-9-]+\.outputs\.parameters\.[a-z0-9-]+-(ref|digest)\}\}")
    for task in dag_tasks(docs):
        for arg in task.get("arguments", {}).get("parameters", []):
            assert ref.fullmatch(arg["value"]), arg


# ---- image pinning --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("ghcr.io/mlplatform/mlplatform:0.1.0", "ghcr.io/mlplatform/mlplatform"),
        ("registry.local:5000/ml/mlplatform", "registry.local:5000/ml/mlplatform"),
        ("registry.local:5000/ml/mlplatform:1.2", "registry.local:5000/ml/mlplatform"),
        (f"ghcr.io/mlplatform/mlplatform@{'sha256:' + '0' * 64}", "ghcr.io/mlplatform/mlplatform"),
    ],
)
def test_image_digest_pins_every_container(image, repository):
    docs = compile_docs(standard(), "aws", image=image, image_digest=DIGEST)
    images = {t["container"]["image"] for t in container_templates(docs)}
    assert images == {f"{repository}@{DIGEST}"}


def test_without_digest_the_image_is_used_as_given():
    docs = compile_docs(standard(), "aws")
    images = {t["container"]["image"] for t in container_templates(docs)}
    assert images == {CompileOptions().image}


def test_yaml_round_trips_to_the_documents():
    docs = compile_docs(churn(), "aws", schedule=SCHEDULE)
    assert list(yaml.safe_load_all(to_yaml(docs))) == docs


def test_compiled_module_file_is_relative_to_the_project():
    docs = compile_docs(churn(), "aws")
    specs = [t["container"]["args"][1] for t in container_templates(docs)]
    assert any('"module_file":"examples/pipelines/churn/pipeline.py"' in s for s in specs)
    assert not [s for s in specs if str(REPO) in s]
