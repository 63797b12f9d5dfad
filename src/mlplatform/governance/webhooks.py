"""MLflow registry webhooks, read without trusting them: verify, map to audit records, decide.

MLflow (3.3+) POSTs one JSON document per registry event to a webhook's URL with three
headers (``mlflow.webhooks.delivery``)::

    X-MLflow-Delivery-Id  a UUID per delivery
    X-MLflow-Timestamp    Unix seconds when it was sent
    X-MLflow-Signature    v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">

``check_delivery`` accepts a delivery only if the signature verifies with the webhook's
secret, the timestamp is within ``tolerance`` seconds of now, and the delivery id was not
accepted before (``ReplayGuard``). ``to_records`` turns an accepted event into audit records
(``who`` is ``mlflow-webhook``: MLflow's payload does not say who made the change), and
``must_revert`` / ``revert_target`` decide what to do about a production alias the rules do
not allow. Everything here is pure: the receiver (``governance.receiver``) does the I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mlplatform.governance.audit import AuditRecord
from mlplatform.governance.check import VersionFacts, Violation, check_alias_move
from mlplatform.governance.rules import (
    APPROVAL_TAG_PREFIX,
    GATE_TAG,
    OWNER_TAG,
    RULES,
    SEMVER_TAG,
    STAGE_TAG,
    RuleSet,
)

__all__ = [
    "DELIVERY_ID_HEADER",
    "EVENTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE",
    "WHO",
    "Delivery",
    "Event",
    "Rejection",
    "ReplayGuard",
    "check_delivery",
    "governed_tag",
    "must_revert",
    "parse_event",
    "revert_record",
    "revert_target",
    "sign",
    "to_records",
]

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
TOLERANCE = 300  # seconds a delivery may be old (or ahead, for a skewed clock)
WHO = "mlflow-webhook"  # MLflow's payload names no user: the record says who observed it
EVENTS = (  # the registry events the receiver subscribes to
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)
_MAX_ID = 200


@dataclass(frozen=True)
class Delivery:
    """One POST as received: its three MLflow headers (None when absent) and its body."""

    delivery_id: str | None
    timestamp: str | None
    signature: str | None
    body: bytes

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], body: bytes) -> Delivery:
        lower = {k.lower(): v for k, v in headers.items()}
        return cls(
            lower.get(DELIVERY_ID_HEADER.lower()),
            lower.get(TIMESTAMP_HEADER.lower()),
            lower.get(SIGNATURE_HEADER.lower()),
            body,
        )


@dataclass(frozen=True)
class Rejection:
    """Why a delivery was refused, and the HTTP status it gets."""

    status: int
    reason: str


@dataclass
class ReplayGuard:
    """Delivery ids accepted within the tolerance window; older ones are refused by their
    timestamp anyway, so they are forgotten."""

    tolerance: int = TOLERANCE
    seen: dict[str, int] = field(default_factory=dict)

    def first_time(self, delivery_id: str, timestamp: int, now: float) -> bool:
        """Remember ``delivery_id``; False when it was accepted before."""
        self.seen = {k: t for k, t in self.seen.items() if now - t <= 2 * self.tolerance}
        if delivery_id in self.seen:
            return False
        self.seen[delivery_id] = timestamp
        return True


@dataclass(frozen=True)
class Event:
    """An accepted registry event: ``entity.action`` and its payload (``data``)."""

    entity: str
    action: str
    data: Mapping[str, Any]
    delivery_id: str

    @property
    def name(self) -> str:
        return f"{self.entity}.{self.action}"

    @property
    def model(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def version(self) -> str | None:
        found = self.data.get("version")
        return None if found is None else str(found)


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """MLflow's signature of a delivery: ``v1,`` + base64(HMAC-SHA256(secret, id.ts.body))."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def check_delivery(
    delivery: Delivery,
    secret: str,
    *,
    now: float,
    guard: ReplayGuard,
    tolerance: int = TOLERANCE,
) -> Rejection | None:
    """None when ``delivery`` is authentic, fresh and new; else why not.

    400: headers missing or malformed. 401: the signature does not verify (forged, or another
    secret), or the timestamp is outside ``tolerance``. 409: the delivery id was accepted
    before (a replay). The id is remembered only once the signature verifies, so a forger
    cannot block a genuine delivery by sending its id first.
    """
    if not delivery.delivery_id or not delivery.timestamp or not delivery.signature:
        return Rejection(400, "missing X-MLflow-Delivery-Id, -Timestamp or -Signature header")
    if len(delivery.delivery_id) > _MAX_ID or not delivery.timestamp.isdigit():
        return Rejection(400, "malformed delivery id or timestamp")
    expected = sign(secret, delivery.delivery_id, delivery.timestamp, delivery.body)
    given = [s.strip() for s in delivery.signature.split(" ")]  # Standard Webhooks: a list
    if not any(hmac.compare_digest(expected, s) for s in given):
        return Rejection(401, "the signature does not verify with the webhook secret (forged)")
    sent = int(delivery.timestamp)
    if abs(now - sent) > tolerance:
        return Rejection(401, f"the timestamp is {int(now - sent)} s off (over {tolerance} s)")
    if not guard.first_time(delivery.delivery_id, sent, now):
        return Rejection(409, "this delivery id was accepted before (a replay)")
    return None


def parse_event(body: bytes, delivery_id: str) -> Event | Rejection:
    """The event in an (authentic) body, or a 400 when it is not one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return Rejection(400, "the body is not JSON")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        return Rejection(400, "the body has no 'data' object")
    entity, action = doc.get("entity"), doc.get("action")
    if not isinstance(entity, str) or not isinstance(action, str) or not doc["data"].get("name"):
        return Rejection(400, "the body names no entity, action or model")
    return Event(entity, action, doc["data"], delivery_id)


def governed_tag(key: str) -> bool:
    """Whether a version tag is one the rules read (a change to it is recorded)."""
    if key.startswith(APPROVAL_TAG_PREFIX):
        return key.endswith(".decision")  # written last: one record per decision
    return key in (STAGE_TAG, SEMVER_TAG, OWNER_TAG, GATE_TAG)


def to_records(event: Event, *, previous: str | None = None) -> list[AuditRecord]:
    """The audit records of ``event`` (none for an event the log does not follow).

    Args:
        event: an accepted event.
        previous: for an alias event, the version the alias pointed at before (the last
            recorded state), shown as ``before``.
    """
    note = f"{event.name} (MLflow webhook delivery {event.delivery_id})"
    base = AuditRecord(who=WHO, what="register", model=event.model, note=note)
    data = event.data
    if event.name == "registered_model.created":
        return [_with(base, after={"tags": dict(data.get("tags") or {})})]
    if event.name == "model_version.created":
        after = {"run_id": data.get("run_id"), "source": data.get("source")}
        return [_with(base, version=event.version, after=after)]
    if event.entity == "model_version_tag" and governed_tag(str(data.get("key", ""))):
        key = str(data["key"])
        value = {key: data.get("value")} if event.action == "set" else None
        return [_with(base, what="tag", version=event.version, before=None, after=value)]
    if event.entity == "model_version_alias":
        alias = str(data.get("alias", ""))
        moved = {alias: event.version} if event.action == "created" else None
        held = {alias: previous} if previous is not None else None
        version = event.version if event.action == "created" else previous
        return [_with(base, what="alias", version=version, before=held, after=moved)]
    return []


def must_revert(
    event: Event, facts: VersionFacts | None, *, rules: RuleSet = RULES
) -> list[Violation]:
    """The rules an alias-created ``event`` breaks (empty: leave it): a production alias on a
    version not in the production stage. ``facts``: the version the alias now points at
    (None: it is gone, nothing to revert)."""
    if event.name != "model_version_alias.created" or facts is None:
        return []
    return check_alias_move(facts, str(event.data.get("alias", "")), WHO, rules=rules)


def revert_target(
    alias: str, previous: VersionFacts | None, *, rules: RuleSet = RULES
) -> str | None:
    """Where a reverted alias goes: back to its previous holder if the rules allow that
    holder, else nowhere (the alias is deleted). Never back to a disallowed holder, so a
    revert cannot start a loop of reverts."""
    if previous is None or check_alias_move(previous, alias, WHO, rules=rules):
        return None
    return str(previous.version)


def revert_record(
    event: Event, target: str | None, broken: list[Violation], when: str = ""
) -> AuditRecord:
    """The record of putting ``event``'s alias back to ``target`` (None: deleted)."""
    alias = str(event.data.get("alias", ""))
    why = "; ".join(v.message for v in broken)
    return AuditRecord(
        who=WHO,
        what="revert",
        model=event.model,
        version=event.version,
        when=when,
        before={alias: event.version},
        after={alias: target} if target is not None else None,
        note=f"reverted a move made outside the platform ({why})",
    )


def _with(base: AuditRecord, **changes: Any) -> AuditRecord:
    return replace(base, **changes)
