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
    "MODELS",
    "OWNED_KINDS",
    "SERVING_KIND_LABEL",
    "Cluster",
    "ObjectRef",
    "Ownership",
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


@dataclass(frozen=True)
class Ownership:
    """What one kind of deployment owns and how its objects are found.

    Attributes:
        kinds: (apiVersion, kind) it may own, in deletion order.
        kind_label: the label that sets its objects apart: (key, value) for objects that must
            carry it, (key, None) for objects that must not (a predictive model's objects carry
            no ``mlplatform.io/serving-kind``; an LLM's carry ``llm``).
        what: how errors name it ("model", "LLM").
        listed: the resources a hint lists with kubectl.
    """

    kinds: tuple[tuple[str, str], ...]
    kind_label: tuple[str, str | None]
    what: str
    listed: str

    def selector(self, name: str) -> str:
        """The label selector of every object of the deployment ``name``."""
        key, value = self.kind_label
        kind = f"{key}={value}" if value is not None else f"!{key}"
        return f"{MANAGED_BY[0]}={MANAGED_BY[1]},{SERVICE_LABEL}={name},{kind}"

    def owned(self, doc: Mapping[str, Any]) -> bool:
        """Whether a rendered document is an object of such a deployment."""
        labels = doc["metadata"].get("labels", {})
        key, value = self.kind_label
        return (
            SERVICE_LABEL in labels
            and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
            and labels.get(key) == value
        )

    def find(self, name: str, namespace: str, cluster: Cluster) -> list[ObjectRef]:
        """The objects of deployment ``name`` in ``namespace``, in deletion order."""
        return [
            ObjectRef(api_version, kind, namespace, found)
            for api_version, kind in self.kinds
            for found in cluster.find(api_version, kind, namespace, self.selector(name))
        ]

    def planned(self, documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
        """What undeploying would delete of these rendered documents, in deletion order."""
        order = {kind: i for i, (_, kind) in enumerate(self.kinds)}
        refs = [_ref(d) for d in documents if self.owned(d)]
        return sorted(refs, key=lambda r: (order[r.kind], r.name))

    def undeploy(
        self, name: str, namespace: str, cluster: Cluster, *, delete: bool
    ) -> list[ObjectRef]:
        """Find deployment ``name``'s objects and, when ``delete``, delete them in order.

        Raises:
            DeployError: no such deployment by mlp in ``namespace``.
        """
        found = self.find(name, namespace, cluster)
        if not found:
            key, value = self.kind_label
            only = f",{key}={value}" if value is not None else ""
            raise DeployError(
                f"no {self.what} named {name!r} was deployed by mlp in namespace {namespace!r}",
                f"List what mlp deployed with `kubectl get {self.listed} -n {namespace} "
                f"-l {MANAGED_BY[0]}={MANAGED_BY[1]}{only}` and pass one's {SERVICE_LABEL} "
                "label (or --namespace).",
            )
        if delete:
            for ref in found:
                cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
        return found

    def prune(self, documents: Iterable[Mapping[str, Any]], cluster: Cluster) -> list[ObjectRef]:
        """Delete the objects of the rendered deployment that these documents no longer hold."""
        docs = list(documents)
        wanted = self.planned(docs)
        deployments = {
            (d["metadata"]["namespace"], d["metadata"]["labels"][SERVICE_LABEL])
            for d in docs
            if self.owned(d)
        }
        stale = []
        for namespace, name in sorted(deployments):
            stale += [r for r in self.find(name, namespace, cluster) if r not in wanted]
        for ref in stale:
            cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
        return stale

    def refuse_collisions(
        self, documents: Iterable[Mapping[str, Any]], cluster: Cluster, other: Ownership
    ) -> None:
        """Refuse to apply when ``other`` kind of deployment holds one of these names.

        A model and an LLM deployed under one name in one namespace would share object names
        (the HTTPRoute, the PodMonitor): applying one would take the other's over.

        Raises:
            DeployError: naming the deployment in the way and how to clear it.
        """
        for doc in documents:
            if not self.owned(doc):
                continue
            name = doc["metadata"]["labels"][SERVICE_LABEL]
            namespace = doc["metadata"]["namespace"]
            if other.find(name, namespace, cluster):
                command = "llm" if other.kind_label[1] == "llm" else "model"
                raise DeployError(
                    f"{name!r} is already deployed as {_article(other.what)} {other.what} in "
                    f"namespace {namespace!r}; its objects have the same names, nothing was "
                    "applied.",
                    f"Deploy under another name (--name), or take it down first: "
                    f"`mlp undeploy {command} {name} --yes`.",
                )
            return  # one deployment per call: its name is on every document


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOUL" else "a"  # "an LLM", "a model"


# The label that tells an LLM deployment's objects from a predictive model's (llm.deploy sets it)
SERVING_KIND_LABEL = "mlplatform.io/serving-kind"
MODELS = Ownership(OWNED_KINDS, (SERVING_KIND_LABEL, None), "model", "inferenceservices")


def selector(name: str) -> str:
    """The label selector of every object of the model deployment ``name``."""
    return MODELS.selector(name)


def find(name: str, namespace: str, cluster: Cluster) -> list[ObjectRef]:
    """The objects of model deployment ``name`` in ``namespace``, in deletion order."""
    return MODELS.find(name, namespace, cluster)


def planned(documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
    """What undeploying would delete of these rendered documents, in deletion order."""
    return MODELS.planned(documents)


def undeploy(name: str, namespace: str, cluster: Cluster, *, delete: bool) -> list[ObjectRef]:
    """Find model deployment ``name``'s objects and, when ``delete``, delete them in order.

    Raises:
        DeployError: nothing of that name was deployed by mlp in ``namespace``.
    """
    return MODELS.undeploy(name, namespace, cluster, delete=delete)


def prune(documents: Iterable[Mapping[str, Any]], cluster: Cluster) -> list[ObjectRef]:
    """Delete the objects of the rendered model deployment that these documents no longer hold."""
    return MODELS.prune(documents, cluster)


def _ref(doc: Mapping[str, Any]) -> ObjectRef:
    meta = doc["metadata"]
    return ObjectRef(doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"])
