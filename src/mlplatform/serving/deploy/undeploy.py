"""Take a model down: find what ``mlp deploy model`` applied for it, and delete exactly that.

Every object a deployment owns carries ``app.kubernetes.io/managed-by: mlp`` and
``mlplatform.io/inference-service: <name>`` (``render``); each kind that a deployment can own
is listed in the serving namespace with that label selector. The ServingRuntime is shared by
every model of the namespace and is never deleted. What KServe and the KEDA HTTP add-on made
from these objects (Deployments, Services, HPAs, ScaledObjects) goes with them: they are owned
by the InferenceService or the HTTPScaledObject.

The same listing prunes a deployment: after ``mlp deploy model`` applied its documents, objects
of that deployment that were not rendered this time (the HTTPScaledObject of a model that no
longer scales to zero) are deleted, so two scalers never target one Deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mlplatform.errors import DeployError
from mlplatform.serving.deploy.render import MANAGED_BY, SERVICE_LABEL

__all__ = [
    "OWNED_KINDS",
    "Cluster",
    "ObjectRef",
    "find",
    "planned",
    "prune",
    "selector",
    "undeploy",
]

# What one deployment can own, in deletion order: traffic first, the service last.
OWNED_KINDS: tuple[tuple[str, str], ...] = (
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("http.keda.sh/v1alpha1", "HTTPScaledObject"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
)


class Cluster(Protocol):
    """What undeploying needs of a cluster (``KubernetesApplier`` is one)."""

    def find(self, api_version: str, kind: str, namespace: str, selector: str) -> list[str]: ...

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> str: ...


@dataclass(frozen=True, order=True)
class ObjectRef:
    """One object: what is listed, planned and deleted."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


def selector(name: str) -> str:
    """The label selector of every object of the deployment ``name``."""
    return f"{MANAGED_BY[0]}={MANAGED_BY[1]},{SERVICE_LABEL}={name}"


def find(name: str, namespace: str, cluster: Cluster) -> list[ObjectRef]:
    """The objects of deployment ``name`` in ``namespace``, in deletion order."""
    return [
        ObjectRef(api_version, kind, namespace, found)
        for api_version, kind in OWNED_KINDS
        for found in cluster.find(api_version, kind, namespace, selector(name))
    ]


def planned(documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
    """What undeploying would delete of these rendered documents, in deletion order."""
    order = {kind: i for i, (_, kind) in enumerate(OWNED_KINDS)}
    refs = [_ref(d) for d in documents if _owned(d)]
    return sorted(refs, key=lambda r: order[r.kind])


def undeploy(name: str, namespace: str, cluster: Cluster, *, delete: bool) -> list[ObjectRef]:
    """Find deployment ``name``'s objects and, when ``delete``, delete them in order.

    Raises:
        DeployError: nothing of that name was deployed by mlp in ``namespace``.
    """
    found = find(name, namespace, cluster)
    if not found:
        raise DeployError(
            f"nothing named {name!r} was deployed by mlp in namespace {namespace!r}",
            f"List what mlp deployed with `kubectl get inferenceservices -n {namespace} "
            f"-l {MANAGED_BY[0]}={MANAGED_BY[1]}` and pass one of those names "
            "(or --namespace).",
        )
    if delete:
        for ref in found:
            cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
    return found


def prune(documents: Iterable[Mapping[str, Any]], cluster: Cluster) -> list[ObjectRef]:
    """Delete the objects of the rendered deployment that these documents no longer hold."""
    wanted = planned(documents)
    names = {(r.namespace, r.name) for r in wanted if r.kind == "InferenceService"}
    stale = []
    for namespace, name in sorted(names):
        stale += [r for r in find(name, namespace, cluster) if r not in wanted]
    for ref in stale:
        cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
    return stale


def _owned(doc: Mapping[str, Any]) -> bool:
    labels = doc["metadata"].get("labels", {})
    return SERVICE_LABEL in labels and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]


def _ref(doc: Mapping[str, Any]) -> ObjectRef:
    meta = doc["metadata"]
    return ObjectRef(doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"])
