"""What a deployment carries from the registry's governance, and when production is refused.

``mlp deploy model`` and ``mlp deploy llm`` read each served version's facts
(``governance.check.facts_from_version``) and render them here, never from flags:

- the semantic version label: the version's ``mlplatform.semver`` tag; a version without one
  is labelled ``N.0.0`` (its MLflow number), which only the stages outside production accept;
- the owner label: the version's ``mlplatform.owner`` tag, else the settings' owner;
- the author annotation (four eyes in the cluster: the production policy denies an approver
  who is the author) and, in production, the current approval: approver, ticket and time.

``violations`` is the production check of a deployment: every version it serves (the primary
and each canary) must meet the rules for entering production (``check_stage_change``), since a
canary takes production traffic too. Pure: facts in, rules out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlplatform.governance.check import VersionFacts, Violation, check_stage_change
from mlplatform.governance.kyverno import (
    APPROVED_AT_ANNOTATION,
    APPROVER_ANNOTATION,
    AUTHOR_ANNOTATION,
    TICKET_ANNOTATION,
)
from mlplatform.governance.rules import APPROVED, RULES, RuleSet

__all__ = [
    "PRODUCTION",
    "approval_annotations",
    "deployed",
    "owner",
    "semver",
    "unknown_version",
    "violations",
]

PRODUCTION = "production"


def semver(facts: VersionFacts | None, version: int) -> str:
    """The version's semantic version, or ``N.0.0`` when none is recorded."""
    if facts is not None and facts.semver:
        return facts.semver
    return f"{version}.0.0"


def owner(facts: VersionFacts | None, default: str) -> str:
    """The version's owner tag, or ``default`` (the settings' owner) when none is recorded."""
    return facts.owner if facts is not None and facts.owner else default


def approval_annotations(facts: VersionFacts | None, stage: str) -> dict[str, str]:
    """The author of the version and, in production, its current approval."""
    if facts is None:
        return {}
    found = {AUTHOR_ANNOTATION: facts.author} if facts.author else {}
    current = facts.approval
    if stage == PRODUCTION and current is not None and current.decision == APPROVED:
        found |= {
            APPROVER_ANNOTATION: current.by,
            TICKET_ANNOTATION: current.ticket,
            APPROVED_AT_ANNOTATION: current.at,
        }
    return {key: value for key, value in found.items() if value}


def unknown_version(name: str) -> VersionFacts:
    """The facts of a model that is not a registry version (an LLM catalog key): none."""
    return VersionFacts(name=name, version=0)


def violations(
    stage: str,
    versions: Sequence[VersionFacts],
    actor: str | None,
    *,
    rules: RuleSet = RULES,
) -> list[Violation]:
    """Every rule that serving ``versions`` in ``stage`` breaks: in production, each must meet
    the rules for entering production; other stages ask nothing here (the policies still
    check owner, semver and lineage in staging). ``actor`` None: who deploys is not checked
    (a renderer does not know it; the CLI passes its actor)."""
    if stage != PRODUCTION:
        return []
    found: list[Violation] = []
    for i, facts in enumerate(versions):
        who = actor if actor is not None and i == 0 else "-"  # the actor once, not per version
        found += check_stage_change(facts, PRODUCTION, who, rules=rules)
    return found


def deployed(
    model: str,
    stage: str,
    namespace: str,
    served: Sequence[tuple[int, str, int]],
) -> dict[str, Any]:
    """What a deployment serves, as its audit record's ``after``: the stage, the namespace,
    the primary version with its semver, and each canary (version, semver, percent).
    ``served`` is (version, semver, percent) per version, the primary first (percent 0)."""
    (version, sem, _), *canaries = served
    return {
        "model": model,
        "stage": stage,
        "namespace": namespace,
        "version": version,
        "semver": sem,
        "canaries": [{"version": v, "semver": s, "percent": p} for v, s, p in canaries],
    }
