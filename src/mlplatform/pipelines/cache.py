"""Content-addressed cache keys and the cache index that lives in the object store.

A step's key is sha256 over five components, each itself a sha256:

- ``code``: the step's source and the project modules it imports (see ``codehash``);
- ``params``: its non-artifact inputs as canonical JSON (JSON values only: a value whose
  canonical form is not stable, such as a set or an object, is refused);
- ``data``: the content fingerprints of the external data its ``data=`` parameters name
  (see ``datasource``) and of the external state it declares (``external=``, e.g. the
  registry's champion: ``external_fingerprints``);
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
import logging
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
from mlplatform.artifacts.signing import CACHE_KEY_ENV, Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import PipelineDefinitionError
from mlplatform.pipelines.codehash import step_code_hash
from mlplatform.pipelines.datasource import Fingerprint, fingerprint_params

__all__ = [
    "CacheEntry",
    "CacheIndex",
    "CacheKey",
    "canonical_json",
    "check_stable_params",
    "compute_key",
    "data_hash",
    "environment_fingerprint",
    "external_fingerprints",
    "inputs_hash",
    "key_of",
]

COMPONENTS = ("code", "params", "data", "inputs", "env")
_log = logging.getLogger(__name__)


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


_JSON_SCALARS = (str, int, float, bool, type(None))


def _unstable(value: Any) -> Any | None:
    """The first part of ``value`` that is not plain JSON (whose canonical form could change
    from run to run: a set's order, an object's ``str()`` with its address), or None."""
    if isinstance(value, _JSON_SCALARS):
        return None
    if isinstance(value, list | tuple):
        return next((u for u in map(_unstable, value) if u is not None), None)
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return k
            if (u := _unstable(v)) is not None:
                return u
        return None
    return value


def check_stable_params(step_name: str, params: Mapping[str, Any]) -> None:
    """Refuse a parameter whose canonical JSON is not stable, naming it.

    Raises:
        PipelineDefinitionError: a value (or a part of it) is not str, int, float, bool,
            None, a list/tuple of those, or a dict with string keys.
    """
    for name, value in params.items():
        bad = _unstable(value)
        if bad is None:
            continue
        text = repr(bad)
        why = " (its text holds a memory address)" if " at 0x" in text else ""
        raise PipelineDefinitionError(
            f"parameter '{name}' of step '{step_name}' holds a {type(bad).__name__}{why}: "
            "its cache key would not be stable from run to run",
            "Pass JSON values (str, int, float, bool, None, lists, dicts with string keys): "
            "a sorted list instead of a set, the object's settings instead of the object.",
        )


def compute_key(
    step: Any,
    params: Mapping[str, Any],
    inputs: Mapping[str, ArtifactRef],
    env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    code_hash: str | None = None,
    data: Mapping[str, Fingerprint] | None = None,
    external: bool = True,
) -> CacheKey:
    """The cache key of ``step`` run with these params, data, input artifacts and environment.

    Args:
        data: the fingerprints of the step's data parameters; None fingerprints them here
            (``datasource.fingerprint_params``, without a persistent digest cache).
        external: take the fingerprints of the step's external state (``@step(external=)``);
            False puts a ``deferred`` placeholder in their place (the Argo compiler: the pod
            takes them, as it takes the data's).

    Raises:
        PipelineDefinitionError: a parameter's canonical form is not stable.
        DataSourceError: a declared data source is missing or unreadable.
    """
    environ = os.environ if environ is None else environ
    check_stable_params(getattr(step, "name", "?"), params)
    if data is None:
        data = fingerprint_params(step, params)
    digests = {name: ref.digest for name, ref in inputs.items()}
    data = {**data, **external_fingerprints(step, params, environ, digests, resolve=external)}
    env_vars = {name: environ.get(name) for name in step.env}
    details = {
        "params": dict(params),
        "data": {name: fp.to_dict() for name, fp in sorted(data.items())},
        "inputs": {name: ref.digest for name, ref in sorted(inputs.items())},
        "env": {**env, "vars": env_vars},
    }
    components = {
        "code": code_hash or step_code_hash(step),
        "params": _sha(canonical_json(details["params"])),
        "data": data_hash({name: fp.token for name, fp in data.items()}),
        "inputs": inputs_hash(details["inputs"]),
        "env": _sha(canonical_json(details["env"])),
    }
    return CacheKey(key=key_of(components), components=components, details=details)


def external_fingerprints(
    step: Any,
    params: Mapping[str, Any],
    environ: Mapping[str, str],
    inputs: Mapping[str, str] | None = None,
    *,
    resolve: bool = True,
) -> dict[str, Fingerprint]:
    """The fingerprints of the state ``step`` declares with ``external=`` (name -> function of
    the step's params, environment and input digests); ``resolve=False``: placeholders, read
    nothing."""
    hooks: Mapping[str, Any] = getattr(step, "external", {}) or {}
    if not resolve:
        return {name: Fingerprint(name, "deferred", "", None, 0) for name in hooks}
    return {name: hook(params, environ, inputs or {}) for name, hook in sorted(hooks.items())}


def data_hash(tokens: Mapping[str, str]) -> str:
    """The data component: sha256 of ``{parameter: "method:digest"}`` as canonical JSON."""
    return _sha(canonical_json(dict(tokens)))


def inputs_hash(digests: Mapping[str, str]) -> str:
    """The inputs component: sha256 of ``{input name: content digest}`` as canonical JSON."""
    return _sha(canonical_json(dict(digests)))


def key_of(components: Mapping[str, str]) -> str:
    """The cache key from its five component hashes (the Argo compiler mirrors this)."""
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
        """Parse an entry (bare, or as stored: ``{"entry": ..., "signature": ...}``). Parsing
        is not trusting: only ``CacheIndex.lookup`` verifies the signature."""
        data = json.loads(raw)
        data = data.get("entry", data) if isinstance(data, dict) else data
        data["outputs"] = {k: ArtifactRef.from_dict(v) for k, v in data["outputs"].items()}
        return cls(**data)


class CacheIndex:
    """The cache index in an artifact store. The store, not any local file, is the truth.

    Every entry is stored signed (``{"entry": ..., "signature": "hmac-sha256:..."}``, see
    ``mlplatform.artifacts.signing``): an entry that is unsigned, fails verification or names
    another key is a miss with a warning, never a load.
    """

    def __init__(self, store: ArtifactStore, signer: Signer | None = None) -> None:
        self.store = store
        self.signer = signer if signer is not None else Signer.from_environ()

    @staticmethod
    def _entry_key(key: str) -> str:
        return f"cache/{key[:2]}/{key}.json"

    def get(self, key: str) -> CacheEntry | None:
        return self.lookup(key)[0]

    def lookup(self, key: str) -> tuple[CacheEntry | None, str | None]:
        """``(entry, None)`` for a verified entry; ``(None, problem)`` for one that is not."""
        path = self._entry_key(key)
        if not self.store.exists(path):
            return None, None
        problem = self._open(self.store.read_bytes(path), key)
        if isinstance(problem, CacheEntry):
            return problem, None
        _log.warning("cache entry %s ignored: %s", path, problem)
        return None, f"cache entry ignored: {problem}"

    def _open(self, raw: bytes, key: str) -> CacheEntry | str:
        try:
            sealed = json.loads(raw)
            body, signature = sealed["entry"], sealed.get("signature")
        except (ValueError, KeyError, TypeError):
            return "unsigned or unreadable (written by an older mlplatform, or forged)"
        payload = canonical_json(body).encode()
        if not signature:
            return "unsigned (written by an older mlplatform, or forged)"
        if not self.signer.verify(payload, str(signature)):
            return (
                f"its signature does not verify with this cache key (key id "
                f"{self.signer.key_id}): it was forged, or signed with another "
                f"{CACHE_KEY_ENV}; everyone sharing this store needs the same key"
            )
        try:
            entry = CacheEntry.from_json(payload)
        except (ValueError, KeyError, TypeError):
            return "its signed content is not a cache entry"
        if entry.key != key:
            return f"it was signed for another key ({entry.key[:12]}…), not {key[:12]}…"
        return entry

    def put(self, entry: CacheEntry) -> None:
        payload = entry.to_json()
        sealed = {"entry": json.loads(payload), "signature": self.signer.sign(payload)}
        self.store.write_bytes(self._entry_key(entry.key), canonical_json(sealed).encode())

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
