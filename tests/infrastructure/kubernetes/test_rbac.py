"""The ml-engineer Role in the serving namespace allows exactly what `mlp deploy model|llm` and
`mlp undeploy model|llm` do, and nothing more in those API groups.

GIVEN the documents `mlp deploy model` and `mlp deploy llm` render (every autoscaler and
scaling mode, with and without a canary, both LLM kinds) and the kinds `mlp undeploy model` and
`mlp undeploy llm` list and delete (and `deploy` prunes: their ``OWNED_KINDS``) WHEN
the rendered Roles are evaluated the way the API server's RBAC authorizer does (rules are ORed;
a rule matches a request when its apiGroups, resources and verbs each contain the request's
value or ``*``, and it names no resourceNames) THEN every needed verb on every needed resource
is allowed in the namespace the commands use, and the Role's rules in those API groups are
exactly that table.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mlplatform.errors import DeployError
from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import KINDS as LLM_KINDS
from mlplatform.llm.deploy import LlmCanary, LlmDeployOptions, LlmDeploySpec
from mlplatform.llm.deploy import render as render_llm
from mlplatform.llm.deploy.undeploy import OWNED_KINDS as LLM_OWNED_KINDS
from mlplatform.serving.deploy import DeployOptions, DeploySpec, VariantSpec, render
from mlplatform.serving.deploy.undeploy import OWNED_KINDS as MODEL_OWNED_KINDS

from ._manifests import OVERLAYS, built, find

# Server-side apply reads (get) and creates or patches; --dry-run and diffs get and list.
APPLY_VERBS = frozenset({"get", "list", "create", "patch"})
# Undeploy lists a model's objects by label, then deletes them.
UNDEPLOY_VERBS = frozenset({"get", "list", "delete"})
# kind -> (API group, resource) of every kind the two commands may touch.
RESOURCES = {
    "InferenceService": ("serving.kserve.io", "inferenceservices"),
    "LLMInferenceService": ("serving.kserve.io", "llminferenceservices"),
    "ServingRuntime": ("serving.kserve.io", "servingruntimes"),
    "HTTPRoute": ("gateway.networking.k8s.io", "httproutes"),
    "PodMonitor": ("monitoring.coreos.com", "podmonitors"),
    "ScaledObject": ("keda.sh", "scaledobjects"),
    "HTTPScaledObject": ("http.keda.sh", "httpscaledobjects"),
}
GROUPS = {group for group, _ in RESOURCES.values()}
SERVING = DeployOptions(cloud="aws", image="x").namespace  # where the commands apply
RUN = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"
OWNED_KINDS = (*MODEL_OWNED_KINDS, *LLM_OWNED_KINDS)  # what undeploy (and prune) delete
# `mlp deploy llm`'s scaling modes: fixed (both kinds), a KEDA range, scale to zero
LLM_SCALING = ({}, {"min_replicas": 1, "max_replicas": 3}, {"min_replicas": 0, "max_replicas": 2})
Rule = dict[str, Any]


def allowed(rules: list[Rule], group: str, resource: str, verb: str) -> bool:
    """RBAC's rule match for a namespaced resource request (no resourceNames, no URLs)."""

    def has(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    return any(
        has(r.get("apiGroups", []), group)
        and has(r.get("resources", []), resource)
        and has(r.get("verbs", []), verb)
        and not r.get("resourceNames")
        for r in rules
    )


def _rendered() -> list[dict[str, Any]]:
    """Every document `mlp deploy model` renders, over the modes it accepts."""
    canary = (VariantSpec(4, "s3://b/m/4", RUN, "1", "challenger", percent=10),)
    docs = []
    for autoscaler, low in (("hpa", 1), ("keda", 1), ("keda", 0)):
        for canaries in ((), canary):
            options = DeployOptions(
                cloud="aws", image="ghcr.io/mlplatform/mlplatform:0.1.0",
                autoscaler=autoscaler, min_replicas=low,
            )  # fmt: skip
            primary = VariantSpec(3, "s3://b/m/3", RUN, "1", "champion")
            try:
                docs += render(DeploySpec("churn-model", primary, options, canaries))
            except DeployError:  # a mode the command refuses renders nothing to authorize
                continue
    # `mlp deploy llm`: every kind and scaling mode it renders, with and without a canary
    model = CATALOG["tinyllama-1.1b"]
    canary = (LlmCanary(model, 4, 10, "challenger", RUN, "1"),)
    for kind, scaling, canaries in itertools.product(LLM_KINDS, LLM_SCALING, ((), canary)):
        options = LlmDeployOptions(cloud="aws", kind=kind, owner="ml-team", concurrency=8,
                                   **scaling)  # fmt: skip
        spec = LlmDeploySpec(
            model, options, registered=model.key, version=3, alias="champion", run_id=RUN,
            experiment_id="1", canaries=canaries,
        )  # fmt: skip
        try:
            docs += render_llm(spec)
        except DeployError:  # a mode the command refuses renders nothing to authorize
            continue
    return docs


def needed() -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> the verbs the two commands use on it."""
    table: dict[tuple[str, str], set[str]] = {}
    for doc in _rendered():
        table.setdefault(RESOURCES[doc["kind"]], set()).update(APPLY_VERBS)
    for _, kind in OWNED_KINDS:
        table.setdefault(RESOURCES[kind], set()).update(UNDEPLOY_VERBS)
    return table


def _role(target: str, namespace: str) -> list[Rule]:
    roles = [r for r in find(built(target), "Role", "ml-engineer")
             if r["metadata"]["namespace"] == namespace]  # fmt: skip
    assert len(roles) == 1, f"{target}: no ml-engineer Role in {namespace}"
    return list(roles[0]["rules"])


# -- the evaluator on hand-made rules ------------------------------------------------------
def test_the_evaluator_matches_exact_values_and_wildcards() -> None:
    rules = [{"apiGroups": ["keda.sh"], "resources": ["*"], "verbs": ["get"]}]
    assert allowed(rules, "keda.sh", "scaledobjects", "get")
    assert not allowed(rules, "keda.sh", "scaledobjects", "delete")
    assert not allowed(rules, "http.keda.sh", "httpscaledobjects", "get")
    assert allowed([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], "a", "b", "c")
    named = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": ["x"]}]
    assert not allowed(named, "", "pods", "get")  # only pod x, not any pod


# -- the Role -------------------------------------------------------------------------------
def test_the_commands_touch_only_kinds_of_the_table_in_one_namespace() -> None:
    docs = _rendered()
    kinds = {d["kind"] for d in docs} | {kind for _, kind in OWNED_KINDS}
    assert kinds >= {"InferenceService", "ServingRuntime", "HTTPRoute", "PodMonitor"}
    assert kinds <= set(RESOURCES), f"a new kind needs a row in RESOURCES: {kinds - set(RESOURCES)}"
    assert {d["metadata"]["namespace"] for d in docs} == {SERVING}


@pytest.mark.parametrize("target", ["base", *(f"overlays/{c}" for c in OVERLAYS)])
def test_ml_engineers_may_deploy_and_undeploy_models(target: str) -> None:
    rules = _role(target, SERVING)
    denied = [
        f"{verb} {group}/{resource}"
        for (group, resource), verbs in sorted(needed().items())
        for verb in sorted(verbs)
        if not allowed(rules, group, resource, verb)
    ]
    assert denied == [], f"mlp deploy/undeploy would get 403 in {SERVING}: {denied}"


def test_the_role_grants_nothing_more_in_the_deploy_groups() -> None:
    rules = _role("base", SERVING)
    granted: set[tuple[str, str, str]] = set()
    for rule in rules:
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule
        if set(rule["apiGroups"]) & GROUPS:
            granted |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"]
                        for v in rule["verbs"]}  # fmt: skip
    table = {(g, r, v) for (g, r), verbs in needed().items() for v in verbs}
    assert granted == table
    # and read-only in the core group: pods, logs, services; never Secrets
    core = [r for r in rules if r["apiGroups"] == [""]]
    assert core == [{"apiGroups": [""], "resources": ["pods", "pods/log", "services"],
                     "verbs": ["get", "list", "watch"]}]  # fmt: skip


def test_only_the_serving_namespace_may_deploy_models() -> None:
    for role in find(built("base"), "Role", "ml-engineer"):
        if role["metadata"]["namespace"] != SERVING:
            assert not any(allowed(role["rules"], g, r, "create") for g, r in RESOURCES.values())
