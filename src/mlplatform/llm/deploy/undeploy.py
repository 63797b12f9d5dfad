"""Take an LLM down: find what ``mlp deploy llm`` applied for it, and delete exactly that.

Every object of an LLM deployment, each version's workload included, carries
``app.kubernetes.io/managed-by: mlp``, ``mlplatform.io/inference-service: <name>`` (as a
predictive model's do) and ``mlplatform.io/serving-kind: llm`` (``render``), so a predictive
model of the same name is never taken for it; each kind a deployment can own is listed in the
namespace with that selector. What KServe and KEDA made from these objects (the
Deployments, Services, the HPA of a ScaledObject) goes with them through owner references.

The same listing prunes a deployment after ``mlp deploy llm`` applied it: objects of that
deployment no longer rendered (the canary's workload after a promotion, the scalers of a model
that no longer scales) are deleted, so a stale canary keeps no GPU and two scalers never
target one Deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlplatform.errors import DeployError
from mlplatform.serving.deploy.render import MANAGED_BY, SERVICE_LABEL
from mlplatform.serving.deploy.undeploy import Cluster, ObjectRef
from mlplatform.serving.deploy.undeploy import selector as model_selector

__all__ = ["LLM_LABEL", "OWNED_KINDS", "find", "planned", "prune", "selector", "undeploy"]

LLM_LABEL = ("mlplatform.io/serving-kind", "llm")

# What one LLM deployment can own, in deletion order: traffic and scalers first, the
# workloads last (a request still routed finds a model, not a missing Service).
OWNED_KINDS: tuple[tuple[str, str], ...] = (
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("http.keda.sh/v1alpha1", "HTTPScaledObject"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("serving.kserve.io/v1alpha2", "LLMInferenceService"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
)
_ORDER = {kind: i for i, (_, kind) in enumerate(OWNED_KINDS)}


def selector(name: str) -> str:
    """The label selector of every object of the LLM deployment ``name``."""
    return f"{model_selector(name)},{LLM_LABEL[0]}={LLM_LABEL[1]}"


def find(name: str, namespace: str, cluster: Cluster) -> list[ObjectRef]:
    """The objects of LLM deployment ``name`` in ``namespace``, in deletion order."""
    return [
        ObjectRef(api_version, kind, namespace, found)
        for api_version, kind in OWNED_KINDS
        for found in cluster.find(api_version, kind, namespace, selector(name))
    ]


def planned(documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
    """What undeploying would delete of these rendered documents, in deletion order."""
    refs = [_ref(d) for d in documents if _owned(d)]
    return sorted(refs, key=lambda r: (_ORDER[r.kind], r.name))


def undeploy(name: str, namespace: str, cluster: Cluster, *, delete: bool) -> list[ObjectRef]:
    """Find LLM deployment ``name``'s objects and, when ``delete``, delete them in order.

    Raises:
        DeployError: nothing of that name was deployed by mlp in ``namespace``.
    """
    found = find(name, namespace, cluster)
    if not found:
        raise DeployError(
            f"no LLM named {name!r} was deployed by mlp in namespace {namespace!r}",
            f"List them with `kubectl get llminferenceservices,inferenceservices -n {namespace} "
            f"-l {LLM_LABEL[0]}={LLM_LABEL[1]}` and pass one's "
            f"{SERVICE_LABEL} label (or --namespace).",
        )
    if delete:
        for ref in found:
            cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
    return found


def prune(documents: Iterable[Mapping[str, Any]], cluster: Cluster) -> list[ObjectRef]:
    """Delete the objects of the rendered deployment that these documents no longer hold."""
    docs = list(documents)
    wanted = planned(docs)
    deployments = {
        (d["metadata"]["namespace"], d["metadata"]["labels"][SERVICE_LABEL])
        for d in docs
        if _owned(d)
    }
    stale = []
    for namespace, name in sorted(deployments):
        stale += [r for r in find(name, namespace, cluster) if r not in wanted]
    for ref in stale:
        cluster.delete(ref.api_version, ref.kind, ref.namespace, ref.name)
    return stale


def _owned(doc: Mapping[str, Any]) -> bool:
    labels = doc["metadata"].get("labels", {})
    return (
        SERVICE_LABEL in labels
        and labels.get(MANAGED_BY[0]) == MANAGED_BY[1]
        and labels.get(LLM_LABEL[0]) == LLM_LABEL[1]
    )


def _ref(doc: Mapping[str, Any]) -> ObjectRef:
    meta = doc["metadata"]
    return ObjectRef(doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"])
