"""Rendered documents against the platform's pod policies (Kyverno), re-stated in Python.

As tests/infrastructure/kubernetes does for pipeline pods, each pod policy's parameters are
read from the committed policy file (its keys and regular expressions) and the expression's
meaning is applied in Python. The model governance policies are not restated here: their CEL
runs in cel-python in tests/governance/test_kyverno_cel.py. The predictor pod is the one KServe
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
    "gcp-production": spec("gcp", canary=5, stage="production"),
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


# The model governance policies (infrastructure/.../governance) are rendered from the rule set
# and their CEL is evaluated on these rendered InferenceServices in
# tests/governance/test_kyverno_cel.py (test_rendered_deployments_get_the_same_verdict).


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
