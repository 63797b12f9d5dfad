"""Model governance policies: keys, stages, semver, approvals, deletion protection."""

from __future__ import annotations

import re

import yaml

from . import _policies as P
from ._manifests import REPO, built, cel_strings, one

SEMVER = ["1.0.0", "0.4.12", "2.0.0-rc.1"]
NOT_SEMVER = ["1.0", "v1.0.0", "01.2.3", "1.2.3+build"]


def policy(name: str) -> dict:
    return one(built("base"), "ValidatingPolicy", name)


def test_every_governance_policy_targets_inferenceservices() -> None:
    names = ["model-required-labels", "model-stage", "model-lineage", "model-semantic-version",
             "production-approval", "production-deletion-protection"]  # fmt: skip
    for name in names:
        rules = policy(name)["spec"]["matchConstraints"]["resourceRules"]
        assert rules[0]["apiGroups"] == ["serving.kserve.io"], name
        assert rules[0]["resources"] == ["inferenceservices"], name
        assert policy(name)["spec"]["validationActions"] == ["Deny"], name


def test_required_model_labels() -> None:
    keys = P.cel_list(P.expression(policy("model-required-labels")))
    assert keys == [
        "mlplatform.io/model-name",
        "mlplatform.io/model-version",
        "mlplatform.io/owner",
    ]


def test_semver_pattern_accepts_versions_and_rejects_others() -> None:
    strings = cel_strings(P.expression(policy("model-semantic-version")))
    pattern = next(s for s in strings if s.startswith("^"))
    assert all(re.search(pattern, v) for v in SEMVER)
    assert not any(re.search(pattern, v) for v in NOT_SEMVER)


def test_stage_values_and_lineage_keys() -> None:
    assert cel_strings(P.expression(policy("model-stage")))[-4:] == [
        "development", "staging", "production", "archived",
    ]  # fmt: skip
    lineage = cel_strings(P.expression(policy("model-lineage")))
    assert "mlplatform.io/mlflow-experiment-id" in lineage
    assert "mlplatform.io/mlflow-run-id" in lineage
    assert re.search(lineage[-1], "0123456789abcdef0123456789abcdef")


def test_production_needs_approval_and_is_protected_from_delete() -> None:
    approval = policy("production-approval")
    assert "'production'" in approval["spec"]["matchConditions"][0]["expression"]
    assert P.cel_list(P.expression(approval)) == [
        "mlplatform.io/approved-by", "mlplatform.io/approval-ticket",
    ]  # fmt: skip
    protect = policy("production-deletion-protection")
    assert protect["spec"]["matchConstraints"]["resourceRules"][0]["operations"] == ["DELETE"]
    assert "oldObject" in P.expression(protect)
    assert "'production'" in P.expression(protect)


def test_no_clusterpolicy_survives_a_kyverno_that_removes_it() -> None:
    # ADR 0011: chart 3.N installs Kyverno 1.(N+10); 1.20 removes kyverno.io/v1 ClusterPolicy.
    versions = yaml.safe_load((REPO / "infrastructure/helm/versions.yaml").read_text())
    minor = int(versions["charts"]["kyverno"]["version"].split(".")[1]) + 10
    legacy = [d["metadata"]["name"] for d in built("base") if d["apiVersion"] == "kyverno.io/v1"]
    assert legacy == ["add-default-networkpolicy"]
    assert minor < 20, f"Kyverno 1.{minor} removes ClusterPolicy: move {legacy} to GeneratingPolicy"
