"""`mlp pipeline plan`: per step, a cache hit or a run, and what changed since the last run.

Every declared data source is fingerprinted first, so a missing one fails the plan (naming
the parameter and the path) before anything else; each entry carries its steps' fingerprints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.pipelines import launcher
from mlplatform.pipelines.cache import COMPONENTS, CacheKey
from mlplatform.pipelines.datasource import FALLBACK
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding, PipelineGraph
from mlplatform.pipelines.local import LocalExecutor

__all__ = ["PlanEntry", "data_changes", "data_notes", "explain_changes", "plan"]


@dataclass(frozen=True)
class PlanEntry:
    """``status``: ``hit`` (cached), ``miss`` (will run), ``forced`` or ``pending`` (runs if an
    upstream step's output changes; its key is known only then)."""

    node: str
    status: str
    key: str | None
    changed: list[str] = field(default_factory=list)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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
        elif comp == "data":
            changes += data_changes(last.details.get("data", {}), key.details["data"])
        elif comp == "inputs":
            changes += _diff("input", last.details.get("inputs", {}), key.details["inputs"])
        else:
            old_env = dict(last.details.get("env", {}))
            new_env = dict(key.details["env"])
            changes += _diff("env", old_env.pop("vars", {}) or {}, new_env.pop("vars", {}) or {})
            changes += _diff("env", old_env, new_env)
    return changes or ["outputs are no longer in the cache"]


def _brief(fp: Mapping[str, Any] | None) -> str:
    if not fp:
        return "(not fingerprinted)"
    if fp["method"] in ("absent", "value"):
        return str(fp["method"])
    return f"{fp['method']} {str(fp['digest'])[:8]}…"


def data_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``data source: data.csv sha256 3f2a… → 9c41…``, one line per changed data parameter."""
    out = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        where = _short((after or before or {}).get("source", ""))
        if before and after and before["method"] == after["method"]:
            what = f"{_brief(before)} → {str(after['digest'])[:8]}…"
        else:
            what = f"{_brief(before)} → {_brief(after)}"
        out.append(f"data {name}: {where} {what}")
    return out


def data_notes(data: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What a user should know about how data was fingerprinted (a download, a missing file)."""
    notes = []
    for name, fp in sorted(data.items()):
        if FALLBACK in str(fp["method"]).split("+"):
            notes.append(
                f"data {name}: {fp['source']} was read in full to fingerprint it: its store "
                "reports no ETag, version or checksum"
            )
        elif fp["method"] == "absent":
            notes.append(f"data {name}: {fp['source']} does not exist yet")
    return notes


def plan(
    executor: LocalExecutor,
    graph: PipelineGraph,
    params: Mapping[str, Any] | None = None,
    force: Collection[str] = (),
) -> list[PlanEntry]:
    """What a run with these params would do, without running anything."""
    values = resolve_params(graph, params or {})
    executor.check_data(graph, values)  # a missing source fails here, before anything else
    try:
        return _plan(executor, graph, values, force)
    finally:
        executor.reset_data()


def _plan(
    executor: LocalExecutor,
    graph: PipelineGraph,
    values: Mapping[str, Any],
    force: Collection[str],
) -> list[PlanEntry]:
    outputs: dict[str, Mapping[str, ArtifactRef]] = {}
    entries: list[PlanEntry] = []
    for name in graph.order:
        node = graph.nodes[name]
        waiting = [u for u in node.upstream if u not in outputs]
        data = {k: fp.to_dict() for k, fp in executor.data_of(name).items()}
        notes = data_notes(data)
        if waiting:
            why = [f"after {', '.join(waiting)} run"]
            entries.append(PlanEntry(name, "pending", None, why, data, notes))
            continue
        inputs = {
            a: outputs[b.node][b.output]
            for a, b in node.bindings.items()
            if isinstance(b, ArtifactBinding)
        }
        key = executor.node_key(node, node.param_values(values), inputs)
        changed = explain_changes(executor.index.last(graph.name, name), key)
        entry, problem = launcher.cached_result(
            executor.store, key.key, repair=False, index=executor.index
        )
        if name in force:
            entries.append(PlanEntry(name, "forced", key.key, ["--force"], data, notes))
        elif entry is None:
            why = changed + ([problem] if problem else [])
            entries.append(PlanEntry(name, "miss", key.key, why, data, notes))
            continue
        else:
            entries.append(PlanEntry(name, "hit", key.key, [], data, notes))
        outputs[name] = entry.outputs if entry is not None else {}
        if name in force:
            del outputs[name]
    return entries
