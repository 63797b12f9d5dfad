"""Would a Chaos Mesh experiment inject anything? Its selector against the rendered pods.

Models (https://chaos-mesh.org/docs/define-chaos-experiment-scope/): a selector's
``namespaces``, ``labelSelectors`` (all pairs), ``expressionSelectors`` (matchExpressions),
``annotationSelectors`` and ``pods`` (namespace -> names) are ANDed; a missing field does not
constrain (namespaces default to the experiment's own). A ``Schedule`` carries its experiment
under the field named after its ``type`` (``podChaos`` for PodChaos). A NetworkChaos ``target``
must select pods too. With the controller's ``enableFilterNamespace`` on, only pods in
namespaces annotated ``chaos-mesh.org/inject=enabled`` can be injected.

Not modelled: ``mode`` (one, fixed, percent...) beyond "at least one pod", pod phase
selectors, node selectors, and whether the daemon can reach the container runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._network import selects

INJECT = "chaos-mesh.org/inject"
Doc = dict[str, Any]


def spec_of(experiment: Doc) -> Doc:
    """The experiment's spec (a Schedule's inner one)."""
    if experiment["kind"] == "Schedule":
        kind = experiment["spec"]["type"]
        spec: Doc = experiment["spec"][kind[0].lower() + kind[1:]]
        return spec
    inner: Doc = experiment["spec"]
    return inner


def selected(
    selector: Mapping[str, Any],
    default_ns: str,
    pods: Iterable[tuple[str, str, Mapping[str, str], Mapping[str, str]]],
) -> list[str]:
    """Names of ``pods`` ((namespace, name, labels, annotations)) that ``selector`` picks."""
    namespaces = selector.get("namespaces") or [default_ns]
    expressions = {
        "matchLabels": selector.get("labelSelectors", {}),
        "matchExpressions": selector.get("expressionSelectors", []),
    }
    annotations = selector.get("annotationSelectors", {})
    named = selector.get("pods")
    return [
        name
        for ns, name, labels, notes in pods
        if ns in namespaces
        and selects(expressions, labels)
        and all(notes.get(k) == v for k, v in annotations.items())
        and (named is None or name in named.get(ns, []))
    ]


def injectable(namespaces: Iterable[Doc], filter_on: bool) -> set[str] | None:
    """Namespaces Chaos Mesh may inject into (None: every namespace)."""
    if not filter_on:
        return None
    return {
        n["metadata"]["name"]
        for n in namespaces
        if n["metadata"].get("annotations", {}).get(INJECT) == "enabled"
    }
