"""Reconciliation: record the registry changes no event recorded (MLflow sends no webhook for
deletions, and none reaches a receiver that is down).

The last recorded state of the registry (every model's versions with their stage, and its
aliases) is one signed object beside the audit log::

    registry-snapshot/latest.json   {"format": 1, "models": {...}, "key_id": ..., "hmac": ...}

(outside ``audit/``, so it is never taken for a chain). It is written whole (atomically on a
local store; an object store makes a put visible only when complete) and carries an HMAC with
the platform key, so an edited snapshot cannot hide a change: ``reconcile`` refuses it.

``reconcile`` reads the registry, appends one record per difference from the snapshot
(``who`` is ``mlflow-reconcile``), then saves the new snapshot; with no change it appends
nothing. The audit receiver applies each webhook event it records to the snapshot too
(``apply_event``), so a change is recorded once: by whichever sees it first. With no
snapshot yet, the first run records nothing and saves the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlplatform.artifacts.signing import Signer
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.errors import ArtifactError, ArtifactNotFoundError
from mlplatform.governance import audit
from mlplatform.governance.audit import AuditRecord
from mlplatform.governance.rules import STAGE_TAG
from mlplatform.governance.webhooks import Event

__all__ = [
    "SNAPSHOT_KEY",
    "WHO",
    "ModelState",
    "Reconciled",
    "Snapshot",
    "apply_event",
    "diff",
    "load_snapshot",
    "read_registry",
    "reconcile",
    "save_snapshot",
]

SNAPSHOT_KEY = "registry-snapshot/latest.json"
WHO = "mlflow-reconcile"
_NOTE = "found by reconciliation: changed outside the platform with no webhook event"
_FORMAT = 1


@dataclass(frozen=True)
class ModelState:
    """One registered model as last recorded: version -> stage, alias -> version."""

    versions: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """The registry as last recorded, by model name."""

    models: Mapping[str, ModelState] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        models = {
            name: {"versions": dict(m.versions), "aliases": dict(m.aliases)}
            for name, m in sorted(self.models.items())
        }
        return {"format": _FORMAT, "models": models}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Snapshot:
        models = {
            str(name): ModelState(
                {str(k): str(v) for k, v in m.get("versions", {}).items()},
                {str(k): str(v) for k, v in m.get("aliases", {}).items()},
            )
            for name, m in data.get("models", {}).items()
        }
        return cls(models)

    def only(self, model: str | None) -> Snapshot:
        """The part of the snapshot about ``model`` (all of it for None)."""
        if model is None:
            return self
        return Snapshot({k: v for k, v in self.models.items() if k == model})

    def merged(self, part: Snapshot, model: str | None) -> Snapshot:
        """This snapshot with ``model``'s entry taken from ``part`` (all of it for None)."""
        if model is None:
            return part
        rest = {k: v for k, v in self.models.items() if k != model}
        return Snapshot({**rest, **part.only(model).models})

    def alias(self, model: str, alias: str) -> str | None:
        state = self.models.get(model)
        return None if state is None else state.aliases.get(alias)


@dataclass(frozen=True)
class Reconciled:
    """What a reconciliation did: the records it appended; ``baseline`` when there was no
    snapshot to compare with (nothing recorded, the current state saved)."""

    records: list[AuditRecord]
    baseline: bool = False


# ---- the pure part ------------------------------------------------------------------------
def diff(old: Snapshot, new: Snapshot, *, who: str = WHO, note: str = _NOTE) -> list[AuditRecord]:
    """One audit record per change from ``old`` to ``new``, model by model."""
    found: list[AuditRecord] = []
    for name in sorted(set(old.models) | set(new.models)):
        before, after = old.models.get(name), new.models.get(name)
        base = AuditRecord(who=who, what="register", model=name, note=note)
        if after is None:
            assert before is not None
            found.append(replace(base, what="delete", before=dict(before.versions), after=None))
            continue
        if before is None:
            found.append(replace(base, after={"versions": dict(after.versions)}))
            before = ModelState()
        found += _version_changes(base, before, after)
        found += _alias_changes(base, before, after)
    return found


def _version_changes(base: AuditRecord, old: ModelState, new: ModelState) -> list[AuditRecord]:
    found = []
    for v in sorted(set(old.versions) | set(new.versions), key=_number):
        was, now = old.versions.get(v), new.versions.get(v)
        if now is None:
            found.append(replace(base, what="delete", version=v, before=was, after=None))
        elif was is None:
            found.append(replace(base, version=v, after={STAGE_TAG: now}))
        elif was != now:
            found.append(
                replace(
                    base, what="tag", version=v, before={STAGE_TAG: was}, after={STAGE_TAG: now}
                )
            )
    return found


def _alias_changes(base: AuditRecord, old: ModelState, new: ModelState) -> list[AuditRecord]:
    found = []
    for alias in sorted(set(old.aliases) | set(new.aliases)):
        was, now = old.aliases.get(alias), new.aliases.get(alias)
        if was != now:
            found.append(
                replace(
                    base,
                    what="alias",
                    version=now if now is not None else was,
                    before=None if was is None else {alias: was},
                    after=None if now is None else {alias: now},
                )
            )
    return found


def apply_event(snapshot: Snapshot, event: Event) -> Snapshot:
    """``snapshot`` with the change ``event`` reports (unchanged for an event it does not
    follow). A version created with no stage tag is in stage ``none``."""
    name, data = event.model, event.data
    state = snapshot.models.get(name, ModelState())
    versions, aliases = dict(state.versions), dict(state.aliases)
    version = event.version
    if event.name == "model_version.created" and version is not None:
        tags = data.get("tags") or {}
        versions[version] = str(tags.get(STAGE_TAG) or "none")
    elif event.entity == "model_version_tag" and data.get("key") == STAGE_TAG and version:
        versions[version] = str(data.get("value")) if event.action == "set" else "none"
    elif event.name == "model_version_alias.created" and version is not None:
        aliases[str(data.get("alias"))] = version
    elif event.name == "model_version_alias.deleted":
        aliases.pop(str(data.get("alias")), None)
    elif event.name != "registered_model.created":
        return snapshot
    return Snapshot({**snapshot.models, name: ModelState(versions, aliases)})


def apply_record(snapshot: Snapshot, record: AuditRecord) -> Snapshot:
    """``snapshot`` with the change a platform ``record`` made (``governance.operations``:
    register, alias, promote, archive, delete), so that neither the webhook receiver nor a
    reconciliation records it a second time as a change from outside. Other records change
    nothing."""
    name, version, after = record.model, record.version, record.after
    if name is None:
        return snapshot
    state = snapshot.models.get(name, ModelState())
    versions, aliases = dict(state.versions), dict(state.aliases)
    if record.what == "register" and version is not None:
        versions.setdefault(version, "none")
    elif record.what == "alias" and isinstance(after, Mapping):
        aliases[str(after["alias"])] = str(after["version"])
    elif record.what == "alias" and isinstance(record.before, Mapping):
        aliases.pop(str(record.before.get("alias")), None)
    elif record.what in ("promote", "archive") and version is not None:
        versions[version] = str(after)
    elif record.what == "delete" and version is None:
        return Snapshot({k: v for k, v in snapshot.models.items() if k != name})
    elif record.what == "delete" and version is not None:
        versions.pop(version, None)
        aliases = {a: v for a, v in aliases.items() if v != version}
    else:
        return snapshot
    return Snapshot({**snapshot.models, name: ModelState(versions, aliases)})


def remember(
    record: AuditRecord, *, store_root: str, storage_options: Mapping[str, Any] | None, key: str
) -> None:
    """Keep the last recorded state current after a platform change (``apply_record``). No
    snapshot yet (no receiver, never reconciled): nothing to keep."""
    store = ArtifactStore(store_root, dict(storage_options or {}))
    signer = Signer(key)
    last = load_snapshot(store, signer)
    if last is None:
        return
    updated = apply_record(last, record)
    if updated != last:
        save_snapshot(store, signer, updated)


def _number(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


# ---- the snapshot in the store ------------------------------------------------------------
def _signed_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def load_snapshot(store: ArtifactStore, signer: Signer) -> Snapshot | None:
    """The last recorded state, None when there is none yet.

    Raises:
        ArtifactError: the snapshot is unreadable or its HMAC does not verify.
    """
    try:
        raw = store.read_bytes(SNAPSHOT_KEY)
    except ArtifactNotFoundError:
        return None
    hint = (
        f"Compare the registry with `mlp audit list` by hand, then delete {store.url(SNAPSHOT_KEY)}"
        ": the next `mlp audit reconcile` saves the current registry as its new baseline."
    )
    try:
        doc = json.loads(raw)
        body = {"format": doc["format"], "models": doc["models"]}
    except (ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(f"the registry snapshot is unreadable ({exc})", hint) from exc
    if not signer.verify(_signed_bytes(body), doc.get("hmac")):
        raise ArtifactError(
            "the registry snapshot's HMAC does not verify with the platform key "
            "(edited, or written with another MLPLATFORM_CACHE_KEY)",
            hint,
        )
    return Snapshot.from_data(body)


def save_snapshot(store: ArtifactStore, signer: Signer, snapshot: Snapshot) -> None:
    """Write ``snapshot`` whole, signed."""
    body = snapshot.to_data()
    doc = {**body, "key_id": signer.key_id, "hmac": signer.sign(_signed_bytes(body))}
    store.write_bytes(SNAPSHOT_KEY, json.dumps(doc, sort_keys=True, indent=1).encode() + b"\n")


# ---- the registry -------------------------------------------------------------------------
def read_registry(tracking_uri: str, model: str | None = None) -> Snapshot:
    """The registry now: every model's (or ``model``'s) versions with stage, and aliases.

    Raises:
        RegistryError: the registry could not be read.
    """
    from mlplatform.tracking._mlflow import existing_client, registry_errors

    client = existing_client(tracking_uri)
    if client is None:
        return Snapshot()
    with registry_errors("cannot read the registry to reconcile the audit log"):
        found = _models(client, model)
        return Snapshot({m.name: _state(client, m) for m in found})


def _models(client: Any, model: str | None) -> list[Any]:
    if model is not None:
        from mlflow.exceptions import MlflowException

        from mlplatform.tracking._mlflow import is_not_found

        try:
            return [client.get_registered_model(model)]
        except MlflowException as exc:
            if is_not_found(exc):
                return []
            raise
    return list(_pages(lambda token: client.search_registered_models(page_token=token)))


def _state(client: Any, model: Any) -> ModelState:
    from mlplatform.tracking._mlflow import quoted

    query = f"name = {quoted(model.name)}"
    found = _pages(lambda token: client.search_model_versions(query, page_token=token))
    versions = {str(v.version): (v.tags or {}).get(STAGE_TAG) or "none" for v in found}
    aliases = {str(a): str(v) for a, v in (model.aliases or {}).items()}
    return ModelState(versions, aliases)


def _pages(fetch: Any) -> Iterable[Any]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


# ---- reconcile ----------------------------------------------------------------------------
def reconcile(
    *,
    tracking_uri: str,
    store_root: str,
    storage_options: Mapping[str, Any] | None,
    key: str,
    model: str | None = None,
) -> Reconciled:
    """Append a record for each change between the last recorded state and the registry
    (``model``'s only, or every model's), then save the new state.

    Raises:
        ArtifactError: the snapshot is unreadable or forged, or a record could not be written.
        RegistryError: the registry could not be read.
    """
    store = ArtifactStore(store_root, dict(storage_options or {}))
    signer = Signer(key)
    last = load_snapshot(store, signer)
    if last is None:  # the baseline is always the whole registry
        save_snapshot(store, signer, read_registry(tracking_uri))
        return Reconciled([], baseline=True)
    now = read_registry(tracking_uri, model)
    written = [
        audit.append(
            record,
            store_root=store_root,
            storage_options=storage_options,
            key=key,
            tracking_uri=tracking_uri,
        )
        for record in diff(last.only(model), now)
    ]
    save_snapshot(store, signer, last.merged(now, model))
    return Reconciled(written)
