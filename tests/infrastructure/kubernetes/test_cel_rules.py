"""Rules that only the API server's CEL enforces (the JSON schemas cannot express them).

GIVEN the EC2NodeClass the platform-config chart renders (no helm here: the template's
actions are replaced by placeholder strings) WHEN read THEN it satisfies the CRD's
x-kubernetes-validations that a schema check misses, e.g. exactly one of role or
instanceProfile."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from ._manifests import REPO

CHART = REPO / "infrastructure" / "helm" / "charts" / "platform-config"
TEMPLATE = CHART / "templates" / "karpenter.yaml"


def _ec2nodeclass() -> dict[str, Any]:
    """The template's EC2NodeClass document, each `{{ ... }}` replaced by a string."""
    text = TEMPLATE.read_text()
    start = text.index("apiVersion: karpenter.k8s.aws/v1")
    body = text[start : text.index("{{- range", start)]
    body = re.sub(r"\{\{-? .*? -?\}\}", "placeholder", body)
    body = re.sub(r"^\s*placeholder\s*$", "", body, flags=re.MULTILINE)  # nindent includes
    doc = yaml.safe_load(body)
    assert doc["kind"] == "EC2NodeClass"
    return doc


def test_the_ec2nodeclass_sets_exactly_one_of_role_or_instance_profile() -> None:
    spec = _ec2nodeclass()["spec"]
    assert ("role" in spec) != ("instanceProfile" in spec), sorted(spec)


def test_the_role_comes_from_a_required_value() -> None:
    # an empty role would pass the "one of" rule but fail at runtime: the chart must refuse it
    line = next(line for line in TEMPLATE.read_text().splitlines() if "role:" in line)
    assert 'required "karpenter.nodeRole is required" .Values.karpenter.nodeRole' in line
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert "instanceProfile" not in values["karpenter"]


def test_the_ec2nodeclass_validates_against_the_strict_schema(crd_schemas: Path) -> None:
    schema = json.loads((crd_schemas / "karpenter.k8s.aws" / "ec2nodeclass_v1.json").read_text())
    errors = [e.message for e in Draft7Validator(schema).iter_errors(_ec2nodeclass())]
    assert errors == []


def _cel_rules(crd_schemas: Path) -> dict[str, str]:
    schema = json.loads((crd_schemas / "karpenter.k8s.aws" / "ec2nodeclass_v1.json").read_text())
    return {
        r["message"]: r["rule"] for r in schema["properties"]["spec"]["x-kubernetes-validations"]
    }


def test_the_schema_alone_misses_the_rule_so_cel_carries_it(crd_schemas: Path) -> None:
    # GIVEN an EC2NodeClass with both role and instanceProfile WHEN schema-checked THEN it
    # passes: only the CRD's CEL rule (kept in the schema file as data) rejects it
    schema = json.loads((crd_schemas / "karpenter.k8s.aws" / "ec2nodeclass_v1.json").read_text())
    both = _ec2nodeclass()
    both["spec"]["instanceProfile"] = "placeholder"
    assert list(Draft7Validator(schema).iter_errors(both)) == []
    rule = _cel_rules(crd_schemas)["must specify exactly one of ['role', 'instanceProfile']"]
    assert "has(self.role)" in rule
    assert "has(self.instanceProfile)" in rule


def test_the_ami_family_agrees_with_the_alias(crd_schemas: Path) -> None:
    # CEL: amiFamily is required without an alias and must match the alias's family if set
    spec = _ec2nodeclass()["spec"]
    aliases = [t["alias"] for t in spec["amiSelectorTerms"] if "alias" in t]
    assert aliases or "amiFamily" in spec
    assert any("amiFamily" in rule for rule in _cel_rules(crd_schemas).values())
    if aliases and "amiFamily" in spec:
        family = aliases[0].split("@")[0]
        assert spec["amiFamily"].lower() in (family, "custom")
