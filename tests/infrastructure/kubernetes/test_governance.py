"""Model governance policies as kustomize builds them. Their rules (keys, stages, semver,
approvals, deletion protection) are evaluated as CEL in tests/governance/test_kyverno_cel.py."""

from __future__ import annotations

import yaml

from mlplatform.governance.kyverno import POLICY_NAMES, render_policies

from ._manifests import REPO, built, one


def policy(name: str) -> dict:
    return one(built("base"), "ValidatingPolicy", name)


def test_the_built_governance_policies_are_the_render_of_the_rule_set() -> None:
    # GIVEN the base kustomize builds WHEN its governance policies are read THEN they are
    # exactly what mlplatform.governance.kyverno renders from the rule set: the CEL that
    # tests/governance/test_kyverno_cel.py evaluates is the CEL the cluster gets
    for rendered in render_policies():
        assert policy(rendered["metadata"]["name"]) == rendered


def test_every_governance_policy_targets_both_kserve_kinds() -> None:
    for name in POLICY_NAMES:
        rules = policy(name)["spec"]["matchConstraints"]["resourceRules"]
        assert [r["apiGroups"] for r in rules] == [["serving.kserve.io"]] * 2, name
        assert [r["resources"] for r in rules] == [["inferenceservices"], ["llminferenceservices"]]
        assert policy(name)["spec"]["validationActions"] == ["Deny"], name
    protect = policy("production-deletion-protection")["spec"]
    assert protect["matchConstraints"]["resourceRules"][0]["operations"] == ["DELETE"]
    assert protect["evaluation"]["background"]["enabled"] is False
    assert "oldObject" in protect["variables"][0]["expression"]


def test_no_clusterpolicy_survives_a_kyverno_that_removes_it() -> None:
    # ADR 0011: chart 3.N installs Kyverno 1.(N+10); 1.20 removes kyverno.io/v1 ClusterPolicy.
    versions = yaml.safe_load((REPO / "infrastructure/helm/versions.yaml").read_text())
    minor = int(versions["charts"]["kyverno"]["version"].split(".")[1]) + 10
    legacy = [d["metadata"]["name"] for d in built("base") if d["apiVersion"] == "kyverno.io/v1"]
    assert legacy == ["add-default-networkpolicy"]
    assert minor < 20, f"Kyverno 1.{minor} removes ClusterPolicy: move {legacy} to GeneratingPolicy"
