"""Registry operations checked against the governance rules, on plain data.

The facts about a version (``VersionFacts``) are read from its MLflow tags by
``facts_from_version``; every check is a pure function of those facts and returns *every*
broken rule as a ``Violation`` (empty: allowed), so that a refusal names all that is missing
at once. ``refused`` turns violations into the error the CLI prints. Nothing here talks to
MLflow: callers read the version, check, and only then write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mlplatform.errors import PromotionRejectedError
from mlplatform.governance.rules import (
    APPROVAL_FIELDS,
    APPROVAL_TAG_PREFIX,
    APPROVED,
    AUTHOR_TAG,
    DECISIONS,
    GATE_TAG,
    OWNER_TAG,
    RULES,
    SEMVER_TAG,
    STAGE_TAG,
    Rule,
    RuleId,
    RuleSet,
    approval_tag,
)

__all__ = [
    "Approval",
    "VersionFacts",
    "VersionLike",
    "Violation",
    "check_alias_move",
    "check_approval",
    "check_delete",
    "check_delete_model",
    "check_stage_change",
    "facts_from_version",
    "refused",
]


@dataclass(frozen=True)
class Approval:
    """One approval record on a version: ``decision`` is ``approved`` or ``rejected``;
    ``n`` counts from 1 and the highest ``n`` is the current decision."""

    n: int
    decision: str
    by: str
    at: str
    ticket: str
    note: str = ""

    def tags(self) -> dict[str, str]:
        """The version tags that record this approval (what ``facts_from_version`` reads)."""
        return {approval_tag(self.n, key): str(getattr(self, key)) for key in APPROVAL_FIELDS}


@dataclass(frozen=True)
class VersionFacts:
    """What the rules look at on one model version. ``None`` means not recorded."""

    name: str
    version: int
    semver: str | None = None
    owner: str | None = None
    author: str | None = None
    run_id: str | None = None
    stage: str = "none"
    gate: str | None = None
    approvals: tuple[Approval, ...] = ()

    @property
    def approval(self) -> Approval | None:
        """The current decision: the approval record with the highest number."""
        return max(self.approvals, key=lambda a: a.n, default=None)

    @property
    def next_approval(self) -> int:
        """The number the next approval record gets."""
        return max((a.n for a in self.approvals), default=0) + 1


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``detail`` says what is wrong with this version."""

    rule: Rule
    detail: str

    @property
    def message(self) -> str:
        """The detail followed by the rule's id: ``churn v3 has no owner [metadata.owner]``."""
        return f"{self.detail} [{self.rule.id}]"

    @property
    def hint(self) -> str:
        """What to do to meet the rule."""
        return self.rule.hint

    def __str__(self) -> str:
        return self.message


class VersionLike(Protocol):
    """What ``facts_from_version`` reads (``tracking.registry.VersionInfo`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def run_id(self) -> str | None: ...


def facts_from_version(info: VersionLike) -> VersionFacts:
    """The governance facts recorded on a version: its tags and its MLflow run id."""
    tags = info.tags
    return VersionFacts(
        name=info.name,
        version=int(info.version),
        semver=tags.get(SEMVER_TAG) or None,
        owner=tags.get(OWNER_TAG) or None,
        author=tags.get(AUTHOR_TAG) or None,
        run_id=info.run_id or None,
        stage=tags.get(STAGE_TAG) or "none",
        gate=tags.get(GATE_TAG) or None,
        approvals=_approvals(tags),
    )


def check_stage_change(
    facts: VersionFacts, target_stage: str, actor: str, *, rules: RuleSet = RULES
) -> list[Violation]:
    """Every rule that moving ``facts`` to ``target_stage`` by ``actor`` would break."""
    found = _actor(actor, rules)
    if target_stage not in rules.stages:
        detail = f"{target_stage!r} is not a stage ({', '.join(rules.stages)})"
        return [*found, Violation(rules.rule(RuleId.STAGE), detail)]
    for rule in rules.required_for(target_stage):
        broken = _CHECKS[rule.id](facts, rules)
        if broken is not None:
            found.append(Violation(rule, f"{_label(facts)} cannot enter {target_stage}: {broken}"))
    return found


def check_approval(
    facts: VersionFacts,
    approver: str,
    ticket: str,
    *,
    decision: str = APPROVED,
    rules: RuleSet = RULES,
) -> list[Violation]:
    """Every rule that recording ``decision`` by ``approver`` under ``ticket`` would break.

    A rejection needs an identity and a ticket but no second person: an author may withdraw
    their own version.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    found = _actor(approver, rules)
    if not rules.is_ticket(ticket):
        detail = f"ticket {ticket!r} is not a ticket key like MLOPS-123"
        found.append(Violation(rules.rule(RuleId.TICKET), detail))
    if decision == APPROVED and approver.strip():
        broken = _four_eyes(approver, facts.author)
        if broken is not None:
            found.append(Violation(rules.rule(RuleId.FOUR_EYES), f"{_label(facts)}: {broken}"))
    return found


def check_alias_move(
    facts: VersionFacts, alias: str, actor: str, *, rules: RuleSet = RULES
) -> list[Violation]:
    """Every rule that pointing ``alias`` at ``facts`` by ``actor`` would break: a production
    alias (``rules.production_aliases``) only points at a version in the production stage."""
    found = _actor(actor, rules)
    if alias in rules.production_aliases and facts.stage != "production":
        detail = (
            f"{alias!r} is a production alias and {_label(facts)} is in {facts.stage}, "
            "not production"
        )
        found.append(Violation(rules.rule(RuleId.PRODUCTION_ALIAS), detail))
    return found


def check_delete(facts: VersionFacts, *, rules: RuleSet = RULES) -> list[Violation]:
    """The protection rule, if deleting this version would break it."""
    if facts.stage not in rules.protected_stages:
        return []
    detail = f"{_label(facts)} is in {facts.stage}; archive it before deleting it"
    return [Violation(rules.rule(RuleId.DELETE), detail)]


def check_delete_model(
    name: str, versions: Iterable[VersionFacts], *, rules: RuleSet = RULES
) -> list[Violation]:
    """The protection rule for each version that keeps the registered model ``name``."""
    held = [v for v in versions if v.stage in rules.protected_stages]
    return [
        Violation(
            rules.rule(RuleId.DELETE),
            f"model {name!r} holds {_label(v)} in {v.stage}; archive it before deleting the model",
        )
        for v in held
    ]


def refused(
    action: str, violations: Sequence[Violation], *, changed: str = "Nothing was changed."
) -> PromotionRejectedError:
    """The error for a refused ``action``: the broken rules in the headline, one line per
    violation with its hint in the details."""
    ids = ", ".join(dict.fromkeys(str(v.rule.id) for v in violations))
    lines = [f"  - {v.message}\n    {v.hint}" for v in violations]
    return PromotionRejectedError(
        f"cannot {action}: {len(violations)} governance rule(s) not met ({ids})",
        f"Meet each rule listed below, then try again. {changed}",
        details="\n".join(lines),
    )


# ---- the checks of single rules: None when met, else what is wrong -------------------------
def _owner(facts: VersionFacts, rules: RuleSet) -> str | None:
    if not facts.owner:
        return f"no owner is recorded (tag {OWNER_TAG})"
    if not rules.is_owner(facts.owner):
        return f"owner {facts.owner!r} is not a label value"
    return None


def _semver(facts: VersionFacts, rules: RuleSet) -> str | None:
    if not facts.semver:
        return f"no semantic version is recorded (tag {SEMVER_TAG})"
    if not rules.is_semver(facts.semver):
        return f"{facts.semver!r} is not a semantic version X.Y.Z"
    return None


def _lineage(facts: VersionFacts, rules: RuleSet) -> str | None:
    return None if facts.run_id else "it has no MLflow run (no lineage)"


def _gate(facts: VersionFacts, rules: RuleSet) -> str | None:
    if facts.gate == rules.gate_passed:
        return None
    result = f"is {facts.gate!r}" if facts.gate else "is not recorded"
    return f"its evaluation gate {result} (tag {GATE_TAG})"


def _approval(facts: VersionFacts, rules: RuleSet) -> str | None:
    current = facts.approval
    if current is None:
        return "it has no approval"
    if current.decision != APPROVED:
        return f"its latest decision is {current.decision!r} by {current.by or 'nobody'}"
    return None


def _ticket(facts: VersionFacts, rules: RuleSet) -> str | None:
    current = facts.approval
    if current is None or current.decision != APPROVED or rules.is_ticket(current.ticket):
        return None
    return f"the approval's ticket {current.ticket!r} is not a ticket key like MLOPS-123"


def _four_eyes_rule(facts: VersionFacts, rules: RuleSet) -> str | None:
    current = facts.approval
    if current is None or current.decision != APPROVED:
        return None
    return _four_eyes(current.by, facts.author)


_CHECKS: dict[RuleId, Callable[[VersionFacts, RuleSet], str | None]] = {
    RuleId.OWNER: _owner,
    RuleId.SEMVER: _semver,
    RuleId.LINEAGE: _lineage,
    RuleId.GATE: _gate,
    RuleId.APPROVAL: _approval,
    RuleId.TICKET: _ticket,
    RuleId.FOUR_EYES: _four_eyes_rule,
}


def _four_eyes(approver: str, author: str | None) -> str | None:
    if not approver.strip():
        return "the approval names no approver"
    if not author:
        return f"its author is not recorded (tag {AUTHOR_TAG}), so four eyes cannot be shown"
    if approver.strip().casefold() == author.strip().casefold():
        return f"{approver!r} is its author and cannot approve it"
    return None


def _actor(actor: str, rules: RuleSet) -> list[Violation]:
    if actor.strip():
        return []
    return [Violation(rules.rule(RuleId.ACTOR), "nobody is named as making this change")]


def _label(facts: VersionFacts) -> str:
    return f"{facts.name} v{facts.version}"


def _approvals(tags: Mapping[str, str]) -> tuple[Approval, ...]:
    """The approval records in ``tags`` (``mlplatform.approval.<n>.<field>``), by number."""
    fields: dict[int, dict[str, str]] = {}
    for key, value in tags.items():
        if not key.startswith(APPROVAL_TAG_PREFIX):
            continue
        number, _, name = key[len(APPROVAL_TAG_PREFIX) :].partition(".")
        if number.isdigit() and name in APPROVAL_FIELDS:
            fields.setdefault(int(number), {})[name] = value
    return tuple(
        Approval(
            n=n,
            decision=record.get("decision", ""),
            by=record.get("by", ""),
            at=record.get("at", ""),
            ticket=record.get("ticket", ""),
            note=record.get("note", ""),
        )
        for n, record in sorted(fields.items())
    )
