"""The step-run spec: everything the launcher needs to run one step, as JSON.

The local executor writes it to a file for a subprocess. In an Argo pod the launcher builds
the same ``StepSpec`` (``launcher.argo_spec``) from the compile-time part the template passes
as ``--argo-spec`` and the upstream references it receives as ``--input``. Artifacts appear only
as references.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlplatform.artifacts.refs import ArtifactRef

__all__ = ["StepResult", "StepSpec"]


@dataclass(frozen=True)
class StepSpec:
    """One step to run: which function, its inputs (by reference) and params, where to write."""

    pipeline: str
    run_id: str
    node: str
    module: str
    qualname: str
    module_file: str | None
    store_root: str
    inputs: Mapping[str, ArtifactRef]
    params: Mapping[str, Any]
    outputs: Mapping[str, str]
    cache_key: str
    cache_keys: Mapping[str, str] = field(default_factory=dict)
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    tracking_run_id: str | None = None
    git_commit: str | None = None
    check_cache: bool = False

    def to_json(self) -> str:
        data = asdict(self)
        data["inputs"] = {k: v.to_dict() for k, v in self.inputs.items()}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> StepSpec:
        data = json.loads(raw)
        data["inputs"] = {k: ArtifactRef.from_dict(v) for k, v in data["inputs"].items()}
        return cls(**data)


@dataclass(frozen=True)
class StepResult:
    """What the launcher reports back: ``status`` is ``ok``, ``cached`` or ``error``."""

    status: str
    outputs: Mapping[str, ArtifactRef] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    error_hint: str | None = None
    error_details: str | None = None
    tracking_run_id: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["outputs"] = {k: v.to_dict() for k, v in self.outputs.items()}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> StepResult:
        data = json.loads(raw)
        data["outputs"] = {k: ArtifactRef.from_dict(v) for k, v in data["outputs"].items()}
        return cls(**data)
