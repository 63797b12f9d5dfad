"""Rendered documents against the platform's Kyverno policies, re-stated in Python.

No CEL engine runs offline, so (as tests/infrastructure/kubernetes does for pipeline pods)
each policy's parameters are read from the committed policy file (its label and annotation
keys, stage values and regular expressions) and the expression's meaning is applied in Python.
``test_expressions_have_the_shape_the_restatement_reads`` pins each expression's shape, so a
changed policy fails here instead of silently diverging. The predictor pod is the one KServe
builds (the runtime's container with the model's fields laid over it), without the storage
initializer that KServe injects (its settings are the KServe chart's).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlplatform.serving.deploy import render

from ._specs import spec
from .conftest import REPO, load_script

KYVERNO = REPO / "infrastructure" / "kubernetes" / "base"
Doc = dict[str, Any]
CASES = {
    "aws": spec("aws"),
    "azure-canary": spec("azure", canary=10),
    "gcp-production": spec(
        "gcp", canary=5, stage="production", approved_by="ada", approval_ticket="CHG-1"
    ),
}


def policy(folder: str, name: str) -> Doc:
    path = KYVERNO / folder / f"validatingpolicy.{name}.yaml"
    listed = yaml.safe_load((path.parent / "kustomization.yaml").read_text())["resources"]
    assert path.name in listed, f"{path.name} is not deployed by its kustomization"
    return yaml.safe_load(path.read_text())


def expression(doc: Doc) -> str:
    return " ".join(doc["spec"]["validations"][0]["expression"].split())


def cel_strings(text: str) -> list[str]:
    """The single-quoted string literals of a CEL expression, unescaped."""
    return [s.replace("\\\\", "\\") for s in re.findall(r"'((?:[^'\\]|\\.)*)'", text)]


def cel_list(text: str, after: str = "") -> list[str]:
    """The first list literal of strings (after ``after``) in a CEL expression."""
    match = re.search(re.escape(after) + r"\s*\[([^\]]*)\]", text)
    assert match, f"no list literal after {after!r} in {text!r}"
    return cel_strings(match.group(1))


# ---- the model governance policies, on the InferenceService ------------------------------
def governance_violations(isvc: Doc) -> list[str]:
    labels = isvc["metadata"].get("labels", {})
    annotations = isvc["metadata"].get("annotations", {})
    problems = []
    required = expression(policy("governance", "model-required-labels"))
    problems += [f"label {k}" for k in cel_list(required) if not labels.get(k)]
    stage = expression(policy("governance", "model-stage"))
    if labels.get("mlplatform.io/model-stage") not in cel_list(stage, " in"):
        problems.append("stage")
    semver = expression(policy("governance", "model-semantic-version"))
    pattern = next(s for s in cel_strings(semver) if s.startswith("^"))
    version = labels.get("mlplatform.io/model-version")
    if version is not None and not re.search(pattern, version):
        problems.append(f"semver {version}")
    lineage = cel_strings(expression(policy("governance", "model-lineage")))
    experiment, run, run_pattern = lineage[0], lineage[3], lineage[-1]
    if not annotations.get(experiment):
        problems.append(experiment)
    if not re.search(run_pattern, annotations.get(run, "")):
        problems.append(run)
    if labels.get("mlplatform.io/model-stage") == "production":
        approval = expression(policy("governance", "production-approval"))
        problems += [k for k in cel_list(approval) if not annotations.get(k)]
    return problems


def test_expressions_have_the_shape_the_restatement_reads():
    assert cel_list(expression(policy("governance", "model-required-labels"))) == [
        "mlplatform.io/model-name",
        "mlplatform.io/model-version",
        "mlplatform.io/owner",
    ]
    assert "'mlplatform.io/model-stage' in object.metadata.labels" in expression(
        policy("governance", "model-stage")
    )
    lineage = cel_strings(expression(policy("governance", "model-lineage")))
    assert lineage[:3] == ["mlplatform.io/mlflow-experiment-id"] * 2 + [""]  # non-empty
    assert lineage[3:5] == ["mlplatform.io/mlflow-run-id"] * 2
    assert lineage[5:] == ["^[0-9a-f]{32}$"]
    assert ".matches(" in expression(policy("governance", "model-semantic-version"))
    approval = policy("governance", "production-approval")
    assert "== 'production'" in approval["spec"]["matchConditions"][0]["expression"]
    for name in (
        "model-required-labels",
        "model-stage",
        "model-lineage",
        "model-semantic-version",
        "production-approval",
    ):
        rules = policy("governance", name)["spec"]["matchConstraints"]["resourceRules"][0]
        assert rules["resources"] == ["inferenceservices"], name
        assert rules["apiVersions"] == ["v1beta1"], name


@pytest.mark.parametrize("case", CASES)
def test_rendered_inference_services_pass_the_governance_policies(case):
    isvc = render(CASES[case])[1]
    assert governance_violations(isvc) == []


def test_the_restatement_catches_a_missing_label_and_a_bad_run_id():
    # GIVEN a rendered InferenceService broken in two ways WHEN checked THEN both are named
    isvc = render(CASES["aws"])[1]
    del isvc["metadata"]["labels"]["mlplatform.io/owner"]
    isvc["metadata"]["annotations"]["mlplatform.io/mlflow-run-id"] = "not-a-run"
    isvc["metadata"]["labels"]["mlplatform.io/model-version"] = "3"
    assert governance_violations(isvc) == [
        "label mlplatform.io/owner",
        "semver 3",
        "mlplatform.io/mlflow-run-id",
    ]


def test_production_without_approval_annotations_is_caught():
    isvc = render(CASES["gcp-production"])[1]
    del isvc["metadata"]["annotations"]["mlplatform.io/approval-ticket"]
    assert governance_violations(isvc) == ["mlplatform.io/approval-ticket"]


# ---- the pod policies and Pod Security, on the predictor pods KServe makes ----------------
def predictor_pods(docs: list[Doc]) -> list[Doc]:
    """Each predictor's pod: runtime container + model overrides, pod-level predictor fields."""
    runtime, isvc = docs[0], docs[1]
    predictors = [isvc["spec"]["predictor"]]
    predictors += [c["predictor"] for c in isvc["spec"].get("canary", [])]
    pods = []
    for p in predictors:
        (container,) = runtime["spec"]["containers"]
        model = {
            k: v
            for k, v in p["model"].items()
            if k in ("resources", "securityContext", "env", "args")
        }
        pod_spec = {
            "serviceAccountName": p["serviceAccountName"],
            "securityContext": p["securityContext"],
            "containers": [{**container, **model}],
            "volumes": [
                *runtime["spec"]["volumes"],
                {"name": "kserve-provision-location", "emptyDir": {}},
            ],
        }
        meta = {"namespace": isvc["metadata"]["namespace"], "labels": p["labels"]}
        pods.append({"metadata": meta, "spec": pod_spec})
    return pods


def pod_policy_violations(pod: Doc) -> list[str]:
    containers = pod["spec"]["containers"]
    problems = []
    limits = expression(policy("security/kyverno", "require-resource-limits"))
    found = dict(
        (kind, cel_strings(keys))
        for keys, kind in re.findall(
            r"\[([^\]]*)\]\.all\(r, r in c\.resources\.(requests|limits)\)", limits
        )
    )
    for c in containers:
        problems += [
            f"requests.{r}" for r in found["requests"] if r not in c["resources"]["requests"]
        ]
        problems += [f"limits.{r}" for r in found["limits"] if r not in c["resources"]["limits"]]
    tag_pattern, latest = cel_strings(expression(policy("security/kyverno", "disallow-latest-tag")))
    for c in containers:
        if not re.search(tag_pattern, c["image"]) or c["image"].endswith(latest):
            problems.append(f"tag {c['image']}")
    (registries,) = cel_strings(expression(policy("security/kyverno", "restrict-image-registries")))
    problems += [
        f"registry {c['image']}" for c in containers if not re.search(registries, c["image"])
    ]
    pss = load_script(REPO / "tests" / "infrastructure" / "kubernetes" / "_pss.py", "deploy_pss")
    return problems + pss.restricted_violations(pod["spec"])


@pytest.mark.parametrize("case", CASES)
def test_predictor_pods_pass_the_pod_policies_and_the_restricted_profile(case):
    docs = render(CASES[case])
    for name in ("require-resource-limits", "disallow-latest-tag", "restrict-image-registries"):
        scope = policy("security/kyverno", name)["spec"]["matchConstraints"]["namespaceSelector"]
        assert CASES[case].options.namespace in scope["matchExpressions"][0]["values"], name
    for pod in predictor_pods(docs):
        assert pod_policy_violations(pod) == []


def test_the_pod_checks_catch_a_latest_image_and_a_missing_limit():
    (pod,) = predictor_pods(render(CASES["aws"]))
    container = pod["spec"]["containers"][0]
    container["image"] = "docker.io/library/python:latest"
    del container["resources"]["limits"]["memory"]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    assert pod_policy_violations(pod) == [
        "limits.memory",
        "tag docker.io/library/python:latest",
        "registry docker.io/library/python:latest",
        "kserve-container: allowPrivilegeEscalation must be false",
    ]


def test_governance_labels_are_on_the_pods_too():
    for pod in predictor_pods(render(CASES["azure-canary"])):
        labels = pod["metadata"]["labels"]
        assert {
            "mlplatform.io/model-name",
            "mlplatform.io/model-version",
            "mlplatform.io/owner",
            "mlplatform.io/model-stage",
        } <= set(labels)


def test_policy_files_exist_where_the_test_reads_them():
    assert Path(KYVERNO / "governance" / "kustomization.yaml").is_file()
