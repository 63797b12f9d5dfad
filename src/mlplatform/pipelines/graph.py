"""The graph IR: what the local executor and the Argo compiler both consume.

A ``PipelineGraph`` is validated when it is built: unknown upstream nodes or outputs (missing
inputs), cycles and type mismatches are ``PipelineDefinitionError`` before anything runs.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlplatform.errors import PipelineDefinitionError

__all__ = [
    "ArtifactBinding",
    "Binding",
    "ConstBinding",
    "Node",
    "ParamBinding",
    "ParamSpec_",
    "PipelineGraph",
    "check_compatible",
    "type_name",
]


@dataclass(frozen=True)
class ArtifactBinding:
    """The input comes from ``node``'s output ``output`` (by reference, through the store)."""

    node: str
    output: str


@dataclass(frozen=True)
class ParamBinding:
    """The input is the pipeline parameter ``param``."""

    param: str


@dataclass(frozen=True)
class ConstBinding:
    """The input is a JSON constant written in the pipeline definition (or the default)."""

    value: Any


Binding = ArtifactBinding | ParamBinding | ConstBinding


def type_name(tp: Any) -> str:
    """A stable, readable name for a type annotation (``pandas.DataFrame``, ``list[int]``)."""
    if tp is Any:
        return "Any"
    if isinstance(tp, type) and not typing.get_args(tp):
        module = tp.__module__
        if module == "builtins":
            return tp.__qualname__
        if module.startswith("pandas.") and tp.__name__ in {"DataFrame", "Series"}:
            module = "pandas"
        return f"{module}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp) or tp


def check_compatible(produced: Any, expected: Any, where: str) -> None:
    """Raise if a value of type ``produced`` cannot feed an input annotated ``expected``."""
    if produced is Any or expected is Any or expected is object:
        return
    prod, exp = _origin(produced), _origin(expected)
    if typing.get_origin(expected) in (
        typing.Union,
        getattr(__import__("types"), "UnionType", None),
    ):
        options = typing.get_args(expected)
        if any(_compatible(prod, _origin(o)) for o in options):
            return
    elif _compatible(prod, exp):
        return
    raise PipelineDefinitionError(
        f"type mismatch: {where} expects {type_name(expected)} but gets {type_name(produced)}",
        "Change the annotation or pass a value of the expected type.",
    )


def _compatible(prod: Any, exp: Any) -> bool:
    if prod is Any or exp is Any:
        return True
    if exp is float and prod is int:
        return True
    if isinstance(prod, type) and isinstance(exp, type):
        try:
            return issubclass(prod, exp)
        except TypeError:
            return prod is exp
    return bool(prod == exp)


@dataclass(frozen=True)
class ParamSpec_:
    """A typed pipeline parameter with its default."""

    name: str
    type: Any
    default: Any

    def coerce(self, raw: Any) -> Any:
        """Convert a CLI string (or JSON value) to the parameter's type, or raise."""
        if not isinstance(raw, str) or self.type is str or self.type is Any:
            return raw
        try:
            if self.type is bool:
                if raw.lower() in {"1", "true", "yes", "on"}:
                    return True
                if raw.lower() in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(raw)
            if self.type in (int, float):
                return self.type(raw)
            return json.loads(raw)
        except ValueError as exc:
            raise PipelineDefinitionError(
                f"parameter '{self.name}' expects {type_name(self.type)}, got {raw!r}",
                f"Pass -p {self.name}=<{type_name(self.type)}>.",
            ) from exc


@dataclass(frozen=True)
class Node:
    """One step call in the pipeline. ``step`` is the ``Step`` object (not serialized)."""

    name: str
    step: Any
    bindings: Mapping[str, Binding]
    input_types: Mapping[str, Any] = field(default_factory=dict)
    output_types: Mapping[str, Any] = field(default_factory=dict)

    def param_values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The node's non-artifact inputs: pipeline parameters resolved, constants as written."""
        values: dict[str, Any] = {}
        for arg, b in self.bindings.items():
            if isinstance(b, ParamBinding):
                values[arg] = params[b.param]
            elif isinstance(b, ConstBinding):
                values[arg] = b.value
        return values

    @property
    def upstream(self) -> tuple[str, ...]:
        ups = {b.node for b in self.bindings.values() if isinstance(b, ArtifactBinding)}
        return tuple(sorted(ups))

    def to_dict(self) -> dict[str, Any]:
        st = self.step
        return {
            "name": self.name,
            "step": {"module": st.module, "qualname": st.qualname, "name": st.name},
            "inputs": {k: _binding_dict(b) for k, b in self.bindings.items()},
            "input_types": {k: type_name(v) for k, v in self.input_types.items()},
            "outputs": {k: type_name(v) for k, v in self.output_types.items()},
            "resources": {
                "cpu": st.resources.cpu,
                "memory": st.resources.memory,
                "gpu": st.resources.gpu,
            },
            "retries": {
                "count": st.retries.count,
                "backoff": st.retries.backoff,
                "factor": st.retries.factor,
            },
            "timeout": st.timeout,
            "env": list(st.env),
            "upstream": list(self.upstream),
        }


def _binding_dict(b: Binding) -> dict[str, Any]:
    if isinstance(b, ArtifactBinding):
        return {"artifact": f"{b.node}.{b.output}"}
    if isinstance(b, ParamBinding):
        return {"param": b.param}
    return {"value": b.value}


@dataclass(frozen=True)
class PipelineGraph:
    """A validated DAG. ``order`` lists node names in a deterministic topological order."""

    name: str
    params: Mapping[str, ParamSpec_]
    nodes: Mapping[str, Node]
    description: str = ""
    order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._check_bindings()
        object.__setattr__(self, "order", _toposort(self.nodes))

    def _check_bindings(self) -> None:
        for node in self.nodes.values():
            for arg, b in node.bindings.items():
                where = f"input '{arg}' of step '{node.name}'"
                if isinstance(b, ParamBinding) and b.param not in self.params:
                    raise PipelineDefinitionError(
                        f"missing input: {where} refers to unknown parameter '{b.param}'",
                        f"Declare '{b.param}' as a pipeline parameter.",
                    )
                if isinstance(b, ArtifactBinding):
                    self._check_artifact(node, arg, b, where)
            missing = [
                a
                for a, p in node.step.signature.parameters.items()
                if a not in node.bindings and p.default is p.empty
            ]
            if missing:
                raise PipelineDefinitionError(
                    f"missing input: step '{node.name}' has no value for {', '.join(missing)}",
                    "Bind every required input to a step output, a parameter or a constant.",
                )

    def _check_artifact(self, node: Node, arg: str, b: ArtifactBinding, where: str) -> None:
        up = self.nodes.get(b.node)
        if up is None:
            raise PipelineDefinitionError(
                f"missing input: {where} refers to unknown step '{b.node}'",
                f"Known steps: {', '.join(self.nodes)}.",
            )
        if b.output not in up.output_types:
            raise PipelineDefinitionError(
                f"missing input: {where} refers to '{b.node}.{b.output}', which does not exist",
                f"Outputs of '{b.node}': {', '.join(up.output_types) or '(none)'}.",
            )
        check_compatible(
            up.output_types[b.output],
            node.input_types.get(arg, Any),
            f"{where} (from {b.node}.{b.output})",
        )

    def downstream(self, names: set[str]) -> set[str]:
        """``names`` and every node that depends on them, transitively."""
        out = set(names)
        for name in self.order:
            if set(self.nodes[name].upstream) & out:
                out.add(name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": {
                k: {"type": type_name(p.type), "default": p.default} for k, p in self.params.items()
            },
            "nodes": [self.nodes[n].to_dict() for n in self.order],
        }


def _toposort(nodes: Mapping[str, Node]) -> tuple[str, ...]:
    indegree = {n: len(node.upstream) for n, node in nodes.items()}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for n, node in nodes.items():
        for up in node.upstream:
            children[up].append(n)
    ready = sorted(n for n, d in indegree.items() if d == 0)
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for child in sorted(children[current]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
        ready.sort()
    if len(order) != len(nodes):
        cycle = _find_cycle(nodes, set(nodes) - set(order))
        raise PipelineDefinitionError(
            f"the pipeline has a cycle: {' -> '.join(cycle)}",
            "A step cannot depend, directly or through others, on its own output.",
        )
    return tuple(order)


def _find_cycle(nodes: Mapping[str, Node], left: set[str]) -> list[str]:
    start = min(left)
    path, seen = [start], {start}
    while True:
        nxt = min(u for u in nodes[path[-1]].upstream if u in left)
        if nxt in seen:
            cyc = [*path[path.index(nxt) :], nxt]
            return list(reversed(cyc))
        path.append(nxt)
        seen.add(nxt)
