"""Would the Gateway API accept a route's backend references? ReferenceGrant, as specified.

Models (https://gateway-api.sigs.k8s.io/api-types/referencegrant/, Gateway API v1.6.1):
- a route's backend reference is ``spec.rules[].backendRefs[]`` and the ``backendRef`` of a
  rule's ``RequestMirror`` filter; ``group`` defaults to ``""`` (core), ``kind`` to
  ``Service``, ``namespace`` to the route's own;
- a reference within the route's namespace needs no grant;
- a reference into another namespace is permitted when a ReferenceGrant *in that namespace*
  has a ``from`` entry equal to the route's (group, kind, namespace) and a ``to`` entry equal
  to the target's (group, kind) whose ``name`` is absent (every object of that kind) or the
  target's name. Entries of one list are ORed; grants add up, nothing denies.

Envoy Gateway's ``EnvoyExtensionPolicy`` (v1.9) refers to the Services (or Envoy Gateway
Backends) of its ``extProc`` entries through ``backendRefs`` the same way, and needs the same
grant across namespaces (``from`` group ``gateway.envoyproxy.io``, kind
``EnvoyExtensionPolicy``): ``extension_refs``. A Backend's own FQDN endpoints are not
references and need no grant.

Not modelled: parentRefs (a Gateway admits routes by its listeners' ``allowedRoutes``, not by
grants), Gateways' ``certificateRefs`` to Secrets, filter-level ``backendRefs`` of
``ExtensionRef`` filters, and whether the target exists (``_rendered`` checks that apart).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Doc = Mapping[str, Any]
ROUTE_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Reference:
    """A route (group, kind, namespace, name) referring to a target (group, kind, ns, name)."""

    from_group: str
    from_kind: str
    from_namespace: str
    route: str
    group: str
    kind: str
    namespace: str
    name: str
    port: int | None = None

    @property
    def crosses(self) -> bool:
        return self.namespace != self.from_namespace

    def __str__(self) -> str:
        return (
            f"{self.from_kind} {self.from_namespace}/{self.route} -> "
            f"{self.kind or 'Service'} {self.namespace}/{self.name}"
        )


def backend_refs(route: Doc) -> Iterator[Reference]:
    """Every backend reference of a route (rules' backendRefs and RequestMirror filters)."""
    meta = route["metadata"]
    namespace = meta.get("namespace", "default")
    group = route["apiVersion"].split("/")[0]
    for rule in route.get("spec", {}).get("rules", []):
        refs = list(rule.get("backendRefs", []))
        refs += [
            f["requestMirror"]["backendRef"]
            for f in rule.get("filters", [])
            if f.get("type") == "RequestMirror" and "requestMirror" in f
        ]
        for ref in refs:
            yield Reference(
                group,
                route["kind"],
                namespace,
                meta["name"],
                ref.get("group", ""),
                ref.get("kind", "Service"),
                ref.get("namespace", namespace),
                ref["name"],
                ref.get("port"),
            )


def extension_refs(policy: Doc) -> Iterator[Reference]:
    """Every backend reference of an EnvoyExtensionPolicy's ``extProc`` entries."""
    meta = policy["metadata"]
    namespace = meta.get("namespace", "default")
    group = policy["apiVersion"].split("/")[0]
    for ext in policy.get("spec", {}).get("extProc", []):
        for ref in ext.get("backendRefs", []):
            yield Reference(
                group,
                policy["kind"],
                namespace,
                meta["name"],
                ref.get("group", ""),
                ref.get("kind", "Service"),
                ref.get("namespace", namespace),
                ref["name"],
                ref.get("port"),
            )


def grants(grant: Doc, ref: Reference) -> bool:
    """Whether this one ReferenceGrant permits ``ref``."""
    if grant["metadata"].get("namespace", "default") != ref.namespace:
        return False
    spec = grant.get("spec", {})
    source = any(
        f.get("group", "") == ref.from_group
        and f.get("kind") == ref.from_kind
        and f.get("namespace") == ref.from_namespace
        for f in spec.get("from", [])
    )
    target = any(
        t.get("group", "") == ref.group
        and t.get("kind") == ref.kind
        and t.get("name") in (None, "", ref.name)
        for t in spec.get("to", [])
    )
    return source and target


def permitted(grant_docs: Iterable[Doc], ref: Reference) -> bool:
    """Whether the Gateway API resolves ``ref`` (same namespace, or granted)."""
    return not ref.crosses or any(grants(g, ref) for g in grant_docs)
