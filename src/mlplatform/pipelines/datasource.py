"""Fingerprints of the external data a step reads: the ``data`` component of its cache key.

A step declares which parameters name external data (``@step(data=("source",))``). Their
values are paths, globs, folders or fsspec URLs, and each is fingerprinted by content:

- a local file: the sha256 of its bytes. A :class:`DigestCache` remembers digests by
  (path, size, mtime_ns, inode, device), so an unchanged 10 GB file is not read again; an entry
  is never trusted when any of those differ, nor when the file was modified within
  ``RACY_WINDOW_NS`` of being hashed (a same-size rewrite inside one mtime tick).
- a local folder or glob: the sha256 of the sorted list of (relative path, digest).
- a remote object: the store's own identity of the content (GCS ``md5Hash``/``crc32c``, Azure
  ``content_md5``, S3/Azure ``ETag``, S3 ``VersionId``, GCS ``generation``) plus its size, from
  one metadata call per object (one listing for a prefix or glob), never a download. A store
  that gives none of these is read and hashed (``method="bytes-sha256"``) and ``plan`` says so.
- a URL whose scheme fsspec does not know (``sklearn://``, ``synthetic://``) names data made by
  a library: its value is its identity (``method="value"``); the library version is in the env.

A missing source raises :class:`~mlplatform.errors.DataSourceError` naming the parameter.
"""

from __future__ import annotations

import glob as globlib
import hashlib
import itertools
import json
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlplatform.atomicfile import atomic_write_bytes
from mlplatform.errors import DataSourceError

__all__ = [
    "CACHE_FILE",
    "DigestCache",
    "Fingerprint",
    "fingerprint",
    "fingerprint_params",
    "sha256_file",
]

CACHE_FILE = "data-digests.json"
FALLBACK = "bytes-sha256"
RACY_WINDOW_NS = 2_000_000_000
_CHUNK = 4 * 1024 * 1024
_MAGIC = frozenset("*?[")
# (info field, method): content hashes first, then identities that change with every write
_IDENTITIES = (
    ("md5Hash", "md5"),
    ("crc32c", "crc32c"),
    ("content_md5", "content-md5"),
    ("ETag", "etag"),
    ("etag", "etag"),
    ("VersionId", "version-id"),
    ("generation", "generation"),
)


@dataclass(frozen=True)
class Fingerprint:
    """The content identity of one data source (a file, a folder, a glob or an object).

    ``method`` says how ``digest`` was made: ``sha256`` (local bytes), a store identity
    (``etag``, ``md5``, ...; ``a+b`` when a listing mixes them), ``bytes-sha256`` (remote bytes
    read because the store gives no identity), ``value`` (library data) or ``absent``.
    """

    source: str
    method: str
    digest: str
    size: int | None = None
    objects: int = 1

    @property
    def token(self) -> str:
        """``method:digest``, what the key hashes and MLflow records."""
        return f"{self.method}:{self.digest}"

    @property
    def downloaded(self) -> bool:
        """True when remote bytes were read because the store offers no content identity."""
        return FALLBACK in self.method.split("+")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in large chunks into one reused buffer."""
    digest = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buf):
            digest.update(view[:n])  # hashlib releases the GIL for large updates
    return digest.hexdigest()


class DigestCache:
    """Digests of local files by (path, size, mtime_ns, inode, device), kept in a JSON file.

    ``path=None`` keeps them in memory only. ``save`` writes the file atomically, and only when
    its folder exists (a read-only command in a fresh project creates nothing); a corrupt or
    unreadable file is ignored. ``hashed_bytes`` counts the bytes actually read.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.hashed_bytes = 0
        self._entries: dict[str, list[Any]] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            self._entries = _read_cache(self.path)
        return self._entries

    def digest(self, path: Path, st: os.stat_result) -> str:
        """The sha256 of ``path`` (whose ``stat`` is ``st``), from the cache when trustworthy."""
        name = str(path)
        ident = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
        with self._lock:
            hit = self._load().get(name)
        if hit is not None and hit[:4] == ident and st.st_mtime_ns < hit[5] - RACY_WINDOW_NS:
            return str(hit[4])
        started = time.time_ns()
        value = sha256_file(path)
        with self._lock:
            self.hashed_bytes += st.st_size
            self._load()[name] = [*ident, value, started]
            self._dirty = True
        return value

    def save(self) -> None:
        """Write new digests (merged with the file's current ones) if the folder exists."""
        with self._lock:
            if self.path is None or not self._dirty or not self.path.parent.is_dir():
                return
            merged = {**_read_cache(self.path), **(self._entries or {})}
            doc = {"version": 1, "entries": merged}
            try:
                atomic_write_bytes(self.path, json.dumps(doc, sort_keys=True).encode())
            except OSError:
                return  # a cache that cannot be written costs time, never correctness
            self._dirty = False


def _read_cache(path: Path | None) -> dict[str, list[Any]]:
    if path is None:
        return {}
    try:
        doc = json.loads(path.read_bytes())
        entries = doc["entries"] if doc.get("version") == 1 else {}
        return {
            str(k): list(v)
            for k, v in entries.items()
            if isinstance(v, list) and len(v) == 6 and isinstance(v[4], str)
        }
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return {}


def _missing(value: str, what: str = "does not exist") -> DataSourceError:
    return DataSourceError(
        f"data source {value!r} {what}",
        "Check the path or URL (a relative path is relative to the current folder; a glob "
        "must match at least one file), or pass another one with -p <parameter>=<path>.",
    )


def _scheme(value: str) -> str:
    return value.split("://", 1)[0].lower() if "://" in value else ""


def _is_external(scheme: str) -> bool:
    from fsspec.registry import known_implementations, registry

    return scheme in known_implementations or scheme in registry


def fingerprint(
    value: str,
    *,
    cache: DigestCache | None = None,
    storage_options: Mapping[str, Any] | None = None,
    missing_ok: bool = False,
) -> Fingerprint:
    """The fingerprint of the data named by ``value`` (path, folder, glob or fsspec URL).

    Raises:
        DataSourceError: the source does not exist (unless ``missing_ok``: then its
            fingerprint is ``absent``) or its metadata cannot be read.
    """
    scheme = _scheme(value)
    try:
        if scheme in ("", "file", "local"):
            local = value.split("://", 1)[1] if scheme else value
            return _local(value, Path(local).expanduser(), cache or DigestCache())
        if not _is_external(scheme):
            return Fingerprint(value, "value", value, None, 0)
        return _remote(value, dict(storage_options or {}))
    except FileNotFoundError:
        if missing_ok:
            return Fingerprint(value, "absent", "", None, 0)
        raise _missing(value) from None
    except ImportError as exc:
        raise DataSourceError(
            f"cannot read data source {value!r}: no filesystem for {scheme!r} ({exc})",
            "Install the cloud extra: pip install 'mlplatform[cloud]'.",
        ) from exc
    except OSError as exc:
        raise DataSourceError(
            f"cannot read the metadata of data source {value!r}: {exc}",
            "Check that the path or URL is right and that the credentials for its store are "
            "set in the environment (as the step itself reads it).",
        ) from exc


def _has_magic(path: str) -> bool:
    return any(c in _MAGIC for c in path)


def _local(value: str, path: Path, cache: DigestCache) -> Fingerprint:
    if _has_magic(str(path)):
        root = _glob_root(str(path))
        files = [Path(p) for p in globlib.glob(str(path), recursive=True) if os.path.isfile(p)]
        if not files:
            raise FileNotFoundError(value)
        return _tree(value, Path(root).resolve(), [f.resolve() for f in files], cache)
    path = path.resolve()
    if path.is_dir():
        files = [Path(d) / n for d, _, names in os.walk(path) for n in names]
        return _tree(value, path, files, cache)
    st = path.stat()  # FileNotFoundError: missing
    return Fingerprint(value, "sha256", cache.digest(path, st), st.st_size)


def _glob_root(pattern: str) -> str:
    """The folder a glob's matches are relative to: its parts before the first wildcard."""
    fixed = list(itertools.takewhile(lambda part: not _has_magic(part), pattern.split("/")))
    return "/".join(fixed) or ("/" if pattern.startswith("/") else ".")


def _tree(value: str, root: Path, files: list[Path], cache: DigestCache) -> Fingerprint:
    stats = [(f, f.stat()) for f in sorted(set(files))]
    workers = min(8, os.cpu_count() or 1, max(1, len(stats)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = list(pool.map(lambda fs: cache.digest(*fs), stats))
    names = [f.relative_to(root).as_posix() for f, _ in stats]
    listing = [[n, d] for n, d in zip(names, digests, strict=True)]
    total = sum(st.st_size for _, st in stats)
    return Fingerprint(value, "sha256", _listing_digest(listing), total, len(listing))


def _listing_digest(listing: list[list[Any]]) -> str:
    text = json.dumps(sorted(listing), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _remote(value: str, options: dict[str, Any]) -> Fingerprint:
    import fsspec

    fs, path = fsspec.core.url_to_fs(value, **options)
    fs.invalidate_cache()  # a listing cached by this (shared) instance may be stale
    if _has_magic(path):
        infos: dict[str, Any] = fs.glob(path, detail=True)
        root = _glob_root(path)
    else:
        info = fs.info(path)
        if info.get("type") == "directory":
            infos, root = fs.find(path, detail=True), path
        else:
            infos, root = {path: info}, ""
    files = {k: v for k, v in infos.items() if v.get("type", "file") != "directory"}
    if not files:
        raise FileNotFoundError(value)
    if root == "":
        name, info = next(iter(files.items()))
        method, ident = _identity(fs, name, info)
        return Fingerprint(value, method, ident, _size(info))
    return _remote_tree(value, fs, root, files)


def _remote_tree(value: str, fs: Any, root: str, files: Mapping[str, Any]) -> Fingerprint:
    listing, methods = [], set()
    prefix = root.rstrip("/") + "/"
    for name in sorted(files):
        method, ident = _identity(fs, name, files[name])
        methods.add(method)
        rel = name[len(prefix) :] if name.startswith(prefix) else name
        listing.append([rel, f"{method}:{ident}", _size(files[name])])
    total = sum(_size(i) or 0 for i in files.values())
    method = "+".join(sorted(methods))
    return Fingerprint(value, method, _listing_digest(listing), total, len(listing))


def _size(info: Mapping[str, Any]) -> int | None:
    size = info.get("size")
    return int(size) if size is not None else None


def _identity(fs: Any, name: str, info: Mapping[str, Any]) -> tuple[str, str]:
    """The store's content identity of one object, or the sha256 of its bytes."""
    fields = {**info, **(info.get("content_settings") or {})}
    for field, method in _IDENTITIES:
        raw = fields.get(field)
        if raw in (None, "", b""):
            continue
        text = raw.hex() if isinstance(raw, bytes | bytearray) else str(raw).strip('"')
        return method, f"{text}/{_size(info)}"
    digest = hashlib.sha256()
    with fs.open(name, "rb", block_size=_CHUNK) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return FALLBACK, digest.hexdigest()


def fingerprint_params(
    step: Any,
    params: Mapping[str, Any],
    cache: DigestCache | None = None,
    storage_options: Mapping[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
) -> dict[str, Fingerprint]:
    """Fingerprints of the data parameters ``step`` declares (empty values name no data).

    Args:
        step: the ``Step``; its ``data`` maps parameter names to ``required``/``optional``.
        params: the step's parameter values.
        cache: local file digests (default: a new in-memory cache).
        storage_options: fsspec options for remote sources (default: fsspec's, from the
            environment, as the step itself reads them).
        flags: per parameter, the flag that sets it (``-p source``) for the error's hint.

    Raises:
        DataSourceError: a required source is missing or unreadable; names the parameter.
    """
    out: dict[str, Fingerprint] = {}
    data: Mapping[str, str] = getattr(step, "data", {})
    for name, need in data.items():
        value = params.get(name)
        if value is None or value == "":
            continue
        try:
            out[name] = fingerprint(
                str(value),
                cache=cache,
                storage_options=storage_options,
                missing_ok=need == "optional",
            )
        except DataSourceError as exc:
            flag = (flags or {}).get(name, f"-p {name}")
            raise DataSourceError(
                f"step '{step.name}' parameter '{name}': {exc.headline}",
                exc.hint.replace("-p <parameter>", flag),
            ) from exc
    if cache is not None:
        cache.save()
    return out
