"""Would the API server's RBAC authorizer allow a request? Roles, bindings, wildcards.

Models (https://kubernetes.io/docs/reference/access-authn-authz/rbac/): a request
(verb, API group, resource, namespace, name) by a subject is allowed when any rule of a role
bound to it allows it — RBAC only adds, there are no deny rules. A RoleBinding grants its Role
or ClusterRole's rules in the binding's namespace; a ClusterRoleBinding grants a ClusterRole's
rules in every namespace and for cluster-scoped resources. A rule allows when its apiGroups,
resources and verbs each contain the request's value or ``*``; ``resourceNames``, when set,
must contain the request's name (so a ``create`` or ``list``, which has no name, is not allowed
by a rule with resourceNames). Subresources are ``pods/log``-style and must be named (or
``*``). Aggregated ClusterRoles take the rules of every ClusterRole matching their
``clusterRoleSelectors`` (matchLabels). Subjects: User, Group, and ServiceAccount (which is
also in the groups ``system:serviceaccounts`` and ``system:serviceaccounts:<namespace>``).

Not modelled: nonResourceURLs, impersonation and escalate/bind checks, the built-in default
ClusterRoles unless a test supplies them, webhook or ABAC authorizers, cloud IAM to
Kubernetes mappings (the tests translate those into ClusterRoleBindings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]
ALL = "*"


@dataclass(frozen=True)
class Subject:
    kind: str  # User | Group | ServiceAccount
    name: str
    namespace: str = ""

    def groups(self) -> set[str]:
        if self.kind == "ServiceAccount":
            return {"system:serviceaccounts", f"system:serviceaccounts:{self.namespace}"}
        return set()

    def named_by(self, entry: Mapping[str, Any]) -> bool:
        kind, name = entry.get("kind"), entry.get("name")
        if kind == "Group" and name in self.groups():
            return True
        if kind != self.kind or name != self.name:
            return False
        return kind != "ServiceAccount" or entry.get("namespace") == self.namespace


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str
    namespace: str | None  # None: a cluster-scoped resource
    name: str | None = None


def rule_allows(rule: Mapping[str, Any], request: Request) -> bool:
    names = rule.get("resourceNames") or []
    return (
        _has(rule.get("apiGroups", []), request.group)
        and _has(rule.get("resources", []), request.resource)
        and _has(rule.get("verbs", []), request.verb)
        and (not names or request.name in names)
    )


def _has(values: Iterable[str], wanted: str) -> bool:
    return ALL in values or wanted in values


def _role_rules(docs: list[Doc], kind: str, name: str, namespace: str | None) -> list[Doc]:
    for d in docs:
        meta = d["metadata"]
        if (
            d["kind"] == kind
            and meta["name"] == name
            and (kind == "ClusterRole" or meta.get("namespace") == namespace)
        ):
            return list(d.get("rules") or []) + _aggregated(docs, d)
    return []


def _aggregated(docs: list[Doc], role: Doc) -> list[Doc]:
    selectors = role.get("aggregationRule", {}).get("clusterRoleSelectors", [])
    rules: list[Doc] = []
    for d in docs:
        labels = d["metadata"].get("labels", {})
        if (
            d["kind"] == "ClusterRole"
            and d is not role
            and any(
                all(labels.get(k) == v for k, v in s.get("matchLabels", {}).items())
                for s in selectors
            )
        ):
            rules += d.get("rules") or []
    return rules


def grants(docs: list[Doc], subject: Subject) -> list[tuple[str | None, Doc]]:
    """(namespace, rule) for every rule bound to ``subject``; namespace None: cluster-wide."""
    found: list[tuple[str | None, Doc]] = []
    for b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(subject.named_by(s) for s in b.get("subjects") or []):
            continue
        ref = b["roleRef"]
        namespace = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
        if b["kind"] == "ClusterRoleBinding" and ref["kind"] != "ClusterRole":
            continue
        found += [(namespace, r) for r in _role_rules(docs, ref["kind"], ref["name"], namespace)]
    return found


def allowed(docs: list[Doc], subject: Subject, request: Request) -> bool:
    return any(
        (where is None or where == request.namespace) and rule_allows(rule, request)
        for where, rule in grants(docs, subject)
    )


def expand(docs: list[Doc], subject: Subject) -> set[tuple[str, str, str, str]]:
    """Every (namespace or ``*``, group, resource, verb) granted, wildcards kept as ``*``."""
    return {
        (where or ALL, group, resource, verb)
        for where, rule in grants(docs, subject)
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def resource_of(kind: str) -> str:
    """The lower-case plural a kind is served under (the regular English rules the API uses)."""
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""
