"""A stand-in for ``kubernetes.dynamic.DynamicClient`` that keeps objects in a dict.

No API server runs here. This fake answers the four calls ``KubernetesApplier`` makes the way
the dynamic client does: discovery by apiVersion and kind (``ResourceNotFoundError`` for a kind
the cluster does not serve), server-side apply, a list with a label selector (equality terms
and ``!key``, comma-separated: all the platform uses), and delete (404 for an object that is
not there).
It records every call, so tests can assert exactly what was asked of the cluster.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str


class Listed:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items}


class FakeCluster:
    """Objects by (apiVersion, kind, namespace, name); ``calls`` as (verb, what)."""

    def __init__(self, *, served: set[str] | None = None, forbid: str | None = None) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.served, self.forbid = served, forbid
        self.resources = self

    def get(self, resource: Resource | None = None, *, api_version: str = "", kind: str = "",
            namespace: str = "", label_selector: str = "", **_: Any) -> Any:  # fmt: skip
        if resource is None:  # discovery: client.resources.get(api_version=..., kind=...)
            if self.served is not None and kind not in self.served:
                raise ResourceNotFoundError(f"No matches found for {api_version} {kind}")
            return Resource(api_version, kind)
        self._check("list", resource.kind)
        self.calls.append(("list", f"{resource.kind}/{namespace}?{label_selector}"))
        terms = [term for term in label_selector.split(",") if term]
        wanted = dict(term.split("=", 1) for term in terms if not term.startswith("!"))
        absent = {term[1:] for term in terms if term.startswith("!")}  # set-based: key absent
        return Listed(
            [
                copy.deepcopy(doc)
                for (av, kind, ns, _), doc in sorted(self.objects.items())
                if (av, kind, ns) == (resource.api_version, resource.kind, namespace)
                and wanted.items() <= doc["metadata"].get("labels", {}).items()
                and not absent & doc["metadata"].get("labels", {}).keys()
            ]
        )

    def server_side_apply(self, resource: Resource, *, body: dict[str, Any], namespace: str,
                          **_: Any) -> None:  # fmt: skip
        self._check("patch", resource.kind)
        name = body["metadata"]["name"]
        self.calls.append(("apply", f"{resource.kind}/{namespace}/{name}"))
        key = (resource.api_version, resource.kind, namespace, name)
        self.objects[key] = copy.deepcopy(body)

    def delete(self, resource: Resource, *, name: str, namespace: str, **_: Any) -> None:
        self._check("delete", resource.kind)
        self.calls.append(("delete", f"{resource.kind}/{namespace}/{name}"))
        key = (resource.api_version, resource.kind, namespace, name)
        if key not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        del self.objects[key]

    def add(self, doc: dict[str, Any]) -> None:
        """An object someone else made (not through apply)."""
        meta = doc["metadata"]
        key = (doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"])
        self.objects[key] = copy.deepcopy(doc)

    def names(self) -> list[str]:
        return sorted(f"{kind}/{ns}/{name}" for _, kind, ns, name in self.objects)

    def _check(self, verb: str, kind: str) -> None:
        if self.forbid == f"{verb} {kind}":
            raise ApiException(status=403, reason="Forbidden")
