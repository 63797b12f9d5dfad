"""The namespaces' Pod Security levels, the Kyverno scopes and the compiled pipeline agree.

The pipeline pods are what mlplatform's Argo compiler renders for the standard training
pipeline on each cloud, merged the way the Argo controller merges them (workflow podMetadata
labels, template labels, spec.securityContext, plus the workflow label Argo adds). The Argo
executor's own containers (init, wait) are not part of the compiled YAML: their resources and
securityContext come from the controller's executor settings (docs/kubernetes.md).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from mlplatform.components.standard import standard_training
from mlplatform.pipelines.argo import CompileOptions, compile_pipeline

from . import _policies as P
from ._manifests import OVERLAYS, built, find, one
from ._pss import restricted_violations

PSA = {  # the table
    "mlops": ("restricted", "restricted"),
    "mlflow": ("restricted", "restricted"),
    "kserve": ("restricted", "restricted"),
    "keda": ("restricted", "restricted"),  # KEDA and its HTTP add-on (issue 14)
    "feast": ("restricted", "restricted"),  # the Feast feature server (issue 18)
    "argo": ("baseline", "restricted"),
    "monitoring": ("privileged", "privileged"),
    "kyverno": ("privileged", "privileged"),
    "tetragon": ("privileged", "privileged"),
}
COMPILER_LABELS = ["app.kubernetes.io/part-of", "mlplatform.io/pipeline",
                   "mlplatform.io/model-name", "mlplatform.io/owner",
                   "mlplatform.io/pipeline-run-id"]  # fmt: skip
Doc = dict[str, Any]


@functools.cache
def pipeline_pods(cloud: str) -> tuple[Doc, ...]:
    (wf,) = compile_pipeline(standard_training.graph, {}, CompileOptions(cloud=cloud))
    spec = wf["spec"]
    pods = []
    for template in spec["templates"]:
        if "container" not in template:
            continue
        labels = {**spec["podMetadata"]["labels"], **template.get("metadata", {}).get("labels", {})}
        labels["workflows.argoproj.io/workflow"] = "standard-training-abcde"  # Argo adds it
        pod_spec = {
            "securityContext": spec["securityContext"],
            "containers": [{"name": "main", **template["container"]}],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        }
        meta = {
            "name": template["name"],
            "namespace": wf["metadata"]["namespace"],
            "labels": labels,
        }
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec})
    assert len(pods) == 6
    return tuple(pods)


def policy(name: str) -> Doc:
    return one(built("base"), "ValidatingPolicy", name)


@pytest.mark.parametrize("target", ["base", *(f"overlays/{c}" for c in OVERLAYS)])
def test_namespaces_carry_the_psa_table(target: str) -> None:
    namespaces = {
        d["metadata"]["name"]: d["metadata"]["labels"] for d in find(built(target), "Namespace")
    }
    assert set(namespaces) == set(PSA)
    for name, (enforce, warn_audit) in PSA.items():
        labels = namespaces[name]
        assert labels["pod-security.kubernetes.io/enforce"] == enforce, name
        assert labels["pod-security.kubernetes.io/warn"] == warn_audit, name
        assert labels["pod-security.kubernetes.io/audit"] == warn_audit, name


def test_policy_scopes_are_the_workload_namespaces() -> None:
    # GIVEN the pod policies WHEN their namespace scopes are read THEN they cover exactly the
    # namespaces that are not privileged, and the pipeline namespace is among them
    # keda holds platform controllers only (KEDA, its HTTP add-on), no workload: not policed
    workload = {n for n, (enforce, _) in PSA.items() if enforce != "privileged"} - {"keda"}
    for name in ("require-resource-limits", "disallow-latest-tag", "restrict-image-registries"):
        (expr,) = policy(name)["spec"]["matchConstraints"]["namespaceSelector"]["matchExpressions"]
        assert set(expr["values"]) == workload, name
    labels = policy("require-mlops-labels")["spec"]["matchConstraints"]
    assert labels["namespaceSelector"]["matchExpressions"][0]["values"] == ["argo"]
    assert CompileOptions().namespace == "argo"


def test_expressions_have_the_shape_the_evaluator_reads() -> None:
    assert P.expression(policy("require-mlops-labels")).startswith("['app.kubernetes.io/part-of'")
    assert ".matches(" in P.expression(policy("disallow-latest-tag"))
    assert "!c.image.endsWith(':latest')" in P.expression(policy("disallow-latest-tag"))
    assert P.expression(policy("restrict-image-registries")).count("'") == 2
    assert policy("restrict-image-registries")["spec"]["validationActions"] == ["Audit"]
    for name in ("require-resource-limits", "disallow-latest-tag", "require-mlops-labels"):
        assert policy(name)["spec"]["validationActions"] == ["Deny"]


def test_the_policy_requires_the_labels_the_compiler_emits() -> None:
    assert P.cel_list(P.expression(policy("require-mlops-labels"))) == COMPILER_LABELS


@pytest.mark.parametrize("cloud", OVERLAYS)
def test_compiled_pipeline_pods_pass_the_kyverno_rules(cloud: str) -> None:
    checks = {
        "require-resource-limits": P.require_resource_limits,
        "disallow-latest-tag": P.disallow_latest_tag,
        "require-mlops-labels": P.require_labels,
        "restrict-image-registries": P.restrict_image_registries,
    }
    for pod in pipeline_pods(cloud):
        for name, check in checks.items():
            assert P.in_scope(policy(name), pod), (name, pod["metadata"]["name"])
            assert check(policy(name), pod) == [], (name, pod["metadata"]["name"])


@pytest.mark.parametrize("cloud", OVERLAYS)
def test_compiled_pipeline_pods_pass_restricted(cloud: str) -> None:
    for pod in pipeline_pods(cloud):
        # argo enforces baseline and warns at restricted: restricted passes both
        assert restricted_violations(pod["spec"]) == [], pod["metadata"]["name"]


def test_the_evaluator_catches_violations() -> None:
    # GIVEN a compiled pod broken four ways WHEN evaluated THEN each rule reports it
    pod = {**pipeline_pods("aws")[0]}
    pod["metadata"] = {**pod["metadata"], "labels": {"app.kubernetes.io/part-of": "mlplatform"}}
    pod["metadata"]["labels"]["workflows.argoproj.io/workflow"] = "x"
    pod["spec"] = {
        **pod["spec"],
        "containers": [
            {
                "name": "main",
                "image": "docker.io/python:latest",
                "resources": {"requests": {"cpu": "1"}},
            }
        ],
    }
    assert P.require_labels(policy("require-mlops-labels"), pod)
    assert P.require_resource_limits(policy("require-resource-limits"), pod)
    assert P.disallow_latest_tag(policy("disallow-latest-tag"), pod)
    assert P.restrict_image_registries(policy("restrict-image-registries"), pod)
    assert "capabilities must drop ALL" in " ".join(restricted_violations(pod["spec"]))
    assert P.disallow_latest_tag(policy("disallow-latest-tag"), _image("python"))
    assert not P.disallow_latest_tag(
        policy("disallow-latest-tag"), _image("r:5000/py@sha256:" + "a" * 64)
    )
    assert P.disallow_latest_tag(policy("disallow-latest-tag"), _image("registry:5000/python"))


def _image(image: str) -> Doc:
    return {"spec": {"containers": [{"name": "c", "image": image}]}}


def test_argo_pods_outside_workflows_are_not_policed_but_still_restricted() -> None:
    deployment = one(built("overlays/aws"), "Deployment", "training-capacity")
    pod = {"metadata": {"namespace": "argo", **deployment["spec"]["template"]["metadata"]},
           "spec": deployment["spec"]["template"]["spec"]}  # fmt: skip
    assert not P.in_scope(policy("require-resource-limits"), pod)
    assert restricted_violations(pod["spec"]) == []
    assert P.require_resource_limits(policy("require-resource-limits"), pod) == []
    assert P.disallow_latest_tag(policy("disallow-latest-tag"), pod) == []
    assert P.restrict_image_registries(policy("restrict-image-registries"), pod) == []
