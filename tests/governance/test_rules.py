"""The rule set: every rule described once, the patterns, the stages and the tag names."""

from __future__ import annotations

import dataclasses
import importlib
import re

import pytest

from mlplatform.governance import rules as rules_module
from mlplatform.governance.rules import (
    APPROVAL_FIELDS,
    GATE_TAG,
    MODEL_DIGEST_TAG,
    RULES,
    STAGES,
    Rule,
    RuleId,
    RuleSet,
    approval_tag,
)
from mlplatform.tracking.registry import DIGEST_TAG


def test_every_rule_is_described_once_with_a_message_and_a_hint():
    ids = [rule.id for rule in RULES.describe()]

    assert sorted(ids) == sorted(RuleId)
    for rule in RULES.describe():
        assert rule.message.strip(), rule.id
        assert rule.hint.strip(), rule.id
        assert rule.hint.endswith((".", ")", "`")), rule.id  # a sentence, not a fragment


def test_the_stages_are_none_staging_production_archived():
    assert RULES.stages == STAGES == ("none", "staging", "production", "archived")
    assert [r.stage for r in RULES.requirements] == list(STAGES)


def test_staging_asks_for_metadata_and_production_for_gate_approval_and_four_eyes_too():
    staging = {rule.id for rule in RULES.required_for("staging")}
    production = {rule.id for rule in RULES.required_for("production")}

    assert staging == {RuleId.OWNER, RuleId.SEMVER, RuleId.LINEAGE}
    assert production == staging | {
        RuleId.GATE,
        RuleId.APPROVAL,
        RuleId.TICKET,
        RuleId.FOUR_EYES,
    }
    assert RULES.required_for("none") == RULES.required_for("archived") == ()
    assert RULES.required_for("qa") == ()
    assert RULES.protected_stages == ("production",)


@pytest.mark.parametrize("text", ["0.0.0", "1.4.0", "10.20.30", "1.0.12"])
def test_a_semantic_version_is_major_minor_patch(text):
    assert RULES.is_semver(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.4",
        "1.4.0.0",
        "01.0.0",
        "1.00.0",
        "v1.0.0",
        "1.0.0-rc1",
        "1.0.0+b1",
        " 1.0.0",
        "1.0.0\n",
        "1.0.x",
    ],
)
def test_anything_else_is_not_a_semantic_version(text):
    assert not RULES.is_semver(text)


@pytest.mark.parametrize("text", ["MLOPS-123", "ML-1", "A1-42", "CHG2-9000"])
def test_a_ticket_is_a_project_key_dash_number(text):
    assert RULES.is_ticket(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "mlops-123",
        "M-1",
        "MLOPS123",
        "MLOPS-",
        "-123",
        "MLOPS-12a",
        "1AB-2",
        "MLOPS-123\n",
        "see MLOPS-123",
    ],
)
def test_anything_else_is_not_a_ticket(text):
    assert not RULES.is_ticket(text)


@pytest.mark.parametrize("text", ["team-a", "alice", "ml.ops_1", "a", "x" * 63])
def test_an_owner_is_a_label_value(text):
    assert RULES.is_owner(text)


@pytest.mark.parametrize("text", ["", "-team", "team-", "a b", "alice@example.com", "x" * 64])
def test_an_owner_that_cannot_be_a_label_is_refused(text):
    assert not RULES.is_owner(text)


def test_the_patterns_stay_in_the_re2_subset_that_cel_matches_accepts():
    # RE2 has no look-around, back-references or possessive quantifiers.
    for pattern in (RULES.semver_pattern, RULES.ticket_pattern, RULES.owner_pattern):
        assert "(?" not in pattern, pattern
        assert not re.search(r"\\[1-9]", pattern), pattern
        assert pattern.startswith("^"), pattern
        assert pattern.endswith("$"), pattern


def test_every_tag_is_under_the_mlplatform_prefix():
    names = [v for k, v in vars(rules_module).items() if k.endswith("_TAG") and k.isupper()]

    assert names
    assert all(name.startswith("mlplatform.") for name in names)
    assert approval_tag(3, "ticket") == "mlplatform.approval.3.ticket"
    assert [approval_tag(1, f).rsplit(".", 1)[1] for f in APPROVAL_FIELDS] == list(APPROVAL_FIELDS)


def test_an_unknown_approval_field_is_a_programming_error():
    with pytest.raises(ValueError, match="not an approval field"):
        approval_tag(1, "approver")


def test_the_tags_are_the_ones_the_registry_and_the_register_step_write():
    assert MODEL_DIGEST_TAG == DIGEST_TAG
    assert GATE_TAG == "mlplatform.gate"  # components/register.py: "passed" or "failed"


def test_the_rule_set_is_frozen_and_an_unknown_rule_is_a_key_error():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES.stages = ("none",)  # type: ignore[misc]
    with pytest.raises(KeyError):
        RuleSet(rules=()).rule(RuleId.OWNER)


def test_a_variant_rule_set_changes_what_is_accepted():
    strict = RuleSet(ticket_pattern=r"^CHG-[0-9]{6}$")

    assert strict.is_ticket("CHG-000123")
    assert not strict.is_ticket("MLOPS-1")
    assert RULES.is_ticket("MLOPS-1")
    assert isinstance(strict.rule(RuleId.TICKET), Rule)


@pytest.mark.parametrize("module", ["rules", "check", "semver"])
def test_every_public_name_exists_and_nothing_private_is_exported(module):
    imported = importlib.import_module(f"mlplatform.governance.{module}")

    assert sorted(imported.__all__) == sorted(set(imported.__all__))
    for name in imported.__all__:
        assert hasattr(imported, name), name
        assert not name.startswith("_"), name
