"""Would the autoscalers work? Targets that exist, one scaler per target, and a wake-up signal.

Models: a ``ScaledObject`` (KEDA) or ``HorizontalPodAutoscaler`` scales
``scaleTargetRef`` (kind defaults to Deployment) in its own namespace; an ``HTTPScaledObject``
(KEDA HTTP add-on) scales ``spec.scaleTargetRef`` (``name`` or ``deployment``) and wakes from
zero on requests held by the add-on's interceptor, unless it is annotated
``httpscaledobject.keda.sh/skip-scaledobject-creation: "true"``: then the add-on's operator
makes no ScaledObject, the HTTPScaledObject only routes and holds requests, and it is no scaler
(a ScaledObject of ours points an ``external-push`` trigger at it). A scaler "may reach zero"
when its minimum (``minReplicaCount``, default 0; ``replicas.min``; ``minReplicas``) is 0. It
can wake when either it is an HTTPScaledObject, or one of its triggers reads a signal that
exists while the target has no pods: an ``external-push`` trigger naming an HTTPScaledObject
that routes to the same target (the interceptor's queue), a Prometheus query that does not
select the target's own pods (by ``pod=~"<target>-`` or by a label of the target's pods), or a
trigger of another source (a queue length, a cron). ``cpu`` and ``memory`` triggers, and a
``metrics-api`` trigger whose URL is the target's own Service, are the pods' own metrics.

Not modelled: KEDA fallback, scaling modifiers, the values of thresholds, pause annotations,
whether the queried series really exists (only that it is not the scaled pods' own).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]
SCALER_KINDS = ("ScaledObject", "HTTPScaledObject", "HorizontalPodAutoscaler")
SKIP_SCALED_OBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"
OWN_METRICS = ("cpu", "memory")


@dataclass(frozen=True)
class Scaler:
    kind: str
    namespace: str
    name: str
    target_kind: str
    target: str
    minimum: int
    triggers: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @property
    def ident(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


def scalers(docs: Iterable[Doc]) -> list[Scaler]:
    return [_scaler(d) for d in docs if d.get("kind") in SCALER_KINDS and not _routes_only(d)]


def held(docs: Iterable[Doc]) -> dict[tuple[str, str], str]:
    """(namespace, HTTPScaledObject) -> the Deployment whose requests its interceptor holds."""
    return {
        (d["metadata"].get("namespace", "default"), d["metadata"]["name"]): (
            d["spec"].get("scaleTargetRef", {}).get("name", "")
        )
        for d in docs
        if d.get("kind") == "HTTPScaledObject"
    }


def _routes_only(doc: Doc) -> bool:
    annotations = doc.get("metadata", {}).get("annotations", {})
    return doc.get("kind") == "HTTPScaledObject" and annotations.get(SKIP_SCALED_OBJECT) == "true"


def _scaler(doc: Doc) -> Scaler:
    meta, spec = doc["metadata"], doc["spec"]
    ref = spec.get("scaleTargetRef", {})
    target = ref.get("name") or ref.get("deployment", "")
    if doc["kind"] == "HTTPScaledObject":
        minimum = spec.get("replicas", {}).get("min", 0)
    elif doc["kind"] == "ScaledObject":
        minimum = spec.get("minReplicaCount", 0)
    else:
        minimum = spec.get("minReplicas", 1)
    return Scaler(
        doc["kind"],
        meta.get("namespace", "default"),
        meta["name"],
        ref.get("kind", "Deployment"),
        target,
        int(minimum),
        tuple(spec.get("triggers", [])),
    )


def targets(docs: Iterable[Doc]) -> dict[tuple[str, str, str], Doc]:
    """(kind, namespace, name) of every scalable object rendered."""
    kinds = ("Deployment", "StatefulSet")
    return {
        (d["kind"], d["metadata"].get("namespace", "default"), d["metadata"]["name"]): d
        for d in docs
        if d.get("kind") in kinds
    }


def dangling(all_scalers: Iterable[Scaler], found: Mapping[tuple[str, str, str], Doc]) -> list[str]:
    return [
        f"{s.ident} targets {s.target_kind}/{s.target}, which is not rendered"
        for s in all_scalers
        if (s.target_kind, s.namespace, s.target) not in found
    ]


def fights(all_scalers: Iterable[Scaler]) -> list[str]:
    """Targets scaled by more than one scaler. An HTTPScaledObject makes its own ScaledObject,
    so one HTTPScaledObject beside a ScaledObject on a target is also two."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for s in all_scalers:
        seen.setdefault((s.namespace, s.target_kind, s.target), []).append(s.ident)
    return [f"{t[2]} is scaled by {names}" for t, names in seen.items() if len(names) > 1]


def wakes_from_zero(
    scaler: Scaler,
    pod_labels: Mapping[str, str],
    queues: Mapping[tuple[str, str], str] | None = None,
) -> bool:
    """Whether something brings ``scaler``'s target back from zero pods. ``queues``: the
    rendered HTTPScaledObjects (``held``) an ``external-push`` trigger may name."""
    if scaler.minimum > 0 or scaler.kind == "HTTPScaledObject":
        return True
    if scaler.kind == "HorizontalPodAutoscaler":
        return False  # the HPA never scales from zero (alpha HPAScaleToZero aside)
    return any(_independent(t, scaler, pod_labels, queues or {}) for t in scaler.triggers)


def _independent(
    trigger: Mapping[str, Any],
    scaler: Scaler,
    pod_labels: Mapping[str, str],
    queues: Mapping[tuple[str, str], str],
) -> bool:
    kind, target = trigger.get("type"), scaler.target
    metadata = trigger.get("metadata", {})
    if kind == "external-push" and "httpScaledObject" in metadata:
        # the interceptor's queue exists at zero, if that HTTPScaledObject holds this target
        return queues.get((scaler.namespace, str(metadata["httpScaledObject"]))) == target
    if kind in OWN_METRICS:
        return False
    if kind == "metrics-api":
        return re.search(rf"//{re.escape(target)}[.:/]", str(metadata.get("url", ""))) is None
    if kind != "prometheus":
        return True
    query = str(metadata.get("query", ""))
    own_pods = re.search(rf'pod=~?"{re.escape(target)}', query) is not None
    own_labels = any(f'{_prom(k)}="{v}"' in query for k, v in pod_labels.items())
    return not (own_pods or own_labels)


def _prom(label: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)
