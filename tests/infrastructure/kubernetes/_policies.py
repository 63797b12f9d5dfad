"""The subset of the platform's ValidatingPolicies that workloads meet, evaluated in Python.

No Kyverno CLI runs offline and no CEL engine is installed, so this module does not interpret
CEL. It reads each policy's *parameters* from the policy itself (its match scope, the label
keys in its list literal, the regular expressions in its ``matches()`` calls) and applies the
meaning written in the policy's expression with Python. ``test_policies`` pins each
expression's shape, so a changed expression fails a test instead of silently diverging.
"""

from __future__ import annotations

import re
from typing import Any

from ._manifests import cel_list, cel_strings

Doc = dict[str, Any]


def expression(policy: Doc, index: int = 0) -> str:
    return " ".join(policy["spec"]["validations"][index]["expression"].split())


def containers(pod: Doc) -> list[Doc]:
    return pod["spec"].get("containers", []) + pod["spec"].get("initContainers", [])


def in_scope(policy: Doc, pod: Doc) -> bool:
    """matchConstraints (namespace names, object labels) and the argo matchCondition."""
    match = policy["spec"]["matchConstraints"]
    namespace = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels", {})
    for expr in match.get("namespaceSelector", {}).get("matchExpressions", []):
        assert expr["key"] == "kubernetes.io/metadata.name"
        assert expr["operator"] == "In"
        if namespace not in expr["values"]:
            return False
    for expr in match.get("objectSelector", {}).get("matchExpressions", []):
        assert expr["operator"] == "Exists"
        if expr["key"] not in labels:
            return False
    for cond in policy["spec"].get("matchConditions", []):
        assert cond["name"] == "platform-workloads"
        if namespace == "argo" and "workflows.argoproj.io/workflow" not in labels:
            return False
    return True


def require_resource_limits(policy: Doc, pod: Doc) -> list[str]:
    found = dict(
        (kind, cel_strings(keys))
        for keys, kind in re.findall(
            r"\[([^\]]*)\]\.all\(r, r in c\.resources\.(requests|limits)\)", expression(policy)
        )
    )
    requests, limits = found["requests"], found["limits"]
    bad = []
    for c in containers(pod):
        res = c.get("resources", {})
        missing = [f"requests.{r}" for r in requests if r not in res.get("requests", {})]
        missing += [f"limits.{r}" for r in limits if r not in res.get("limits", {})]
        bad += [f"{c['name']}: missing {', '.join(missing)}"] if missing else []
    return bad


def disallow_latest_tag(policy: Doc, pod: Doc) -> list[str]:
    (pattern, suffix) = cel_strings(expression(policy))
    return [f"{c['name']}: image {c['image']}" for c in containers(pod)
            if not re.search(pattern, c["image"]) or c["image"].endswith(suffix)]  # fmt: skip


def restrict_image_registries(policy: Doc, pod: Doc) -> list[str]:
    (pattern,) = cel_strings(expression(policy))
    return [f"{c['name']}: image {c['image']}" for c in containers(pod)
            if not re.search(pattern, c["image"])]  # fmt: skip


def require_labels(policy: Doc, obj: Doc) -> list[str]:
    keys = cel_list(expression(policy))
    labels = obj["metadata"].get("labels", {})
    return [f"label {k} missing or empty" for k in keys if not labels.get(k)]
