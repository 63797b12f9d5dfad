"""Semantic versions of registered model versions, derived from what changed.

Compared with the previous version of the same model (the highest version number below it):

- **major** when the interface changed: the MLflow model signature's inputs or outputs
  (read from the version's ``MLmodel``), or, for an LLM (tag ``mlp.kind = llm``), the
  served name or the context length its clients see;
- **patch** when the artifacts are the same (the same MLflow run, or the same content
  digest) and only metadata changed;
- **minor** otherwise: retrained with the same interface;
- the first version is ``1.0.0``. A version registered before semantic versions existed
  counts as ``N.0.0`` (what deployments were labelled with until then).

The result is the version tag ``mlplatform.semver``, with ``mlplatform.semver.change``
(first, major, minor, patch or override) and ``mlplatform.semver.reason`` beside it. A user
may set the version by hand (``override``) with a reason; it must not be used by another
version of the model. ``next_semver`` is the pure rule; ``assign_semver`` reads the registry
and writes the tags.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from mlplatform.errors import RegistryError
from mlplatform.governance.check import Violation, refused
from mlplatform.governance.rules import (
    MODEL_DIGEST_TAG,
    RULES,
    SEMVER_BY_TAG,
    SEMVER_CHANGE_TAG,
    SEMVER_REASON_TAG,
    SEMVER_TAG,
    RuleId,
    RuleSet,
)

__all__ = [
    "Change",
    "SemverAssignment",
    "assign_semver",
    "bump",
    "change_kind",
    "next_semver",
    "parse_semver",
    "signatures_differ",
]

Change = Literal["first", "major", "minor", "patch"]
Signature = Mapping[str, Any]

_LLM_KIND = ("mlp.kind", "llm")  # llm.registry.KIND_TAG, LLM_KIND
_LLM_INTERFACE = ("mlp.llm.served_name", "mlp.llm.context_length")
_DIGEST_TAGS = (MODEL_DIGEST_TAG, "mlp.llm.digest")


def parse_semver(text: str, *, rules: RuleSet = RULES) -> tuple[int, int, int]:
    """``"1.4.0"`` -> ``(1, 4, 0)``.

    Raises:
        ValueError: ``text`` is not MAJOR.MINOR.PATCH.
    """
    if not rules.is_semver(text):
        raise ValueError(f"{text!r} is not a semantic version MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in text.split("."))
    return major, minor, patch


def bump(semver: str, change: Change) -> str:
    """``semver`` moved by ``change`` (``first`` gives ``1.0.0``)."""
    if change == "first":
        return "1.0.0"
    major, minor, patch = parse_semver(semver)
    if change == "major":
        return f"{major + 1}.0.0"
    if change == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def signatures_differ(previous: Signature | None, new: Signature | None) -> bool:
    """Whether the inputs or outputs of two signatures (``ModelSignature.to_dict()``, or the
    ``signature`` of an ``MLmodel`` file) differ; two missing signatures do not."""
    return _interface(previous) != _interface(new)


def change_kind(
    previous: str | None, prev_sig: Signature | None, new_sig: Signature | None, same_run: bool
) -> Change:
    """What kind of change the new version is (see the module docstring)."""
    if previous is None:
        return "first"
    if signatures_differ(prev_sig, new_sig):
        return "major"
    return "patch" if same_run else "minor"


def next_semver(
    previous: str | None, prev_sig: Signature | None, new_sig: Signature | None, same_run: bool
) -> str:
    """The semantic version of a new version, given the previous version's (``None``: this is
    the first), both signatures, and whether both come from the same run or artifacts.

    Raises:
        ValueError: ``previous`` is not a semantic version.
    """
    return bump(previous or "1.0.0", change_kind(previous, prev_sig, new_sig, same_run))


@dataclass(frozen=True)
class SemverAssignment:
    """The semantic version of ``name`` ``version`` and why it is that."""

    name: str
    version: int
    semver: str
    change: str
    reason: str
    previous_version: int | None = None
    previous_semver: str | None = None


def assign_semver(
    name: str,
    version: int | str,
    tracking_uri: str,
    override: str | None = None,
    reason: str | None = None,
    *,
    actor: str | None = None,
    rules: RuleSet = RULES,
) -> SemverAssignment:
    """Give ``name`` ``version`` its semantic version and record it in its tags.

    Idempotent: a version that has one keeps it, unless ``override`` sets another (with a
    ``reason``, recorded with ``actor``).

    Raises:
        RegistryError: unknown model or version, or a signature that cannot be read.
        PromotionRejectedError: the override breaks a rule (format, reason, already used);
            nothing was changed.
    """
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    target, versions = _read(client, name, int(version))
    current = (target.tags or {}).get(SEMVER_TAG)
    if override is None and current and rules.is_semver(current):
        tags = target.tags or {}
        change, why = tags.get(SEMVER_CHANGE_TAG, ""), tags.get(SEMVER_REASON_TAG, "")
        return SemverAssignment(name, int(version), current, change, why)
    used = {_semver_of(v) for v in versions if v.version != target.version}
    previous = _previous(versions, int(version))
    if override is not None:
        found = _override_violations(override, reason, used, rules)
        if found:
            raise refused(f"set the semantic version of {name} v{version}", found)
        result = SemverAssignment(name, int(version), override, "override", str(reason))
    else:
        result = _derive(client, target, previous, used, tracking_uri, rules)
    _write(client, result, actor)
    return result


# ---- internals ---------------------------------------------------------------------------
def _derive(
    client: MlflowClient,
    target: ModelVersion,
    previous: ModelVersion | None,
    used: Collection[str],
    tracking_uri: str,
    rules: RuleSet,
) -> SemverAssignment:
    name, number = target.name, int(target.version)
    if previous is None:
        semver = "1.0.0"
        while semver in used:  # a later version was given 1.0.0 by hand
            semver = bump(semver, "major")
        return SemverAssignment(name, number, semver, "first", "first version of the model")
    before = _semver_of(previous)
    if not rules.is_semver(before):
        detail = f"the previous version v{previous.version} has semver {before!r}"
        found = [Violation(rules.rule(RuleId.SEMVER), detail)]
        raise refused(f"derive the semantic version of {name} v{number}", found)
    prev_sig = _signature(client, previous, tracking_uri)
    new_sig = _signature(client, target, tracking_uri)
    change = change_kind(before, prev_sig, new_sig, _same(previous, target))
    semver = bump(before, change)
    while semver in used:  # only after overrides: move on to the next free number
        semver = bump(semver, change)
    why = _REASONS[change].format(v=previous.version, run=target.run_id or "none")
    return SemverAssignment(name, number, semver, change, why, int(previous.version), before)


_REASONS: dict[str, str] = {
    "major": "the signature (inputs or outputs) differs from v{v}",
    "minor": "retrained (run {run}) with the signature of v{v}",
    "patch": "the same run or artifacts as v{v}: only metadata changed",
}


def _override_violations(
    override: str, reason: str | None, used: Collection[str], rules: RuleSet
) -> list[Violation]:
    found: list[Violation] = []
    if not rules.is_semver(override):
        detail = f"{override!r} is not a semantic version X.Y.Z"
        found.append(Violation(rules.rule(RuleId.SEMVER), detail))
    if not (reason or "").strip():
        detail = "a semantic version given by hand needs a reason"
        found.append(Violation(rules.rule(RuleId.SEMVER_OVERRIDE), detail))
    if override in used:
        detail = f"{override} is already the semantic version of another version"
        found.append(Violation(rules.rule(RuleId.SEMVER_OVERRIDE), detail))
    return found


def _read(client: MlflowClient, name: str, version: int) -> tuple[ModelVersion, list[ModelVersion]]:
    """The version, and every version of the model."""
    try:
        target = client.get_model_version(name, str(version))
        query = "name = '" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
        versions = list(client.search_model_versions(query, max_results=10000))
    except MlflowException as exc:
        raise RegistryError(
            f"cannot read {name} v{version}: {exc.message}",
            f"Run `mlp models show {name}` to see its versions.",
        ) from exc
    return target, versions


def _previous(versions: list[ModelVersion], version: int) -> ModelVersion | None:
    earlier = [v for v in versions if int(v.version) < version]
    return max(earlier, key=lambda v: int(v.version), default=None)


def _semver_of(found: ModelVersion) -> str:
    """The recorded semver; ``N.0.0`` for a version from before semantic versions."""
    return (found.tags or {}).get(SEMVER_TAG) or f"{found.version}.0.0"


def _same(previous: ModelVersion, target: ModelVersion) -> bool:
    """Whether both versions hold the same artifacts: one run, or one content digest."""
    if previous.run_id and previous.run_id == target.run_id:
        return True
    before, after = previous.tags or {}, target.tags or {}
    return any(before.get(tag) and before.get(tag) == after.get(tag) for tag in _DIGEST_TAGS)


def _signature(client: MlflowClient, found: ModelVersion, tracking_uri: str) -> Signature | None:
    """The version's interface: its MLmodel signature, or an LLM's served name and context."""
    tags = found.tags or {}
    if tags.get(_LLM_KIND[0]) == _LLM_KIND[1]:
        return {"inputs": {k: tags.get(k, "") for k in _LLM_INTERFACE}, "outputs": None}
    try:
        location = client.get_model_version_download_uri(found.name, str(found.version))
        with tempfile.TemporaryDirectory(prefix="mlp-semver-") as folder:
            path = download_artifacts(
                artifact_uri=location.rstrip("/") + "/MLmodel",
                tracking_uri=tracking_uri,
                dst_path=folder,
            )
            signature = Model.load(path).signature
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"cannot read the signature of {found.name} v{found.version}: {exc}",
            "Check that its artifacts are reachable, or give its semantic version by hand "
            "with a reason: `mlp models semver NAME VERSION X.Y.Z --reason TEXT`.",
        ) from exc
    return None if signature is None else dict(signature.to_dict())


def _interface(signature: Signature | None) -> tuple[Any, Any] | None:
    if signature is None:
        return None
    return _loaded(signature.get("inputs")), _loaded(signature.get("outputs"))


def _loaded(part: Any) -> Any:
    """A signature part as data: ``MLmodel`` keeps the schemas as JSON text."""
    if isinstance(part, str):
        try:
            return json.loads(part)
        except ValueError:
            return part
    return part


def _write(client: MlflowClient, result: SemverAssignment, actor: str | None) -> None:
    """The change and reason first, the semver last: a semver tag means a complete record."""
    tags = {SEMVER_CHANGE_TAG: result.change, SEMVER_REASON_TAG: result.reason}
    if actor:
        tags[SEMVER_BY_TAG] = actor
    tags[SEMVER_TAG] = result.semver
    try:
        for key, value in tags.items():
            client.set_model_version_tag(result.name, str(result.version), key, value)
    except MlflowException as exc:
        raise RegistryError(
            f"cannot record the semantic version of {result.name} v{result.version}: {exc.message}"
        ) from exc
