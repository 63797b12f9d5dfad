"""Audited alias moves: ``promote`` a version to an alias, ``rollback`` to the previous holder.

Every move is recorded twice:

- on the version that receives the alias, tags ``mlplatform.promoted.<alias>.by``, ``.at``
  (UTC ISO 8601), ``.reason`` and ``.action`` (``promote`` or ``rollback``);
- on the version that loses it in a rollback, ``mlplatform.rolled_back.<alias>.by/.at/.reason``;
- on the registered model, the tag ``mlplatform.alias_history.<alias>``: a JSON list of
  ``{version, by, at, reason, action}``, oldest first.

Replaying that history (a promotion pushes a version, a rollback pops one) gives the stack of
holders; ``rollback`` moves the alias to the one below the top. Every check runs before the
first write, so a rejected operation leaves the registry unchanged; if a write fails after
the alias moved, the alias is put back.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException

from mlplatform.errors import PromotionRejectedError, RegistryError
from mlplatform.tracking.registry import (
    VersionInfo,
    model_client,
    require_model,
    resolve_version,
    version_info,
)

__all__ = ["AliasChange", "alias_history", "previous_holder", "promote", "rollback"]

_HISTORY_TAG = "mlplatform.alias_history.{alias}"
_HISTORY_KEEP = 200  # entries; keeps the tag far below MLflow's 100 kB value limit
_ALIAS = re.compile(r"^[\w\-]{1,255}$")
_RESERVED = re.compile(r"^(latest|[vV]\d+)$")


@dataclass(frozen=True)
class AliasChange:
    """One recorded move of an alias."""

    version: int
    by: str
    at: str
    reason: str
    action: str = "promote"


def promote(
    name: str, alias: str, version: str | int, *, tracking_uri: str, user: str, reason: str
) -> VersionInfo:
    """Move ``alias`` to ``version`` (a number, or another alias's current version) and record
    who, when and why.

    Promoting the version that already holds the alias records the request (new who, when
    and why) without making it a separate step for ``rollback``.

    Raises:
        RegistryError: unknown model.
        PromotionRejectedError: unknown version or invalid alias; nothing was changed.
    """
    client = model_client(tracking_uri, name)
    model = require_model(client, name)
    _check_alias(alias)
    target = _existing_version(client, name, version, f"promote {name!r} to {alias!r}")
    current = _holder(model.aliases, alias)
    change = AliasChange(int(target.version), user, _now(), reason, "promote")
    history = [*_history(model.tags, alias), change]
    _move(client, name, alias, change, history, previous=current)
    return version_info(client, client.get_model_version(name, str(target.version)))


def rollback(
    name: str, alias: str = "champion", *, tracking_uri: str, user: str, reason: str
) -> VersionInfo:
    """Move ``alias`` back to the version that held it before the current one.

    Raises:
        RegistryError: unknown model.
        PromotionRejectedError: the alias has no previous holder in its recorded history,
            was moved outside ``promote``, or the previous version was deleted; nothing was
            changed.
    """
    client = model_client(tracking_uri, name)
    model = require_model(client, name)
    current, history, target = _previous(client, model, name, alias)
    change = AliasChange(int(target.version), user, _now(), reason, "rollback")
    _move(client, name, alias, change, [*history, change], previous=current)
    return version_info(client, client.get_model_version(name, str(target.version)))


def previous_holder(name: str, alias: str = "champion", *, tracking_uri: str) -> int:
    """The version ``rollback`` would move ``alias`` to; checks only, changes nothing.

    Raises:
        RegistryError: unknown model.
        PromotionRejectedError: as ``rollback``.
    """
    client = model_client(tracking_uri, name)
    return int(_previous(client, require_model(client, name), name, alias)[2].version)


def _previous(
    client: MlflowClient, model: RegisteredModel, name: str, alias: str
) -> tuple[str, list[AliasChange], ModelVersion]:
    """The alias's current holder, its history, and the version before the current one."""
    current = _holder(model.aliases, alias)
    history = _history(model.tags, alias)
    holders = _holders(history)
    action = f"roll back {name!r}@{alias}"
    if current is None or not holders or holders[-1] != int(current):
        state = f"points to v{current}" if current else "is not set"
        raise PromotionRejectedError(
            f"cannot {action}: the alias {state} and its recorded history does not end there",
            f"Promote the version you want explicitly: `mlp models promote {name}/VERSION "
            f"--alias {alias}`. Nothing was changed in the registry.",
        )
    if len(holders) < 2:
        raise PromotionRejectedError(
            f"cannot {action}: v{current} is the first version it ever pointed to",
            "There is no previous holder to return to. Nothing was changed in the registry.",
        )
    return current, history, _existing_version(client, name, holders[-2], action)


def alias_history(name: str, alias: str = "champion", *, tracking_uri: str) -> list[AliasChange]:
    """The recorded moves of ``alias``, oldest first.

    Raises:
        RegistryError: unknown model.
    """
    return _history(require_model(model_client(tracking_uri, name), name).tags, alias)


# ---- internals ---------------------------------------------------------------------------
def _move(
    client: MlflowClient,
    name: str,
    alias: str,
    change: AliasChange,
    history: list[AliasChange],
    *,
    previous: str | None,
) -> None:
    """Set the alias, then the audit tags; on a failed tag write, put the alias back."""
    version = str(change.version)
    try:
        client.set_registered_model_alias(name, alias, version)
    except MlflowException as exc:
        raise RegistryError(f"cannot move {name!r}@{alias} to v{version}: {exc.message}") from exc
    try:
        prefix = f"mlplatform.promoted.{alias}"
        for key in ("by", "at", "reason", "action"):
            client.set_model_version_tag(name, version, f"{prefix}.{key}", getattr(change, key))
        if change.action == "rollback" and previous is not None:
            for key in ("by", "at", "reason"):
                tag = f"mlplatform.rolled_back.{alias}.{key}"
                client.set_model_version_tag(name, previous, tag, getattr(change, key))
        payload = json.dumps([asdict(c) for c in history[-_HISTORY_KEEP:]])
        client.set_registered_model_tag(name, _HISTORY_TAG.format(alias=alias), payload)
    except MlflowException as exc:
        _restore(client, name, alias, previous)
        raise RegistryError(
            f"cannot record the move of {name!r}@{alias} to v{version}: {exc.message}",
            f"The alias was put back to {'v' + previous if previous else 'unset'}.",
        ) from exc


def _restore(client: MlflowClient, name: str, alias: str, previous: str | None) -> None:
    if previous is None:
        client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, previous)


def _existing_version(
    client: MlflowClient, name: str, version: str | int, action: str
) -> ModelVersion:
    what = f"version {version}" if str(version).isdigit() else f"alias {version!r}"
    try:
        return resolve_version(client, name, version)
    except RegistryError as exc:
        raise PromotionRejectedError(
            f"cannot {action}: model {name!r} has no {what}",
            f"Run `mlp models show {name}` to see its versions. Nothing was changed in the "
            "registry.",
        ) from exc


def _holder(aliases: dict[str, str] | None, alias: str) -> str | None:
    """The version number ``alias`` points to, as text (stores differ: int or str)."""
    version = (aliases or {}).get(alias)
    return None if version is None else str(version)


def _check_alias(alias: str) -> None:
    if not _ALIAS.match(alias) or _RESERVED.match(alias):
        raise PromotionRejectedError(
            f"{alias!r} is not a valid alias",
            "Use letters, digits, '_' and '-' (not 'latest' or 'v<number>'). "
            "Nothing was changed in the registry.",
        )


def _history(tags: dict[str, str], alias: str) -> list[AliasChange]:
    raw = tags.get(_HISTORY_TAG.format(alias=alias))
    if not raw:
        return []
    try:
        return [AliasChange(**entry) for entry in json.loads(raw)]
    except (TypeError, ValueError) as exc:
        raise RegistryError(
            f"the history tag of alias {alias!r} is not valid JSON: {exc}",
            f"Delete the tag {_HISTORY_TAG.format(alias=alias)} on the model to start over.",
        ) from exc


def _holders(history: list[AliasChange]) -> list[int]:
    """Replay the history: a promotion pushes its version (unless it is already on top), a
    rollback pops the top."""
    stack: list[int] = []
    for change in history:
        if change.action == "rollback" and stack:
            stack.pop()
        if not stack or stack[-1] != change.version:
            stack.append(change.version)
    return stack


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
