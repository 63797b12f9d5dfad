"""Semantic versions: the pure rule, then assign_semver on a real MLflow registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlplatform.errors import PromotionRejectedError, RegistryError
from mlplatform.governance.rules import RuleId
from mlplatform.governance.semver import (
    assign_semver,
    bump,
    change_kind,
    next_semver,
    parse_semver,
    signatures_differ,
)
from mlplatform.tracking._mlflow import using_tracking_uri
from mlplatform.tracking.registry import get_version, register_model

AB = pd.DataFrame({"a": np.linspace(0, 1, 20), "b": np.linspace(1, 0, 20)})
ABC = AB.assign(c=np.linspace(0, 2, 20))
LABELS = np.array([0, 1] * 10)


def sig(frame: pd.DataFrame, output) -> dict:
    return infer_signature(frame, output).to_dict()


# ---- the pure rule -----------------------------------------------------------------------
def test_the_first_version_is_1_0_0():
    assert next_semver(None, None, sig(AB, LABELS), same_run=False) == "1.0.0"


def test_a_changed_input_signature_is_a_major_change():
    assert next_semver("1.3.2", sig(AB, LABELS), sig(ABC, LABELS), same_run=False) == "2.0.0"


def test_a_changed_output_signature_is_a_major_change():
    assert next_semver("1.3.2", sig(AB, LABELS), sig(AB, LABELS * 0.5), same_run=False) == "2.0.0"


def test_a_retrain_with_the_same_signature_is_a_minor_change():
    assert next_semver("1.3.2", sig(AB, LABELS), sig(AB, 1 - LABELS), same_run=False) == "1.4.0"


def test_the_same_run_with_the_same_signature_is_a_patch():
    assert next_semver("1.3.2", sig(AB, LABELS), sig(AB, LABELS), same_run=True) == "1.3.3"


def test_the_same_run_with_another_signature_is_still_major():
    assert change_kind("1.3.2", sig(AB, LABELS), sig(ABC, LABELS), same_run=True) == "major"


def test_signatures_compare_as_data_not_as_text():
    parsed = {"inputs": [{"type": "double", "name": "a"}], "outputs": None}
    text = {"inputs": '[{"name": "a", "type": "double"}]', "outputs": None, "params": None}

    assert not signatures_differ(parsed, text)
    assert not signatures_differ(None, None)
    assert signatures_differ(None, parsed)


def test_bump_and_parse():
    assert [bump("2.5.9", c) for c in ("major", "minor", "patch", "first")] == [
        "3.0.0",
        "2.6.0",
        "2.5.10",
        "1.0.0",
    ]
    assert parse_semver("10.0.3") == (10, 0, 3)
    with pytest.raises(ValueError, match="not a semantic version"):
        next_semver("3", None, None, same_run=False)


# ---- on a real registry ------------------------------------------------------------------
def register(tracking_uri: str, model, frame: pd.DataFrame, digest: str) -> int:
    return register_model(
        model,
        "churn",
        tracking_uri=tracking_uri,
        signature_input=frame,
        tags={},
        model_digest=digest,
    ).version


def test_versions_get_first_minor_major_and_patch_from_what_changed(tracking_uri):
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    v1 = register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    v2 = register(tracking_uri, LogisticRegression(C=0.1).fit(AB, LABELS), AB, "d2")
    v3 = register(tracking_uri, LogisticRegression().fit(ABC, LABELS), ABC, "d3")
    same = client.get_model_version("churn", str(v3))
    with using_tracking_uri(tracking_uri):  # models:/ sources resolve through the global URI
        v4 = int(client.create_model_version("churn", same.source, same.run_id).version)
    v5 = register(tracking_uri, LinearRegression().fit(ABC, LABELS * 0.5), ABC, "d5")

    got = [assign_semver("churn", v, tracking_uri) for v in (v1, v2, v3, v4, v5)]

    assert [(a.semver, a.change) for a in got] == [
        ("1.0.0", "first"),
        ("1.1.0", "minor"),
        ("2.0.0", "major"),
        ("2.0.1", "patch"),
        ("3.0.0", "major"),
    ]
    assert got[2].previous_version == 2
    assert got[2].previous_semver == "1.1.0"
    tags = get_version("churn", v3, tracking_uri=tracking_uri).tags
    assert tags["mlplatform.semver"] == "2.0.0"
    assert tags["mlplatform.semver.change"] == "major"
    assert "signature" in tags["mlplatform.semver.reason"]


def test_assigning_again_keeps_the_recorded_version(tracking_uri):
    v1 = register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    first = assign_semver("churn", v1, tracking_uri)
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    client.set_model_version_tag("churn", str(v1), "mlplatform.semver", "1.7.0")

    again = assign_semver("churn", v1, tracking_uri)

    assert first.semver == "1.0.0"
    assert again.semver == "1.7.0"


def test_a_version_from_before_semantic_versions_counts_as_n_0_0(tracking_uri):
    register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    v2 = register(tracking_uri, LogisticRegression(C=0.1).fit(AB, LABELS), AB, "d2")

    assert assign_semver("churn", v2, tracking_uri).semver == "1.1.0"  # v1 counts as 1.0.0


def test_an_override_with_a_reason_is_recorded_with_who_set_it(tracking_uri):
    v1 = register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    assign_semver("churn", v1, tracking_uri)

    got = assign_semver("churn", v1, tracking_uri, "4.2.0", "aligns with the API", actor="bob")

    tags = get_version("churn", v1, tracking_uri=tracking_uri).tags
    assert (got.semver, got.change) == ("4.2.0", "override")
    assert tags["mlplatform.semver"] == "4.2.0"
    assert tags["mlplatform.semver.reason"] == "aligns with the API"
    assert tags["mlplatform.semver.by"] == "bob"


def test_a_derived_version_skips_a_number_taken_by_an_override(tracking_uri):
    v1 = register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    v2 = register(tracking_uri, LogisticRegression(C=0.1).fit(AB, LABELS), AB, "d2")
    v3 = register(tracking_uri, LogisticRegression(C=0.2).fit(AB, LABELS), AB, "d3")
    assign_semver("churn", v1, tracking_uri)
    assign_semver("churn", v3, tracking_uri, "1.1.0", "reserved for the hotfix")

    assert assign_semver("churn", v2, tracking_uri).semver == "1.2.0"


@pytest.mark.parametrize(
    ("override", "reason", "rules"),
    [
        ("4.2", "a reason", [RuleId.SEMVER]),
        ("4.2.0", None, [RuleId.SEMVER_OVERRIDE]),
        ("4.2.0", "  ", [RuleId.SEMVER_OVERRIDE]),
        ("1.0.0", "taken", [RuleId.SEMVER_OVERRIDE]),
        ("v1", "", [RuleId.SEMVER, RuleId.SEMVER_OVERRIDE]),
    ],
)
def test_a_bad_override_names_its_rules_and_changes_nothing(tracking_uri, override, reason, rules):
    v1 = register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")
    v2 = register(tracking_uri, LogisticRegression(C=0.1).fit(AB, LABELS), AB, "d2")
    assign_semver("churn", v1, tracking_uri)

    with pytest.raises(PromotionRejectedError) as caught:
        assign_semver("churn", v2, tracking_uri, override, reason)

    for rule in rules:
        assert f"[{rule}]" in caught.value.details
    assert "mlplatform.semver" not in get_version("churn", v2, tracking_uri=tracking_uri).tags


def test_an_unknown_version_is_a_registry_error(tracking_uri):
    register(tracking_uri, LogisticRegression().fit(AB, LABELS), AB, "d1")

    with pytest.raises(RegistryError, match="cannot read churn v9"):
        assign_semver("churn", 9, tracking_uri)
