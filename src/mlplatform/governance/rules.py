"""The one governance rule set: what a model version needs for each stage, who may approve it,
what production requires and what is protected from deletion.

Everything that checks or renders governance reads it from here: the local registry checks
(``governance.check``), the semantic versions (``governance.semver``) and the Kyverno
policies rendered for the cluster. Patterns are written in the RE2 subset (no look-around,
no back-references) so that the very same strings work in Python's ``re`` and in CEL's
``matches()``.

Stages, in order of a version's life: ``none`` (registered, not governed yet), ``staging``,
``production``, ``archived``. A stage asks for the rules listed in ``RuleSet.requirements``:

- staging: an owner, a semantic version ``X.Y.Z``, lineage to the MLflow run that logged it;
- production: the same, plus a passed evaluation gate and a current approval whose ticket is
  well formed and whose approver is not the version's author (four eyes);
- none and archived: nothing (archiving is always allowed: it is how protection is lifted).

A production version, and a registered model holding one, cannot be deleted until archived.
A production alias (``production``; ``champion`` too where the project ties it to production)
points only at a version in the production stage.

Every fact is a tag on the MLflow model version, under the ``mlplatform.`` prefix (the names
below); the run id is MLflow's own ``run_id`` of the version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = [
    "APPROVAL_FIELDS",
    "APPROVAL_TAG_PREFIX",
    "APPROVED",
    "AUTHOR_TAG",
    "DECISIONS",
    "GATE_EXPR_TAG",
    "GATE_PASSED",
    "GATE_TAG",
    "MODEL_DIGEST_TAG",
    "OWNER_PATTERN",
    "OWNER_TAG",
    "REJECTED",
    "RULES",
    "SEMVER_BY_TAG",
    "SEMVER_CHANGE_TAG",
    "SEMVER_PATTERN",
    "SEMVER_REASON_TAG",
    "SEMVER_TAG",
    "STAGES",
    "STAGE_AT_TAG",
    "STAGE_BY_TAG",
    "STAGE_TAG",
    "TICKET_PATTERN",
    "Rule",
    "RuleId",
    "RuleSet",
    "StageRequirement",
    "approval_tag",
]

# ---- patterns (RE2 subset: usable in CEL as they are) ------------------------------------
SEMVER_PATTERN = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"
"""MAJOR.MINOR.PATCH, no leading zeros, no pre-release or build part (``1.4.0``)."""

TICKET_PATTERN = r"^[A-Z][A-Z0-9]+-[0-9]+$"
"""A change ticket key as JIRA, Linear or YouTrack write it: project key, dash, number
(``MLOPS-123``)."""

OWNER_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
"""An owner is a Kubernetes label value (it becomes the ``mlplatform.io/owner`` label)."""

# ---- stages and the tags that record facts on a version -----------------------------------
STAGES = ("none", "staging", "production", "archived")

STAGE_TAG = "mlplatform.stage"
STAGE_BY_TAG = "mlplatform.stage.by"
STAGE_AT_TAG = "mlplatform.stage.at"
OWNER_TAG = "mlplatform.owner"
AUTHOR_TAG = "mlplatform.author"
GATE_TAG = "mlplatform.gate"  # written by the register step: "passed" or "failed"
GATE_PASSED = "passed"
GATE_EXPR_TAG = "mlplatform.gate.expr"  # the gate's conditions, where a command set them
MODEL_DIGEST_TAG = "mlplatform.model_digest"  # tracking.registry.DIGEST_TAG
SEMVER_TAG = "mlplatform.semver"
SEMVER_CHANGE_TAG = "mlplatform.semver.change"  # first, major, minor, patch or override
SEMVER_REASON_TAG = "mlplatform.semver.reason"
SEMVER_BY_TAG = "mlplatform.semver.by"

APPROVAL_TAG_PREFIX = "mlplatform.approval."
APPROVAL_FIELDS = ("decision", "by", "at", "ticket", "note")
APPROVED, REJECTED = "approved", "rejected"
DECISIONS = (APPROVED, REJECTED)


def approval_tag(n: int, name: str) -> str:
    """The tag of field ``name`` of the ``n``-th approval record:
    ``mlplatform.approval.<n>.<name>`` (``n`` counts from 1; the highest is current)."""
    if name not in APPROVAL_FIELDS:
        raise ValueError(f"{name!r} is not an approval field: {', '.join(APPROVAL_FIELDS)}")
    return f"{APPROVAL_TAG_PREFIX}{n}.{name}"


# ---- the rules ---------------------------------------------------------------------------
class RuleId(StrEnum):
    """The name of each rule, as errors, audit records and rendered policies show it."""

    STAGE = "stage.known"
    ACTOR = "identity.actor"
    OWNER = "metadata.owner"
    SEMVER = "metadata.semver"
    LINEAGE = "metadata.lineage"
    GATE = "production.gate"
    APPROVAL = "production.approval"
    TICKET = "approval.ticket"
    FOUR_EYES = "approval.four_eyes"
    DELETE = "delete.protected"
    PRODUCTION_ALIAS = "production.alias"
    SEMVER_OVERRIDE = "semver.override"


@dataclass(frozen=True)
class Rule:
    """One rule: ``message`` says what it requires, ``hint`` how to meet it."""

    id: RuleId
    message: str
    hint: str


@dataclass(frozen=True)
class StageRequirement:
    """The rules a version must meet to enter ``stage``."""

    stage: str
    rules: tuple[RuleId, ...]


_METADATA = (RuleId.OWNER, RuleId.SEMVER, RuleId.LINEAGE)
_PRODUCTION = (*_METADATA, RuleId.GATE, RuleId.APPROVAL, RuleId.TICKET, RuleId.FOUR_EYES)

_RULES = (
    Rule(
        RuleId.STAGE,
        f"a stage is one of {', '.join(STAGES)}",
        f"Pass --stage with one of: {', '.join(STAGES)}.",
    ),
    Rule(
        RuleId.ACTOR,
        "every governed change names who makes it",
        "Set MLPLATFORM_USER (local profile) or log in to the MLflow server (team profile).",
    ),
    Rule(
        RuleId.OWNER,
        f"a governed version has an owner (tag {OWNER_TAG}), a Kubernetes label value",
        f"Register it with the owner setting (MLPLATFORM_OWNER), or set the version tag "
        f"{OWNER_TAG} to a team or person: letters, digits, '.', '_', '-', at most 63.",
    ),
    Rule(
        RuleId.SEMVER,
        f"a governed version has a semantic version MAJOR.MINOR.PATCH (tag {SEMVER_TAG})",
        "Versions get one at registration; give one by hand, with a reason, as X.Y.Z "
        "(digits only, no leading zeros): `mlp models semver NAME VERSION X.Y.Z --reason TEXT`.",
    ),
    Rule(
        RuleId.LINEAGE,
        "a governed version was logged by an MLflow run (its lineage)",
        "Register the model from a run: the pipeline's register step "
        "(`mlp pipeline run standard-training`) or `mlp llm register` log one.",
    ),
    Rule(
        RuleId.GATE,
        f"a production version passed the evaluation gate (tag {GATE_TAG} = {GATE_PASSED})",
        "Train a version whose evaluate step passes the quality gate "
        "(`mlp pipeline run standard-training`), or for an LLM evaluate it with a gate "
        "(`mlp llm evaluate NAME/VERSION --gate 'answered>=1'`), and promote that one.",
    ),
    Rule(
        RuleId.APPROVAL,
        "a production version carries a current approval (its latest decision is approved)",
        "Ask someone other than the author to run "
        "`mlp models approve NAME VERSION --ticket TICKET`.",
    ),
    Rule(
        RuleId.TICKET,
        f"an approval names a change ticket such as MLOPS-123 ({TICKET_PATTERN})",
        "Pass --ticket with the ticket's key: upper-case project key, dash, number (MLOPS-123).",
    ),
    Rule(
        RuleId.FOUR_EYES,
        f"the approver is not the version's author (tag {AUTHOR_TAG}): four eyes",
        "Ask a second person to approve; the author of a version cannot approve it.",
    ),
    Rule(
        RuleId.DELETE,
        "a production version, and a model holding one, cannot be deleted until archived",
        "Archive the version first: `mlp models archive NAME VERSION`.",
    ),
    Rule(
        RuleId.PRODUCTION_ALIAS,
        "a production alias (`production`, and `champion` where the project ties it to "
        "production) points only at a version in the production stage",
        "Promote the version to production first (it needs an approval): "
        "`mlp models promote NAME/VERSION --stage production`, which also moves the project's "
        "production aliases.",
    ),
    Rule(
        RuleId.SEMVER_OVERRIDE,
        "a semantic version given by hand comes with a reason and is not used by another "
        "version of the model",
        "Pass --reason TEXT, and a version no other version of the model has "
        "(`mlp models show NAME` lists them).",
    ),
)


@dataclass(frozen=True)
class RuleSet:
    """The governance rules, typed. ``RULES`` is the platform's; tests build variants."""

    rules: tuple[Rule, ...] = _RULES
    stages: tuple[str, ...] = STAGES
    requirements: tuple[StageRequirement, ...] = (
        StageRequirement("none", ()),
        StageRequirement("staging", _METADATA),
        StageRequirement("production", _PRODUCTION),
        StageRequirement("archived", ()),
    )
    protected_stages: tuple[str, ...] = ("production",)
    production_aliases: tuple[str, ...] = ("production",)
    semver_pattern: str = SEMVER_PATTERN
    ticket_pattern: str = TICKET_PATTERN
    owner_pattern: str = OWNER_PATTERN
    gate_passed: str = GATE_PASSED

    def with_production_aliases(self, aliases: tuple[str, ...]) -> RuleSet:
        """This rule set with ``aliases`` governed as production aliases too (a project that
        ties ``champion`` to production passes ``("champion",)``)."""
        merged = tuple(dict.fromkeys((*self.production_aliases, *aliases)))
        return replace(self, production_aliases=merged)

    def rule(self, rule_id: RuleId) -> Rule:
        """The rule named ``rule_id``."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no governance rule {rule_id!r}")

    def describe(self) -> tuple[Rule, ...]:
        """Every rule with its id, message and hint, in a stable order (for docs, errors and
        rendered policies)."""
        return self.rules

    def required_for(self, stage: str) -> tuple[Rule, ...]:
        """The rules a version must meet to enter ``stage`` (none for an unknown stage)."""
        for requirement in self.requirements:
            if requirement.stage == stage:
                return tuple(self.rule(rule_id) for rule_id in requirement.rules)
        return ()

    def is_semver(self, text: str) -> bool:
        """Whether ``text`` is a semantic version under this rule set."""
        return re.fullmatch(self.semver_pattern, text) is not None

    def is_ticket(self, text: str) -> bool:
        """Whether ``text`` is a well-formed change ticket."""
        return re.fullmatch(self.ticket_pattern, text) is not None

    def is_owner(self, text: str) -> bool:
        """Whether ``text`` can be an owner (a label value)."""
        return re.fullmatch(self.owner_pattern, text) is not None


RULES = RuleSet()
"""The platform's governance rules."""
