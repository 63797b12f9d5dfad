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

from mlplatform.serving.deploy.undeploy import SERVING_KIND_LABEL, Cluster, ObjectRef, Ownership

__all__ = ["LLMS", "LLM_LABEL", "OWNED_KINDS", "find", "planned", "prune", "selector", "undeploy"]

LLM_LABEL = (SERVING_KIND_LABEL, "llm")

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
LLMS = Ownership(OWNED_KINDS, LLM_LABEL, "LLM", "llminferenceservices,inferenceservices")


def selector(name: str) -> str:
    """The label selector of every object of the LLM deployment ``name``."""
    return LLMS.selector(name)


def find(name: str, namespace: str, cluster: Cluster) -> list[ObjectRef]:
    """The objects of LLM deployment ``name`` in ``namespace``, in deletion order."""
    return LLMS.find(name, namespace, cluster)


def planned(documents: Iterable[Mapping[str, Any]]) -> list[ObjectRef]:
    """What undeploying would delete of these rendered documents, in deletion order."""
    return LLMS.planned(documents)


def undeploy(name: str, namespace: str, cluster: Cluster, *, delete: bool) -> list[ObjectRef]:
    """Find LLM deployment ``name``'s objects and, when ``delete``, delete them in order.

    Raises:
        DeployError: nothing of that name was deployed by mlp in ``namespace``.
    """
    return LLMS.undeploy(name, namespace, cluster, delete=delete)


def prune(documents: Iterable[Mapping[str, Any]], cluster: Cluster) -> list[ObjectRef]:
    """Delete the objects of the rendered deployment that these documents no longer hold."""
    return LLMS.prune(documents, cluster)
