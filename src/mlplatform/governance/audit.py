"""The tamper-evident audit log: one signed, hash-chained object per registry change.

Layout under the artifact store root (one chain per registered model, one for the platform)::

    audit/models/<quoted model name>/<seq:012d>.json   a model's records, seq 1, 2, 3 ...
    audit/platform/<seq:012d>.json                     changes that name no model

Each record is created only if absent (object stores cannot append, and two writers must not
both get a sequence number): locally an exclusive hard link of a fully written file; on S3 a
conditional put (``If-None-Match: *``, honoured by AWS S3 and SeaweedFS), on GCS
``ifGenerationMatch=0``, on Azure Blob a put without overwrite. A loser retries with the next
number. A record carries ``prev`` (the previous record's hash, ``GENESIS`` for the first), its
own ``hash`` (sha256 of its canonical JSON without ``hash`` and ``hmac``) and an ``hmac``
(HMAC-SHA256 of the same bytes with the platform key, ``mlplatform.artifacts.signing``).

The head of a model's chain (``<count>:<hash>``) is also kept outside the log, as the
registered model's tag ``mlplatform.audit.head``, so ``verify`` finds:

- an edited record (its hash does not match its contents),
- a removed record (a gap in the sequence),
- reordered records (a record's number or ``prev`` does not match its place),
- a truncated chain (the log ends before the head),
- a chain rewritten consistently without the key (the HMACs do not verify).

What it cannot find: a truncation by someone who can write both the bucket and the registry
tag, anything done by a holder of the key, and a truncation of the platform chain (no head).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mlplatform.artifacts.signing import Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.atomicfile import atomic_write_bytes
from mlplatform.errors import ArtifactError, RegistryError

__all__ = [
    "ACTIONS",
    "GENESIS",
    "HEAD_TAG",
    "PLATFORM",
    "AuditRecord",
    "Head",
    "Problem",
    "append",
    "chain_key",
    "records",
    "verify",
]

ACTIONS = (
    "register",
    "alias",
    "approve",
    "reject",
    "promote",
    "refused",
    "archive",
    "delete",
    "deploy",
    "undeploy",
    "semver",
    "tag",  # a governed version tag changed outside the platform (webhook, reconcile)
    "revert",  # the audit receiver undid a production alias move the rules do not allow
)
GENESIS = "0" * 64
HEAD_TAG = "mlplatform.audit.head"
PLATFORM = "(platform)"  # how the chain of records without a model is named in messages
_PREFIX = "audit"
_RECORD_NAME = re.compile(r"^(\d{12})\.json$")
_MAX_TRIES = 50  # concurrent appenders: each lost race costs one listing and one put


@dataclass(frozen=True)
class AuditRecord:
    """One registry change: who did what to which model version, when, and what it changed."""

    who: str
    what: str
    model: str | None = None
    version: str | None = None
    when: str = ""  # UTC ISO 8601; filled by ``append`` when empty
    before: Any = None
    after: Any = None
    ticket: str | None = None
    note: str | None = None
    seq: int = 0  # filled by ``append``
    prev: str = ""
    key_id: str = ""
    hash: str = ""
    hmac: str = ""

    def body(self) -> bytes:
        """The canonical bytes that ``hash`` and ``hmac`` cover (every field but those two)."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("hash", "hmac")}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()

    def content_hash(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()


@dataclass(frozen=True)
class Head:
    """The latest record of a chain as the registry remembers it."""

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head | None:
        count, _, digest = text.partition(":")
        return cls(int(count), digest) if count.isdigit() and digest else None


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong with a chain, naming the record."""

    chain: str
    seq: int | None
    kind: str  # edited, forged, missing, misplaced, reordered, truncated, unanchored, unreadable
    message: str
    key: str = field(default="", compare=False)


# ---- public API ---------------------------------------------------------------------------
def append(
    record: AuditRecord,
    *,
    store_root: str,
    storage_options: Mapping[str, Any] | None,
    key: str,
    tracking_uri: str | None,
) -> AuditRecord:
    """Write ``record`` as the next record of its model's chain, then move the chain's head.

    Fills ``seq``, ``when`` (if empty), ``prev``, ``key_id``, ``hash`` and ``hmac``. The head
    moves only where the registered model exists; ``tracking_uri`` None keeps no head.

    Raises:
        ArtifactError: unknown action, or the record could not be created in the store.
        RegistryError: the registry could not be read or the head tag not set.
    """
    if record.what not in ACTIONS:
        raise ArtifactError(
            f"unknown audit action {record.what!r}", f"Use one of: {', '.join(ACTIONS)}."
        )
    store = ArtifactStore(store_root, dict(storage_options or {}))
    signer = Signer(key)
    when = record.when or datetime.now(UTC).isoformat(timespec="seconds")
    head = _read_head(tracking_uri, record.model)
    for _ in range(_MAX_TRIES):
        seq, prev = _next_position(store, record.model, head)
        sealed = seal(replace(record, seq=seq, prev=prev, when=when), signer)
        if _create(store, _record_key(record.model, seq), _dump(sealed)):
            _move_head(tracking_uri, record.model, Head(seq, sealed.hash))
            return sealed
    raise ArtifactError(
        f"could not append to the audit log of {_chain_name(record.model)}: "
        f"{_MAX_TRIES} other writers took every next record number first",
        "Run the command again.",
    )


def records(
    *,
    store_root: str,
    storage_options: Mapping[str, Any] | None,
    model: str | None = None,
) -> list[AuditRecord]:
    """The records of ``model``'s chain in order, or of every chain by time when ``model`` is
    None. Unreadable objects are skipped here (``verify`` reports them)."""
    store = ArtifactStore(store_root, dict(storage_options or {}))
    prefixes = [chain_key(model)] if model is not None else _chains(store)
    found = [r for p in prefixes for r in _readable(store, p)]
    return (
        found if model is not None else sorted(found, key=lambda r: (r.when, r.model or "", r.seq))
    )


def verify(
    *,
    store_root: str,
    storage_options: Mapping[str, Any] | None,
    key: str,
    tracking_uri: str | None,
    model: str | None = None,
) -> list[Problem]:
    """Every problem with ``model``'s chain (every chain when None); empty when intact."""
    store = ArtifactStore(store_root, dict(storage_options or {}))
    signer = Signer(key)
    prefixes = [chain_key(model)] if model is not None else _chains(store)
    problems: list[Problem] = []
    for prefix in prefixes:
        name = _model_of(prefix)
        problems += _verify_chain(store, prefix, signer, _anchor(tracking_uri, name))
    return problems


def chain_key(model: str | None) -> str:
    """The store folder of ``model``'s chain (of the platform chain for None)."""
    if model is None:
        return f"{_PREFIX}/platform/"
    return f"{_PREFIX}/models/{quote(model, safe='').replace('.', '%2E')}/"  # never '..'


def seal(record: AuditRecord, signer: Signer) -> AuditRecord:
    """``record`` with ``key_id``, ``hash`` and ``hmac`` computed over its other fields."""
    keyed = replace(record, key_id=signer.key_id, hash="", hmac="")
    return replace(keyed, hash=keyed.content_hash(), hmac=signer.sign(keyed.body()))


# ---- writing ------------------------------------------------------------------------------
def _record_key(model: str | None, seq: int) -> str:
    return f"{chain_key(model)}{seq:012d}.json"


def _chain_name(model: str | None) -> str:
    return PLATFORM if model is None else repr(model)


def _dump(record: AuditRecord) -> bytes:
    return json.dumps(asdict(record), sort_keys=True, indent=1, default=str).encode() + b"\n"


def _next_position(store: ArtifactStore, model: str | None, head: Head | None) -> tuple[int, str]:
    """The next number and the hash it chains to: after the log's last record, or after the
    head where the log ends before it (a truncation stays visible as a gap, never reused)."""
    seqs = _seqs(store, chain_key(model))
    last = max(seqs, default=0)
    if head is not None and head.count > last:
        return head.count + 1, head.hash
    if last == 0:
        return 1, GENESIS
    try:
        tip = _load(store.read_bytes(_record_key(model, last)))
    except (ArtifactError, ValueError, TypeError):
        return last + 1, GENESIS  # an unreadable tip: chain past it; verify reports it
    return last + 1, tip.content_hash()


def _create(store: ArtifactStore, key: str, data: bytes) -> bool:
    """Create ``key`` with ``data`` only if absent: False when another writer has it."""
    url = store.url(key)
    if store.local:
        return _create_local(Path(url[len("file://") :]), data)
    try:
        store.fs.pipe_file(url, data, mode="create")
    except FileExistsError:
        return False
    except OSError as exc:
        # SeaweedFS answers 412 without naming the condition, which s3fs maps to EINVAL. The
        # only condition sent is If-None-Match: *, so a 412 means another writer has the key,
        # or is still writing it (then it may not be listed yet: the next try lists afresh).
        store.fs.invalidate_cache(url.rsplit("/", 1)[0])
        if _precondition_failed(exc) or store.fs.exists(url):
            return False
        raise ArtifactError(f"cannot write the audit record {url}: {exc}") from exc
    return True


def _precondition_failed(exc: OSError) -> bool:
    """S3's 412 PreconditionFailed, as s3fs passes it on (its message, errno EINVAL)."""
    text = str(exc).lower()
    return "precondition" in text or "pre-condition" in text


def _create_local(path: Path, data: bytes) -> bool:
    """A whole, durable file (atomicfile) published by a hard link, which fails if a record
    is already there: exclusive like ``O_EXCL``, and no reader sees a part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")  # is_temporary()
    atomic_write_bytes(staged, data)
    try:
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        staged.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return True


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:
        pass  # a filesystem that cannot sync folders; the record itself is synced
    finally:
        os.close(fd)


# ---- the head in the registry -------------------------------------------------------------
def _client(tracking_uri: str | None) -> Any:
    if tracking_uri is None:
        return None
    from mlplatform.tracking._mlflow import existing_client

    return existing_client(tracking_uri)


def _registered_tags(tracking_uri: str | None, model: str | None) -> dict[str, str] | None:
    """The registered model's tags; None when there is no such model (or no registry)."""
    client = _client(tracking_uri)
    if client is None or model is None:
        return None
    from mlflow.exceptions import MlflowException

    from mlplatform.tracking._mlflow import is_not_found

    try:
        return dict(client.get_registered_model(model).tags or {})
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise RegistryError(f"cannot read registered model {model!r}: {exc.message}") from exc


def _read_head(tracking_uri: str | None, model: str | None) -> Head | None:
    tags = _registered_tags(tracking_uri, model)
    return None if tags is None else Head.parse(tags.get(HEAD_TAG, ""))


def _move_head(tracking_uri: str | None, model: str | None, head: Head) -> None:
    """Set the head tag unless it is already further on (a concurrent appender's)."""
    current = _read_head(tracking_uri, model)
    if model is None or (current is not None and current.count >= head.count):
        return
    client = _client(tracking_uri)
    if client is None or _registered_tags(tracking_uri, model) is None:
        return  # no registered model (a refused registration, or after a delete): no head
    from mlplatform.tracking._mlflow import registry_errors

    with registry_errors(f"cannot move the audit head of {model!r}"):
        client.set_registered_model_tag(model, HEAD_TAG, str(head))


@dataclass(frozen=True)
class _Anchor:
    """What the registry says about a chain: its head, and whether the model exists."""

    head: Head | None
    registered: bool
    has_tag: bool


def _anchor(tracking_uri: str | None, model: str | None) -> _Anchor | None:
    if tracking_uri is None or model is None:
        return None  # nothing to compare with: the platform chain, or no registry given
    tags = _registered_tags(tracking_uri, model)
    if tags is None:
        return _Anchor(None, registered=False, has_tag=False)
    return _Anchor(Head.parse(tags.get(HEAD_TAG, "")), registered=True, has_tag=HEAD_TAG in tags)


# ---- reading ------------------------------------------------------------------------------
def _chains(store: ArtifactStore) -> list[str]:
    folders = {key.rsplit("/", 1)[0] + "/" for key in store.list(f"{_PREFIX}/")}
    return sorted(folders)


def _model_of(prefix: str) -> str | None:
    parts = prefix.strip("/").split("/")
    return unquote(parts[2]) if len(parts) == 3 and parts[1] == "models" else None


def _seqs(store: ArtifactStore, prefix: str) -> list[int]:
    names = (key.rsplit("/", 1)[-1] for key in store.list(prefix))
    return sorted(int(m.group(1)) for m in map(_RECORD_NAME.match, names) if m)


def _load(data: bytes) -> AuditRecord:
    fields = json.loads(data)
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    return AuditRecord(**fields)


def _readable(store: ArtifactStore, prefix: str) -> Iterable[AuditRecord]:
    for seq in _seqs(store, prefix):
        try:
            yield _load(store.read_bytes(f"{prefix}{seq:012d}.json"))
        except (ArtifactError, ValueError, TypeError):
            continue


# ---- verifying ----------------------------------------------------------------------------
class _ChainCheck:
    """Walks one chain's objects in number order, collecting problems."""

    def __init__(self, prefix: str, signer: Signer) -> None:
        self.prefix = prefix
        self.model = _model_of(prefix)
        self.chain = _chain_name(self.model)
        self.signer = signer
        self.problems: list[Problem] = []
        self.hashes: dict[int, str] = {}  # seq -> recomputed hash of each readable record
        self.last: AuditRecord | None = None
        self.actions: set[str] = set()

    def found(self, seq: int | None, kind: str, message: str) -> None:
        where = f"{self.chain} record {seq}" if seq is not None else f"{self.chain}"
        key = f"{self.prefix}{seq:012d}.json" if seq is not None else self.prefix
        self.problems.append(Problem(self.chain, seq, kind, f"{where}: {message}", key))

    def record(self, seq: int, data: bytes, expected_prev: str | None) -> None:
        try:
            rec = _load(data)
        except (ValueError, TypeError) as exc:
            self.found(seq, "unreadable", f"is not an audit record ({exc})")
            return
        self.hashes[seq] = rec.content_hash()
        self.last = rec
        self.actions.add(rec.what)
        if rec.seq != seq:
            self.found(seq, "misplaced", f"holds record {rec.seq} (records moved or swapped)")
        if rec.hash != rec.content_hash():
            self.found(seq, "edited", "its contents do not match its hash (edited after writing)")
        elif not self.signer.verify(rec.body(), rec.hmac):
            self.found(seq, "forged", self._forged(rec))
        if expected_prev is not None and rec.prev != expected_prev:
            self.found(
                seq,
                "reordered",
                f"its previous-record hash does not match record {seq - 1} "
                "(records reordered, or that record changed)",
            )

    def _forged(self, rec: AuditRecord) -> str:
        if rec.key_id and rec.key_id != self.signer.key_id:
            return (
                f"signed with another key (key id {rec.key_id}, this platform's is "
                f"{self.signer.key_id}): rewritten, or written with a different "
                "MLPLATFORM_CACHE_KEY"
            )
        return "its HMAC does not verify with the platform key (rewritten without the key)"


def _verify_chain(
    store: ArtifactStore, prefix: str, signer: Signer, anchor: _Anchor | None
) -> list[Problem]:
    check = _ChainCheck(prefix, signer)
    for name in (key.rsplit("/", 1)[-1] for key in store.list(prefix)):
        if not _RECORD_NAME.match(name):
            check.found(None, "unreadable", f"unexpected object {prefix}{name} in the log")
    seqs = _seqs(store, prefix)
    previous = 0
    for seq in seqs:
        if seq != previous + 1:
            gap = f"{previous + 1}" if seq == previous + 2 else f"{previous + 1} to {seq - 1}"
            check.found(seq, "missing", f"record(s) {gap} before it are missing (removed)")
        expected = GENESIS if seq == 1 else check.hashes.get(seq - 1)
        check.record(seq, store.read_bytes(f"{prefix}{seq:012d}.json"), expected)
        previous = seq
    _check_head(check, anchor, max(seqs, default=0))
    return check.problems


def _check_head(check: _ChainCheck, anchor: _Anchor | None, last: int) -> None:
    """Compare the log's end with the head the registry keeps (see the module docstring)."""
    if anchor is None or last == 0:
        return
    head = anchor.head
    if head is None:
        if anchor.registered and anchor.has_tag:
            check.found(None, "unanchored", f"the registry's {HEAD_TAG} tag is unreadable")
        elif anchor.registered:
            check.found(None, "unanchored", f"the registered model has no {HEAD_TAG} tag")
        elif "register" in check.actions and check.last is not None and check.last.what != "delete":
            check.found(
                None,
                "unanchored",
                "the model is gone from the registry but its last record is "
                "not a delete (deleted outside the platform, or the log was truncated)",
            )
        return
    if last < head.count:
        check.found(
            head.count,
            "truncated",
            f"the registry's head says {head.count} records, the log ends at record {last} "
            "(records were removed from the end)",
        )
    elif check.hashes.get(head.count, head.hash) != head.hash:
        check.found(head.count, "edited", "its hash differs from the head kept in the registry")
