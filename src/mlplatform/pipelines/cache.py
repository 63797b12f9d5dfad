"""Content-addressed cache keys and the cache index that lives in the object store.

A step's key is sha256 over four components, each itself a sha256:

- ``code``: the step's source and the project modules it imports (see ``codehash``);
- ``params``: its non-artifact inputs as canonical JSON (files named by ``hash_files`` are
  hashed by content);
- ``inputs``: the content digests of its input artifacts;
- ``env``: the environment fingerprint (lock-file hash, Python version, mlplatform version) and
  the values of the environment variables the step declares.

Resources, retries and timeouts are not part of the key. The index is one small JSON object per
key (``cache/<k[:2]>/<k>.json``); there is no shared index file to corrupt, and two runs that
compute the same key write equivalent entries atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlplatform.artifacts.refs import ArtifactRef
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.codehash import step_code_hash

__all__ = [
    "CacheEntry",
    "CacheIndex",
    "CacheKey",
    "canonical_json",
    "compute_key",
    "environment_fingerprint",
    "inputs_hash",
    "key_of",
]

COMPONENTS = ("code", "params", "inputs", "env")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def environment_fingerprint(lock_file: Path | None) -> dict[str, str]:
    """What the environment contributes to every key: lock-file hash, Python, mlplatform.

    Without a lock file the installed distributions (name==version, sorted) stand in for it.
    """
    from mlplatform import __version__

    if lock_file is not None and lock_file.is_file():
        lock = "lock:" + hashlib.sha256(lock_file.read_bytes()).hexdigest()
    else:
        lock = _installed_fingerprint()
    return {
        "lock": lock,
        # major.minor only: a patch release must not split local and cluster caches
        "python": f"{platform.python_implementation()}-{sys.version_info[0]}.{sys.version_info[1]}",
        "mlplatform": __version__,
    }


@lru_cache(maxsize=1)
def _installed_fingerprint() -> str:
    """A hash of the installed distributions (once per process: reading them takes ~0.1 s)."""
    from importlib.metadata import distributions

    pins = sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions())
    return "installed:" + _sha("\n".join(pins))


@dataclass(frozen=True)
class CacheKey:
    """A cache key with the parts it was made of (``details`` say what went into each)."""

    key: str
    components: Mapping[str, str]
    details: Mapping[str, Any] = field(default_factory=dict)


def _file_digest(path: str) -> str:
    p = Path(path)
    if not path or not p.is_file():
        return "absent"
    return hashlib.sha256(p.read_bytes()).hexdigest()


def compute_key(
    step: Any,
    params: Mapping[str, Any],
    inputs: Mapping[str, ArtifactRef],
    env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    code_hash: str | None = None,
) -> CacheKey:
    """The cache key of ``step`` run with these params, input artifacts and environment."""
    environ = os.environ if environ is None else environ
    files = {name: _file_digest(str(params.get(name) or "")) for name in step.hash_files}
    env_vars = {name: environ.get(name) for name in step.env}
    details = {
        "params": dict(params),
        "files": files,
        "inputs": {name: ref.digest for name, ref in sorted(inputs.items())},
        "env": {**env, "vars": env_vars},
    }
    components = {
        "code": code_hash or step_code_hash(step),
        "params": _sha(canonical_json({"params": details["params"], "files": files})),
        "inputs": inputs_hash(details["inputs"]),
        "env": _sha(canonical_json(details["env"])),
    }
    return CacheKey(key=key_of(components), components=components, details=details)


def inputs_hash(digests: Mapping[str, str]) -> str:
    """The inputs component: sha256 of ``{input name: content digest}`` as canonical JSON."""
    return _sha(canonical_json(dict(digests)))


def key_of(components: Mapping[str, str]) -> str:
    """The cache key from its four component hashes (the Argo compiler mirrors this)."""
    return _sha(canonical_json({c: components[c] for c in COMPONENTS}))


@dataclass(frozen=True)
class CacheEntry:
    """What a finished step left in the index: its outputs and who produced them."""

    key: str
    pipeline: str
    node: str
    outputs: Mapping[str, ArtifactRef]
    pipeline_run_id: str
    tracking_run_id: str | None = None
    created_at: float = field(default_factory=time.time)
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["outputs"] = {k: v.to_dict() for k, v in self.outputs.items()}
        return canonical_json(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CacheEntry:
        data = json.loads(raw)
        data["outputs"] = {k: ArtifactRef.from_dict(v) for k, v in data["outputs"].items()}
        return cls(**data)


class CacheIndex:
    """The cache index in an artifact store. The store, not any local file, is the truth."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    @staticmethod
    def _entry_key(key: str) -> str:
        return f"cache/{key[:2]}/{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        path = self._entry_key(key)
        if not self.store.exists(path):
            return None
        try:
            return CacheEntry.from_json(self.store.read_bytes(path))
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable entry is a miss; the re-run overwrites it

    def put(self, entry: CacheEntry) -> None:
        self.store.write_bytes(self._entry_key(entry.key), entry.to_json())

    def invalidate(self, key: str) -> None:
        self.store.delete(self._entry_key(key))

    @staticmethod
    def _last_key(pipeline: str, node: str) -> str:
        return f"last/{pipeline}/{node}.json"

    def record_last(self, pipeline: str, node: str, key: CacheKey) -> None:
        """Remember the key components of the last run of a node, for `mlp pipeline plan`."""
        data = {"key": key.key, "components": dict(key.components), "details": key.details}
        self.store.write_bytes(self._last_key(pipeline, node), canonical_json(data).encode())

    def last(self, pipeline: str, node: str) -> CacheKey | None:
        path = self._last_key(pipeline, node)
        if not self.store.exists(path):
            return None
        data = json.loads(self.store.read_bytes(path))
        return CacheKey(key=data["key"], components=data["components"], details=data["details"])
