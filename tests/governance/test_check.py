"""The local checks: each rule met and broken, every missing condition named at once."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from mlplatform.errors import PromotionRejectedError, RegistryError
from mlplatform.governance.check import (
    Approval,
    VersionFacts,
    Violation,
    check_approval,
    check_delete,
    check_delete_model,
    check_stage_change,
    facts_from_version,
    refused,
)
from mlplatform.governance.rules import RULES, RuleId
from mlplatform.tracking.registry import VersionInfo, get_version, register_model

APPROVED_BY_BOB = Approval(1, "approved", "bob", "2026-12-01T10:00:00+00:00", "MLOPS-7")


def ready(**changes) -> VersionFacts:
    """A version that meets every rule of production."""
    facts = VersionFacts(
        name="churn",
        version=3,
        semver="1.2.0",
        owner="team-a",
        author="alice",
        run_id="0123abcd",
        stage="staging",
        gate="passed",
        approvals=(APPROVED_BY_BOB,),
    )
    return dataclasses.replace(facts, **changes)


def ids(violations: list[Violation]) -> list[RuleId]:
    return [v.rule.id for v in violations]


def test_a_version_that_meets_every_rule_enters_every_stage():
    for stage in RULES.stages:
        assert check_stage_change(ready(), stage, "carol") == [], stage


BROKEN = {
    "no owner": ({"owner": None}, RuleId.OWNER),
    "owner not a label": ({"owner": "Team A"}, RuleId.OWNER),
    "no semver": ({"semver": None}, RuleId.SEMVER),
    "semver N.0": ({"semver": "3.0"}, RuleId.SEMVER),
    "no run": ({"run_id": None}, RuleId.LINEAGE),
    "gate failed": ({"gate": "failed"}, RuleId.GATE),
    "gate not recorded": ({"gate": None}, RuleId.GATE),
    "no approval": ({"approvals": ()}, RuleId.APPROVAL),
    "rejected last": (
        {"approvals": (APPROVED_BY_BOB, Approval(2, "rejected", "dan", "t", "MLOPS-8"))},
        RuleId.APPROVAL,
    ),
    "decision missing": ({"approvals": (Approval(1, "", "bob", "t", "MLOPS-7"),)}, RuleId.APPROVAL),
    "bad ticket": ({"approvals": (Approval(1, "approved", "bob", "t", "mlops-7"),)}, RuleId.TICKET),
    "self approval": (
        {"approvals": (Approval(1, "approved", "Alice ", "t", "MLOPS-7"),)},
        RuleId.FOUR_EYES,
    ),
    "author unknown": ({"author": None}, RuleId.FOUR_EYES),
    "approver unknown": (
        {"approvals": (Approval(1, "approved", "", "t", "MLOPS-7"),)},
        RuleId.FOUR_EYES,
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_each_broken_rule_refuses_production_and_names_the_rule_with_a_hint(case):
    changes, rule = BROKEN[case]

    found = check_stage_change(ready(**changes), "production", "carol")

    assert ids(found) == [rule]
    assert f"[{rule}]" in found[0].message
    assert "churn v3" in found[0].message
    assert found[0].hint == RULES.rule(rule).hint
    assert found[0].hint


def test_a_refusal_names_every_missing_condition_not_only_the_first():
    bare = VersionFacts(name="churn", version=3)

    found = check_stage_change(bare, "production", "")

    assert ids(found) == [
        RuleId.ACTOR,
        RuleId.OWNER,
        RuleId.SEMVER,
        RuleId.LINEAGE,
        RuleId.GATE,
        RuleId.APPROVAL,
    ]


def test_staging_asks_for_metadata_only():
    unapproved = ready(gate="failed", approvals=(), author=None)

    assert check_stage_change(unapproved, "staging", "carol") == []
    assert ids(check_stage_change(ready(owner=None), "staging", "carol")) == [RuleId.OWNER]


def test_archiving_and_none_are_always_allowed():
    bare = VersionFacts(name="churn", version=3, stage="production")

    assert check_stage_change(bare, "archived", "carol") == []
    assert check_stage_change(bare, "none", "carol") == []


def test_an_unknown_stage_and_an_anonymous_actor_are_named():
    found = check_stage_change(ready(), "qa", " ")

    assert ids(found) == [RuleId.ACTOR, RuleId.STAGE]
    assert "'qa' is not a stage" in found[1].message


def test_a_later_approval_replaces_an_earlier_rejection():
    rejected = Approval(1, "rejected", "dan", "t", "MLOPS-6")
    approved = dataclasses.replace(APPROVED_BY_BOB, n=2)

    assert check_stage_change(ready(approvals=(approved, rejected)), "production", "c") == []
    assert ready(approvals=(approved, rejected)).approval == approved
    assert ready(approvals=(approved, rejected)).next_approval == 3


# ---- approvals ---------------------------------------------------------------------------
def test_an_approval_by_another_person_with_a_ticket_is_allowed():
    assert check_approval(ready(approvals=()), "bob", "MLOPS-9") == []


def test_an_approval_with_a_malformed_ticket_names_the_ticket_rule():
    found = check_approval(ready(), "bob", "ticket 9")

    assert ids(found) == [RuleId.TICKET]
    assert "'ticket 9'" in found[0].message
    assert "MLOPS-123" in found[0].hint


def test_the_author_cannot_approve_their_own_version():
    found = check_approval(ready(), "ALICE", "MLOPS-9")

    assert ids(found) == [RuleId.FOUR_EYES]
    assert "is its author" in found[0].message


def test_an_approval_of_a_version_without_a_recorded_author_cannot_show_four_eyes():
    assert ids(check_approval(ready(author=None), "bob", "MLOPS-9")) == [RuleId.FOUR_EYES]


def test_an_anonymous_approval_with_a_bad_ticket_names_both_rules():
    assert ids(check_approval(ready(), "", "x")) == [RuleId.ACTOR, RuleId.TICKET]


def test_an_author_may_reject_their_own_version_with_a_ticket():
    assert check_approval(ready(), "alice", "MLOPS-9", decision="rejected") == []
    assert ids(check_approval(ready(), "alice", "", decision="rejected")) == [RuleId.TICKET]


def test_an_unknown_decision_is_a_programming_error():
    with pytest.raises(ValueError, match="decision"):
        check_approval(ready(), "bob", "MLOPS-9", decision="maybe")


# ---- deletion ----------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["none", "staging", "archived"])
def test_a_version_outside_production_may_be_deleted(stage):
    assert check_delete(ready(stage=stage)) == []


def test_a_production_version_is_protected_until_archived():
    found = check_delete(ready(stage="production"))

    assert ids(found) == [RuleId.DELETE]
    assert "archive" in found[0].hint
    assert "churn v3 is in production" in found[0].message


def test_a_model_holding_production_versions_names_each_of_them():
    versions = [
        ready(version=1, stage="archived"),
        ready(version=2, stage="production"),
        ready(version=3, stage="production"),
        ready(version=4, stage="staging"),
    ]

    found = check_delete_model("churn", versions)

    assert ids(found) == [RuleId.DELETE, RuleId.DELETE]
    assert ["v2" in found[0].message, "v3" in found[1].message] == [True, True]
    assert check_delete_model("churn", versions[:1] + versions[3:]) == []


# ---- the error ---------------------------------------------------------------------------
def test_refused_lists_every_rule_in_the_headline_and_each_hint_in_the_details():
    found = check_stage_change(VersionFacts(name="churn", version=3), "production", "carol")

    error = refused("promote churn v3 to production", found)

    assert isinstance(error, PromotionRejectedError)
    assert isinstance(error, RegistryError)
    assert error.headline.startswith("cannot promote churn v3 to production: 5 governance")
    for violation in found:
        assert violation.rule.id in error.headline
        assert violation.message in error.details
        assert violation.hint in error.details
    assert "Nothing was changed" in error.hint


# ---- facts from the registry --------------------------------------------------------------
def test_facts_are_read_from_the_tags_the_platform_writes():
    approvals = (APPROVED_BY_BOB, Approval(2, "rejected", "dan", "t2", "MLOPS-8", "flaky"))
    tags = {
        "mlplatform.semver": "1.2.0",
        "mlplatform.owner": "team-a",
        "mlplatform.author": "alice",
        "mlplatform.stage": "staging",
        "mlplatform.gate": "passed",
        "mlplatform.approval.x.by": "ignored: not a number",
        "mlplatform.approval.3.unknown": "ignored: not a field",
        **{k: v for a in approvals for k, v in a.tags().items()},
    }
    info = VersionInfo("churn", 3, (), tags, "0123abcd", {}, None)

    assert facts_from_version(info) == ready(approvals=approvals)


def test_a_version_with_no_governance_tags_is_in_stage_none_with_nothing_recorded():
    info = VersionInfo("churn", 1, (), {}, None, {}, None)

    assert facts_from_version(info) == VersionFacts(name="churn", version=1)


def test_facts_round_trip_through_a_real_mlflow_registry(tracking_uri):
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    tags = {
        "mlplatform.owner": "team-a",
        "mlplatform.author": "alice",
        "mlplatform.semver": "1.0.0",
        "mlplatform.gate": "passed",
    }
    registered = register_model(
        model,
        "churn",
        tracking_uri=tracking_uri,
        signature_input=frame,
        tags=tags,
        model_digest="d1",
    )
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    for key, value in APPROVED_BY_BOB.tags().items():
        client.set_model_version_tag("churn", "1", key, value)

    facts = facts_from_version(get_version("churn", 1, tracking_uri=tracking_uri))

    assert facts.run_id == registered.run_id
    assert facts.approval == APPROVED_BY_BOB
    assert check_stage_change(facts, "production", "carol") == []
    assert ids(check_approval(facts, "alice", "MLOPS-1")) == [RuleId.FOUR_EYES]
