"""Would the scheduler place a pod on a node pool? Taints, selectors, affinity and requests.

Models (https://kubernetes.io/docs/concepts/scheduling-eviction/):
- taints and tolerations: a pool's ``NoSchedule``/``NoExecute`` taints must each be tolerated
  (``PreferNoSchedule`` never blocks); a toleration matches on key (empty key with ``Exists``
  matches every key), operator ``Equal`` (value equal, the default) or ``Exists`` (any value),
  and effect (empty effect matches every effect);
- ``nodeSelector``: every pair must be a label of the pool's nodes;
- required node affinity: the terms are ORed, the expressions of a term ANDed, operators
  ``In``, ``NotIn``, ``Exists``, ``DoesNotExist``, ``Gt``, ``Lt``;
- requests: the sum of the containers' requests (or the largest init container's, if larger)
  must fit the allocatable of at least one of the pool's instance types (cpu, memory, GPUs);
- per-instance-type labels (Karpenter's ``karpenter.k8s.aws/instance-gpu-name``, ...): a pool
  of several instance types accepts the pod when one type matches its selectors and fits it,
  as Karpenter launches only the types that match the pod's requirements.

Not modelled: preferred affinity and weights, pod (anti-)affinity, topology spread, PriorityClass
preemption, node capacity already taken by other pods, ``matchFields``, ephemeral storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BLOCKING = ("NoSchedule", "NoExecute")
GPU = "nvidia.com/gpu"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class InstanceType:
    """What one node of a type offers to pods (allocatable, not capacity)."""

    name: str
    cpu: float  # cores
    memory: float  # bytes
    gpu: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)  # only its nodes carry these


@dataclass(frozen=True)
class NodePool:
    name: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    instance_types: tuple[InstanceType, ...]
    source: str = ""  # where the pool was read from
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def gpu(self) -> bool:
        return any(t.gpu for t in self.instance_types)


def tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Taint) -> bool:
    """Whether any toleration matches ``taint`` (key, operator, value and effect)."""
    return any(_matches(t, taint) for t in tolerations)


def _matches(toleration: Mapping[str, Any], taint: Taint) -> bool:
    effect = toleration.get("effect", "")
    if effect and effect != taint.effect:
        return False
    key = toleration.get("key", "")
    operator = toleration.get("operator", "Equal")
    if operator == "Exists":
        return key in ("", taint.key)
    return key == taint.key and str(toleration.get("value", "")) == taint.value


def selector_matches(node_selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == str(v) for k, v in node_selector.items())


def expression_matches(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` entry of a node selector term."""
    key, operator = expression["key"], expression["operator"]
    values = [str(v) for v in expression.get("values", [])]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and labels[key].isdigit():
        number, bound = int(labels[key]), int(values[0])
        return number > bound if operator == "Gt" else number < bound
    return False


def affinity_matches(affinity: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Required node affinity: any term whose expressions all match (no terms: no constraint)."""
    required = affinity.get("nodeAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", {}
    )
    terms = required.get("nodeSelectorTerms", [])
    if not terms:
        return True
    return any(
        all(expression_matches(e, labels) for e in term.get("matchExpressions", []))
        for term in terms
    )


_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "m": 10**-3,
}


def quantity(value: Any) -> float:
    """A Kubernetes resource quantity (``500m``, ``2Gi``, ``1``) as a number."""
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    if not match or (match.group(2) and match.group(2) not in _SUFFIX):
        raise ValueError(f"not a quantity: {value!r}")
    return float(match.group(1)) * _SUFFIX.get(match.group(2), 1)


def requests(pod_spec: Mapping[str, Any]) -> dict[str, float]:
    """The pod's effective requests: containers summed, or the largest init container's."""
    total: dict[str, float] = {}
    for c in pod_spec.get("containers", []):
        for name, amount in _requests_of(c).items():
            total[name] = total.get(name, 0.0) + amount
    for c in pod_spec.get("initContainers", []):
        for name, amount in _requests_of(c).items():
            total[name] = max(total.get(name, 0.0), amount)
    return total


def _requests_of(container: Mapping[str, Any]) -> dict[str, float]:
    resources = container.get("resources", {})
    # a limit without a request defaults the request to the limit
    merged = {**resources.get("limits", {}), **resources.get("requests", {})}
    return {name: quantity(v) for name, v in merged.items()}


def fits(wanted: Mapping[str, float], instance: InstanceType) -> bool:
    offered = {"cpu": instance.cpu, "memory": instance.memory, GPU: float(instance.gpu)}
    return all(amount <= offered.get(name, 0.0) for name, amount in wanted.items() if amount)


def why_not(pod_spec: Mapping[str, Any], pool: NodePool) -> str | None:
    """Why the pod cannot land on ``pool`` (None: it can)."""
    tolerations = pod_spec.get("tolerations", [])
    for taint in pool.taints:
        if taint.effect in BLOCKING and not tolerates(tolerations, taint):
            return f"taint {taint.key}={taint.value}:{taint.effect} not tolerated"
    # the node labels of each instance type: the pool's, and what only that type's nodes carry
    nodes = [(i, {**pool.labels, **i.labels}) for i in pool.instance_types] or [(None, pool.labels)]
    selector = pod_spec.get("nodeSelector", {})
    nodes = [(i, labels) for i, labels in nodes if selector_matches(selector, labels)]
    if not nodes:
        return f"nodeSelector {dict(selector)} does not match"
    affinity = pod_spec.get("affinity", {})
    nodes = [(i, labels) for i, labels in nodes if affinity_matches(affinity, labels)]
    if not nodes:
        return "required node affinity does not match"
    wanted = requests(pod_spec)
    if not any(i is not None and fits(wanted, i) for i, _ in nodes):
        return f"requests {wanted} fit no instance type"
    return None


def landing_pools(pod_spec: Mapping[str, Any], pools: Sequence[NodePool]) -> list[str]:
    return [p.name for p in pools if why_not(pod_spec, p) is None]


def wants_gpu(pod_spec: Mapping[str, Any]) -> bool:
    return requests(pod_spec).get(GPU, 0.0) > 0
