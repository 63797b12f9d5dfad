"""`mlp pipeline plan`: per step, a cache hit or a run, and what changed since the last run."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.pipelines import launcher
from mlplatform.pipelines.cache import COMPONENTS, CacheKey
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding, PipelineGraph
from mlplatform.pipelines.local import LocalExecutor

__all__ = ["PlanEntry", "explain_changes", "plan"]


@dataclass(frozen=True)
class PlanEntry:
    """``status``: ``hit`` (cached), ``miss`` (will run), ``forced`` or ``pending`` (runs if an
    upstream step's output changes; its key is known only then)."""

    node: str
    status: str
    key: str | None
    changed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _diff(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            out.append(f"{name} {k}: {_short(old.get(k))} -> {_short(new.get(k))}")
    return out


def _short(value: Any) -> str:
    text = str(value)
    if text.startswith("sha256:"):
        text = text[7:19]
    return text if len(text) <= 40 else text[:37] + "..."


def explain_changes(last: CacheKey | None, key: CacheKey) -> list[str]:
    """Which key components changed since ``last``, in words."""
    if last is None:
        return ["first run"]
    changes: list[str] = []
    for comp in COMPONENTS:
        if last.components.get(comp) == key.components.get(comp):
            continue
        if comp == "code":
            changes.append("code: the step or a project module it imports changed")
        elif comp == "params":
            changes += _diff("param", last.details.get("params", {}), key.details["params"])
            changes += _diff("file", last.details.get("files", {}), key.details["files"])
        elif comp == "inputs":
            changes += _diff("input", last.details.get("inputs", {}), key.details["inputs"])
        else:
            old_env = dict(last.details.get("env", {}))
            new_env = dict(key.details["env"])
            changes += _diff("env", old_env.pop("vars", {}) or {}, new_env.pop("vars", {}) or {})
            changes += _diff("env", old_env, new_env)
    return changes or ["outputs are no longer in the cache"]


def plan(
    executor: LocalExecutor,
    graph: PipelineGraph,
    params: Mapping[str, Any] | None = None,
    force: Collection[str] = (),
) -> list[PlanEntry]:
    """What a run with these params would do, without running anything."""
    values = resolve_params(graph, params or {})
    outputs: dict[str, Mapping[str, ArtifactRef]] = {}
    entries: list[PlanEntry] = []
    for name in graph.order:
        node = graph.nodes[name]
        waiting = [u for u in node.upstream if u not in outputs]
        if waiting:
            entries.append(PlanEntry(name, "pending", None, [f"after {', '.join(waiting)} run"]))
            continue
        inputs = {
            a: outputs[b.node][b.output]
            for a, b in node.bindings.items()
            if isinstance(b, ArtifactBinding)
        }
        key = executor.node_key(node, node.param_values(values), inputs)
        changed = explain_changes(executor.index.last(graph.name, name), key)
        entry, problem = launcher.cached_result(executor.store, key.key, repair=False)
        if name in force:
            entries.append(PlanEntry(name, "forced", key.key, ["--force"]))
        elif entry is None:
            entries.append(
                PlanEntry(name, "miss", key.key, changed + ([problem] if problem else []))
            )
            continue
        else:
            entries.append(PlanEntry(name, "hit", key.key, []))
        outputs[name] = entry.outputs if entry is not None else {}
        if name in force:
            del outputs[name]
    return entries
