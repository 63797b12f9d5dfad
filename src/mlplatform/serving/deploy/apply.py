"""Apply rendered documents to a cluster (server-side apply, field manager ``mlp``), and find
and delete what was applied (``mlp undeploy``, and the pruning after a deploy).

The ``kubernetes`` client is imported when a cluster is first used; its dynamic client finds
each kind's endpoint by discovery, so a missing CRD (no KServe, no Gateway API) is reported as
such. Not exercised against a real API server here (docs/serving-kubernetes.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from mlplatform.errors import DeployError

__all__ = ["FIELD_MANAGER", "Applier", "KubernetesApplier", "apply_all"]

NOT_FOUND = 404

FIELD_MANAGER = "mlp"


class Applier(Protocol):
    """Something that applies one document and names what it applied."""

    def apply(self, document: Mapping[str, Any]) -> str: ...


class KubernetesApplier:
    """Server-side apply through ``kubernetes.dynamic``.

    Args:
        context: the kubeconfig context (default: the current one, or in-cluster config).
        force_conflicts: take over fields another manager owns (``kubectl --force-conflicts``).
        client: a ``kubernetes.dynamic.DynamicClient``; made from the kubeconfig when ``None``.
    """

    def __init__(
        self, context: str | None = None, *, force_conflicts: bool = False, client: Any = None
    ) -> None:
        self.context = context
        self.force_conflicts = force_conflicts
        self._client = client

    def apply(self, document: Mapping[str, Any]) -> str:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        kind, api_version = document["kind"], document["apiVersion"]
        meta = document["metadata"]
        what = f"{kind}/{meta.get('namespace', '-')}/{meta['name']}"
        client = self.client()
        try:
            resource = client.resources.get(api_version=api_version, kind=kind)
            client.server_side_apply(
                resource,
                body=dict(document),
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=self.force_conflicts,
            )
        except ResourceNotFoundError as exc:
            raise DeployError(
                f"the cluster does not serve {kind} ({api_version})",
                "Install the platform first (KServe, Gateway API and Prometheus Operator CRDs).",
            ) from exc
        except ApiException as exc:
            raise _refused(what, exc) from exc
        return what

    def find(self, api_version: str, kind: str, namespace: str, selector: str) -> list[str]:
        """The names of the ``kind`` objects in ``namespace`` that match the label
        ``selector``; none when the cluster does not serve ``kind`` (so none can exist)."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        client = self.client()
        try:
            resource = client.resources.get(api_version=api_version, kind=kind)
            found = client.get(resource, namespace=namespace, label_selector=selector)
        except ResourceNotFoundError:
            return []
        except ApiException as exc:
            raise _refused(f"listing {kind} in {namespace}", exc) from exc
        return sorted(str(item["metadata"]["name"]) for item in found.to_dict()["items"])

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> str:
        """Delete one object (foreground: what KServe made for it goes first); one that is
        already gone counts as deleted."""
        from kubernetes.client.exceptions import ApiException

        what = f"{kind}/{namespace}/{name}"
        client = self.client()
        resource = client.resources.get(api_version=api_version, kind=kind)
        try:
            client.delete(resource, name=name, namespace=namespace, propagation_policy="Foreground")
        except ApiException as exc:
            if exc.status != NOT_FOUND:
                raise _refused(what, exc) from exc
        return what

    def client(self) -> Any:
        """The dynamic client, made on first use from the kubeconfig or in-cluster config."""
        if self._client is None:
            from kubernetes import client, config, dynamic

            try:
                config.load_kube_config(context=self.context)
            except config.ConfigException:
                try:
                    config.load_incluster_config()
                except config.ConfigException as exc:
                    raise DeployError(
                        "no Kubernetes cluster is configured",
                        "Set KUBECONFIG (or --context), or pass --dry-run to print the YAML.",
                    ) from exc
            self._client = dynamic.DynamicClient(client.ApiClient())
        return self._client


def apply_all(documents: Iterable[Mapping[str, Any]], applier: Applier) -> list[str]:
    """Apply each document in order; the ``Kind/namespace/name`` of each one applied."""
    return [applier.apply(doc) for doc in documents]


def _refused(what: str, exc: Any) -> DeployError:
    return DeployError(
        f"the cluster refused {what}: {exc.status} {exc.reason}",
        "Read the message above (403: ask for the ml-engineer Role in the serving namespace); "
        "--dry-run prints what would be changed.",
        details=str(getattr(exc, "body", "") or ""),
    )
