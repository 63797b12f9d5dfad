"""RBAC: each persona can do what its platform commands need, and nothing outside its table.

GIVEN the rendered Roles and bindings of a cloud (overlay, platform-config chart), the Argo CD
chart's controller role and the CI identities' cloud IAM translated into ClusterRoleBindings
WHEN the RBAC authorizer is asked (``_rbac``) THEN every needed request is allowed and every
granted (namespace, group, resource, verb) is in the persona's table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlplatform.llm.catalog import CATALOG
from mlplatform.llm.deploy import KINDS as LLM_KINDS
from mlplatform.llm.deploy import LlmDeployOptions, LlmDeploySpec
from mlplatform.llm.deploy import render as render_llm
from mlplatform.llm.deploy.undeploy import OWNED_KINDS as LLM_OWNED_KINDS
from mlplatform.serving.deploy.undeploy import OWNED_KINDS

from .._tree import module
from ..kubernetes._manifests import built
from ._rbac import Request, Subject, allowed, expand, group_of, resource_of, rule_allows
from ._rendered import CLOUDS, all_docs, chart_docs, deploy_variants, values

Doc = dict[str, Any]
SERVING = "kserve"
READ = ("get", "list", "watch")
MANAGE = ("get", "list", "watch", "create", "update", "patch", "delete")


# ---- the evaluator, on hand-made cases -----------------------------------------------------
def _role(rules: list[dict[str, Any]], kind: str = "Role", name: str = "r", ns: str = "a") -> Doc:
    meta = {"name": name, **({"namespace": ns} if kind == "Role" else {})}
    return {"kind": kind, "metadata": meta, "rules": rules}


def _binding(
    subject: dict[str, Any],
    ref_kind: str = "Role",
    kind: str = "RoleBinding",
    ns: str = "a",
    name: str = "r",
) -> Doc:
    meta = {"name": "b", **({"namespace": ns} if kind == "RoleBinding" else {})}
    return {
        "kind": kind,
        "metadata": meta,
        "subjects": [subject],
        "roleRef": {"kind": ref_kind, "name": name},
    }


USER = {"kind": "User", "name": "ann"}
ANN = Subject("User", "ann")


def test_a_wildcard_rule_allows_every_group_resource_and_verb() -> None:
    star = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
    assert rule_allows(star, Request("delete", "apps", "deployments", "a"))
    assert not rule_allows({**star, "verbs": ["get"]}, Request("delete", "apps", "x", "a"))


def test_resource_names_restrict_named_requests_and_refuse_create_and_list() -> None:
    rule = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["*"],
        "resourceNames": ["cfg"],
    }
    assert rule_allows(rule, Request("get", "", "configmaps", "a", "cfg"))
    assert not rule_allows(rule, Request("get", "", "configmaps", "a", "other"))
    assert not rule_allows(rule, Request("create", "", "configmaps", "a"))


def test_a_role_binding_grants_only_in_its_namespace_a_cluster_binding_everywhere() -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    docs = [_role([rule], "ClusterRole"), _binding(USER, "ClusterRole")]
    assert allowed(docs, ANN, Request("get", "", "pods", "a"))
    assert not allowed(docs, ANN, Request("get", "", "pods", "b"))
    docs = [_role([rule], "ClusterRole"), _binding(USER, "ClusterRole", "ClusterRoleBinding")]
    assert allowed(docs, ANN, Request("get", "", "pods", "b"))


def test_subresources_must_be_named() -> None:
    docs = [_role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]), _binding(USER)]
    assert not allowed(docs, ANN, Request("get", "", "pods/log", "a"))


def test_service_accounts_match_by_namespace_and_their_groups() -> None:
    sa = Subject("ServiceAccount", "runner", "argo")
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    other_ns = {"kind": "ServiceAccount", "name": "runner", "namespace": "mlops"}
    assert not allowed([_role([rule]), _binding(other_ns)], sa, Request("get", "", "pods", "a"))
    group = {"kind": "Group", "name": "system:serviceaccounts:argo"}
    assert allowed([_role([rule]), _binding(group)], sa, Request("get", "", "pods", "a"))


def test_an_aggregated_cluster_role_takes_the_rules_it_selects() -> None:
    part = _role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], "ClusterRole", "p")
    part["metadata"]["labels"] = {"aggregate-to-x": "true"}
    whole = _role([], "ClusterRole", "x")
    whole["aggregationRule"] = {
        "clusterRoleSelectors": [{"matchLabels": {"aggregate-to-x": "true"}}]
    }
    docs = [part, whole, _binding(USER, "ClusterRole", "ClusterRoleBinding", name="x")]
    assert allowed(docs, ANN, Request("get", "", "pods", "z"))


def test_kind_to_resource_plural() -> None:
    assert [resource_of(k) for k in ("NetworkPolicy", "Ingress", "HTTPRoute", "PodMonitor")] == [
        "networkpolicies",
        "ingresses",
        "httproutes",
        "podmonitors",
    ]


# ---- personas -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Persona:
    """Who, what the platform's commands need (must be allowed), and what else it may hold."""

    name: str
    subject: Subject
    needs: tuple[Request, ...]
    may: frozenset[tuple[str, str, str, str]] = field(default_factory=frozenset)
    unbounded: bool = False  # cluster-admin by design: only the needs are checked


def _grant(
    ns: str, group: str, resources: Iterable[str], verbs: Iterable[str]
) -> set[tuple[str, str, str, str]]:
    return {(ns, group, r, v) for r in resources for v in verbs}


def _deploy_kinds(cloud: str) -> set[tuple[str, str]]:
    """(group, resource) of every kind `mlp deploy model` applies, in any variant."""
    return {
        (group_of(d["apiVersion"]), resource_of(d["kind"]))
        for docs in deploy_variants(cloud).values()
        if not isinstance(docs, str)
        for d in docs
    }


def _llm_kinds(cloud: str) -> set[tuple[str, str]]:
    """(group, resource) of every kind `mlp deploy llm` applies, for each of its kinds."""
    model = CATALOG["tinyllama-1.1b"]
    found: set[tuple[str, str]] = set()
    for kind in LLM_KINDS:
        options = LlmDeployOptions(cloud=cloud, kind=kind, owner="ml-team", concurrency=8)
        spec = LlmDeploySpec(
            model, options, registered=model.key, version=3, alias="champion",
            run_id="6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5", experiment_id="1",
        )  # fmt: skip
        found |= {(group_of(d["apiVersion"]), resource_of(d["kind"])) for d in render_llm(spec)}
    return found


def _owned_kinds() -> set[tuple[str, str]]:
    """(group, resource) of what `mlp undeploy model` and `mlp undeploy llm` list and delete
    (not the shared ServingRuntime)."""
    return {(group_of(v), resource_of(k)) for v, k in (*OWNED_KINDS, *LLM_OWNED_KINDS)}


def ml_engineer(cloud: str) -> Persona:
    kinds, owned = _deploy_kinds(cloud) | _llm_kinds(cloud), _owned_kinds()
    deploy = [Request(v, g, r, SERVING, "churn") for g, r in kinds for v in ("get", "patch")]
    deploy += [Request("create", g, r, SERVING) for g, r in kinds]
    undeploy = [Request("list", g, r, SERVING) for g, r in owned]
    undeploy += [Request("delete", g, r, SERVING, "churn") for g, r in owned]
    submit = [Request(v, "argoproj.io", "workflows", "argo") for v in ("create", "get", "list")]
    may = _grant(SERVING, "keda.sh", ["scaledobjects"], MANAGE)  # a KEDA deploy may render one
    for g, r in kinds:  # the deploy kinds, in the serving namespace
        may |= _grant(SERVING, g, [r], ("get", "list", "watch", "create", "update", "patch"))
    for g, r in owned:  # and what undeploy deletes
        may |= _grant(SERVING, g, [r], ("list", "delete"))
    may |= _grant(SERVING, "", ["pods", "pods/log", "services"], READ)
    may |= _grant(
        "argo", "argoproj.io", ["workflows", "workflowtemplates", "cronworkflows"], MANAGE
    )
    may |= _grant("argo", "", ["pods", "pods/log"], READ)
    may |= _grant("mlops", "batch", ["jobs", "cronjobs"], MANAGE)
    may |= _grant("mlops", "", ["pods", "pods/log", "configmaps"], READ)
    may |= _grant("mlflow", "", ["pods", "pods/log"], READ)
    return Persona(
        "ml-engineer",
        Subject("Group", "mlplatform:ml-engineers"),
        tuple(deploy + undeploy + submit),
        frozenset(may),
    )


def pipeline_pods(cloud: str) -> Persona:
    """Argo's executor in a step pod reports outputs as WorkflowTaskResults (Argo >= 3.4:
    create and patch, nothing else; https://argo-workflows.readthedocs.io/en/latest/workflow-rbac/)."""
    vals = values("platform-config", cloud)
    sa = (vals.get("pipelines") or {}).get("serviceAccountName", "mlplatform-pipelines")
    needs = tuple(
        Request(v, "argoproj.io", "workflowtaskresults", "argo") for v in ("create", "patch")
    )
    may = _grant("argo", "argoproj.io", ["workflowtaskresults"], ("create", "patch"))
    return Persona("pipeline pods", Subject("ServiceAccount", sa, "argo"), needs, frozenset(may))


ARGOCD_CONTROLLER = Subject("ServiceAccount", "argocd-application-controller", "argocd")


def argocd_role(cloud: str) -> list[Doc]:
    """The argo-cd chart's controller ClusterRole: everything (``*``) unless the values set
    ``controller.clusterRoleRules.enabled`` with their own rules."""
    custom = (values("argo-cd", cloud).get("controller") or {}).get("clusterRoleRules") or {}
    star: list[dict[str, Any]] = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    rules: list[dict[str, Any]] = list(custom.get("rules") or []) if custom.get("enabled") else star
    role = _role(rules, "ClusterRole", "argocd-application-controller")
    sa = {"kind": "ServiceAccount", "name": ARGOCD_CONTROLLER.name, "namespace": "argocd"}
    return [
        role,
        _binding(sa, "ClusterRole", "ClusterRoleBinding", name="argocd-application-controller"),
    ]


def argocd(cloud: str) -> Persona:
    needs = []
    for d in built(f"overlays/{cloud}"):
        ns = d["metadata"].get("namespace")
        group, resource = group_of(d["apiVersion"]), resource_of(d["kind"])
        needs += [
            Request(v, group, resource, ns, d["metadata"]["name"])
            for v in ("get", "patch", "delete")
        ]
        needs += [Request(v, group, resource, ns) for v in ("create", "list", "watch")]
    return Persona("Argo CD", ARGOCD_CONTROLLER, tuple(needs), unbounded=True)


# CI identities: cloud IAM that reaches into the cluster, as the Kubernetes rules it maps to.
CLUSTER_ADMIN = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
IAM_TO_RBAC = {
    "AmazonEKSClusterAdminPolicy": CLUSTER_ADMIN,
    "Azure Kubernetes Service RBAC Cluster Admin": CLUSTER_ADMIN,
    "roles/container.admin": CLUSTER_ADMIN,
    "roles/container.developer": [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(MANAGE)}],
    "roles/container.viewer": [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(READ)}],
}  # roles not listed (ReadOnlyAccess, Reader, Contributor, container.clusterViewer) reach no object


def ci_iam(cloud: str) -> dict[str, list[str]]:
    """The IAM roles each CI identity holds, read from Terraform."""
    if cloud == "aws":
        # the apply role is the cluster creator (creator admin on) or one of
        # cluster_admin_role_arns, whose access entries carry the cluster admin policy
        eks = module("modules/eks").text()
        creator = "enable_cluster_creator_admin_permissions" in eks and (
            "cluster-access-policy/AmazonEKSClusterAdminPolicy" in eks
        )
        attached = [
            b["policy_arn"].rsplit("/", 1)[-1]
            for (t, n), b in module("bootstrap/aws").resources().items()
            if t == "aws_iam_role_policy_attachment" and "plan" in b["role"]
        ]
        return {"plan": attached, "apply": ["AmazonEKSClusterAdminPolicy"] if creator else []}
    if cloud == "azure":
        found: dict[str, list[str]] = {"plan": [], "apply": []}
        for (t, _), b in module("bootstrap/azure").resources().items():
            for who in found:
                if t == "azurerm_role_assignment" and f'ci["{who}"]' in str(b.get("principal_id")):
                    found[who].append(b["role_definition_name"])
        # modules/aks grants Cluster Admin to cluster_admin_principal_ids: the apply identity
        aks = module("modules/aks").text()
        if "Azure Kubernetes Service RBAC Cluster Admin" in aks:
            found["apply"].append("Azure Kubernetes Service RBAC Cluster Admin")
        return found
    roles = {}
    for _, block in module("bootstrap/gcp").blocks("locals"):
        roles.update(
            {k[: -len("_roles")]: v for k, v in block.items() if k in ("plan_roles", "apply_roles")}
        )
    return roles


def ci_docs(cloud: str) -> list[Doc]:
    docs: list[Doc] = []
    for who, roles in ci_iam(cloud).items():
        for role in roles:
            if role in IAM_TO_RBAC:
                name = f"ci-{who}-{role}"
                docs += [
                    _role(IAM_TO_RBAC[role], "ClusterRole", name),
                    _binding(
                        {"kind": "User", "name": f"ci-{who}"},
                        "ClusterRole",
                        "ClusterRoleBinding",
                        name=name,
                    ),
                ]
    return docs


def ci_apply(cloud: str) -> Persona:
    """terraform apply of the platform root: Helm installs CRDs, cluster roles, webhooks."""
    needs = [
        Request(v, g, r, None)
        for v in ("create", "patch", "delete", "get")
        for g, r in [
            ("apiextensions.k8s.io", "customresourcedefinitions"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ]
    ]
    needs += [Request(v, "", "secrets", "kserve") for v in ("create", "list")]  # Helm storage
    return Persona("CI apply", Subject("User", "ci-apply"), tuple(needs), unbounded=True)


def ci_plan(cloud: str) -> Persona:
    """terraform plan runs on the cluster roots only (infrastructure/Makefile.mk tf-plan): it
    needs nothing inside a cluster, and must hold nothing there."""
    return Persona("CI plan", Subject("User", "ci-plan"), ())


PERSONAS = (ml_engineer, pipeline_pods, argocd, ci_apply, ci_plan)


def rbac_docs(cloud: str) -> list[Doc]:
    rbac = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    docs = [d for d in [*all_docs(cloud), *chart_docs(cloud)] if d["kind"] in rbac]
    return docs + argocd_role(cloud) + ci_docs(cloud)


def _cases() -> list[tuple[str, str]]:
    return [(c, p.__name__) for c in CLOUDS for p in PERSONAS]


def _persona(name: str, cloud: str) -> Persona:
    factory = {p.__name__: p for p in PERSONAS}[name]
    return factory(cloud)


@pytest.mark.parametrize(("cloud", "persona"), _cases())
def test_every_needed_request_is_allowed(cloud: str, persona: str) -> None:
    p = _persona(persona, cloud)
    docs = rbac_docs(cloud)
    missing = sorted(
        {
            (r.namespace or "(cluster)", r.group, r.resource, r.verb)
            for r in p.needs
            if not allowed(docs, p.subject, r)
        }
    )
    assert missing == [], (
        f"{p.name} on {cloud} is refused (namespace, group, resource, verb): {missing}"
    )


@pytest.mark.parametrize(("cloud", "persona"), _cases())
def test_nothing_outside_the_table_is_granted(cloud: str, persona: str) -> None:
    p = _persona(persona, cloud)
    granted = expand(rbac_docs(cloud), p.subject)
    if p.unbounded:
        assert granted, f"{p.name} holds nothing"
        return
    extra = sorted(g for g in granted if g not in p.may)
    assert extra == [], f"{p.name} on {cloud} holds more than its table: {extra}"


def test_the_tables_are_not_vacuous() -> None:
    """Each bounded persona's needs are requests someone makes (a test that can fail)."""
    assert ml_engineer("aws").needs
    assert pipeline_pods("aws").needs
    assert argocd("aws").needs
    assert {
        ("serving.kserve.io", "servingruntimes"),
        ("gateway.networking.k8s.io", "httproutes"),
        ("monitoring.coreos.com", "podmonitors"),
    } <= _deploy_kinds("aws")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_argo_cd_may_sync_every_cluster_scoped_kind_it_is_given(cloud: str) -> None:
    """Argo CD's own authorizer: an AppProject syncs cluster-scoped kinds only when its
    ``clusterResourceWhitelist`` lists them (group and kind, ``*`` allowed)."""
    docs = built(f"overlays/{cloud}")
    (project,) = [d for d in docs if d["kind"] == "AppProject"]
    listed = project["spec"].get("clusterResourceWhitelist", [])
    scoped = {
        (group_of(d["apiVersion"]), d["kind"]) for d in docs if not d["metadata"].get("namespace")
    }
    refused = sorted(
        (g, k)
        for g, k in scoped
        if not any(e["group"] in (g, "*") and e["kind"] in (k, "*") for e in listed)
    )
    assert scoped
    assert refused == []
