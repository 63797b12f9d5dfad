"""``scripts/crd-to-strict-schema.py``: it regenerates vendored schemas byte for byte from the
upstream CRDs in ``fixtures/``, and each step of the README's recipe holds on a small CRD."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from .conftest import SCRIPT, VENDORED

FIXTURES = Path(__file__).parent / "fixtures"
# fixture (upstream bytes) -> the vendored files made from it
REGENERATED = {
    "monitoring.coreos.com_prometheusrules.yaml": "monitoring.coreos.com/prometheusrule_v1.json",
    "keda.sh_triggerauthentications.yaml": "keda.sh/triggerauthentication_v1alpha1.json",
}
# script flag -> sources.json key
PROVENANCE = {
    "repo": "repo",
    "ref": "ref",
    "commit": "commit",
    "date": "commit_date",
    "path": "path",
}


def run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def sources() -> list[dict[str, Any]]:
    return json.loads((VENDORED / "sources.json").read_text())


@pytest.mark.parametrize(("fixture", "file"), REGENERATED.items())
def test_the_script_regenerates_the_vendored_file_and_its_sources_entry(fixture, file, tmp_path):
    # GIVEN the upstream CRD at the tag sources.json names, and a copy of sources.json
    entry = next(e for e in sources() if e["file"] == file)
    shutil.copy(VENDORED / "sources.json", tmp_path / "sources.json")
    provenance = [f"--{flag}={entry[key]}" for flag, key in PROVENANCE.items()]
    # WHEN the script converts it into a schema folder and records the entry
    result = run_script(
        FIXTURES / fixture,
        "--version",
        entry["version"],
        *provenance,
        "--into",
        tmp_path,
        "--sources",
        tmp_path / "sources.json",
    )
    # THEN the schema is the vendored file byte for byte, and sources.json is unchanged
    assert result.returncode == 0, result.stderr
    assert (tmp_path / file).read_bytes() == (VENDORED / file).read_bytes()
    assert (tmp_path / "sources.json").read_bytes() == (VENDORED / "sources.json").read_bytes()


@pytest.mark.parametrize("fixture", REGENERATED)
def test_each_fixture_is_the_upstream_file_its_note_names(fixture):
    # GIVEN the fixtures' origin note
    note = (FIXTURES / "README.md").read_text()
    # THEN it lists the fixture with the sha256 of its bytes (unmodified upstream text)
    digest = hashlib.sha256((FIXTURES / fixture).read_bytes()).hexdigest()
    assert f"| `{fixture}` |" in note
    assert f"`{digest}`" in note


def test_the_fixtures_exercise_the_regex_and_the_defaulting_steps(strict):
    # GIVEN the upstream schemas of the fixtures and the vendored files made from them
    def upstream_and_vendored(fixture: str) -> tuple[dict[str, Any], dict[str, Any]]:
        crd = strict.load_crd((FIXTURES / fixture).read_text())
        return crd.schema, json.loads((VENDORED / REGENERATED[fixture]).read_text())

    rule, strict_rule = upstream_and_vendored("monitoring.coreos.com_prometheusrules.yaml")
    auth, strict_auth = upstream_and_vendored("keda.sh_triggerauthentications.yaml")
    # THEN upstream has the Go regex and the vendored file the Python one
    groups = ("properties", "spec", "properties", "groups", "items", "properties")
    strategy = ("partial_response_strategy", "pattern")
    assert dig(rule, *groups, *strategy) == "^(?i)(abort|warn)?$"
    assert dig(strict_rule, *groups, *strategy) == "(?i)^(abort|warn)?$"
    # AND upstream requires oauth2 `type`, which has a default; the vendored file does not
    oauth2 = ("properties", "spec", "properties", "oauth2")
    assert dig(auth, *oauth2, "properties", "type", "default") == "clientCredentials"
    assert "type" in dig(auth, *oauth2, "required")
    assert "type" not in dig(strict_auth, *oauth2, "required")


def dig(node: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        node = node[key]
    return node


def test_output_to_a_file_is_the_same_text_as_into_a_folder(tmp_path):
    # GIVEN the PrometheusRule CRD
    entry = next(e for e in sources() if e["kind"] == "PrometheusRule")
    provenance = [f"--{flag}={entry[key]}" for flag, key in PROVENANCE.items()]
    # WHEN it is written with -o
    result = run_script(
        FIXTURES / "monitoring.coreos.com_prometheusrules.yaml",
        "--version",
        "v1",
        *provenance,
        "-o",
        tmp_path / "out.json",
    )
    # THEN the file is the vendored one
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.json").read_bytes() == (VENDORED / entry["file"]).read_bytes()


def test_help_shows_an_example():
    result = run_script("--help")
    assert result.returncode == 0
    assert "--into infrastructure/schemas/crd" in result.stdout
    assert "--version" in result.stdout


def test_sources_without_the_full_provenance_is_refused_with_the_missing_flags(tmp_path):
    result = run_script(
        FIXTURES / "keda.sh_triggerauthentications.yaml",
        "--into",
        tmp_path,
        "--sources",
        tmp_path / "sources.json",
        "--repo",
        "kedacore/keda",
    )
    assert result.returncode == 2
    assert "--ref --commit --date --path" in result.stderr
    assert not (tmp_path / "sources.json").exists()


def test_an_unknown_version_names_the_versions_there_are(tmp_path):
    result = run_script(
        FIXTURES / "keda.sh_triggerauthentications.yaml",
        "--version",
        "v9",
        "-o",
        tmp_path / "out.json",
    )
    assert result.returncode == 1
    assert "no version 'v9' in the CRD; it has ['v1alpha1']" in result.stderr


# A small hand-written CRD with one case for each step of the recipe.
WIDGET_SCHEMA: dict[str, Any] = {
    "description": "A Widget, né gadget.",
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"description": "Kind of the object.", "type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["size", "mode"],
            "properties": {
                "size": {"type": "integer"},
                "mode": {"type": "string", "default": "fast", "enum": ["fast", "slow"]},
                "ttl": {
                    "type": "integer",
                    "nullable": True,
                    "minimum": 0,
                    "exclusiveMinimum": True,
                },
                "policy": {"type": "string", "pattern": "^(?i)(abort|warn)?$"},
                "values": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "string"}},
                    "additionalProperties": False,
                },
                "target": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                    "anyOf": [
                        {"properties": {"name": {"minLength": 1}}, "required": ["name"]},
                        {"required": ["port"]},
                    ],
                },
                "address": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "default": "IPAddress"},
                        "value": {"type": "string"},
                    },
                    "oneOf": [
                        {"properties": {"type": {"enum": ["IPAddress"]}}},
                        {"properties": {"type": {"not": {"enum": ["IPAddress"]}}}},
                    ],
                },
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
    "required": ["spec"],
}


def widget_crd(schema: dict[str, Any] | None = None) -> str:
    version = {"name": "v1", "served": True, "storage": True}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {**version, "schema": {"openAPIV3Schema": schema or WIDGET_SCHEMA}},
                {
                    **version,
                    "name": "v1beta1",
                    "storage": False,
                    "deprecated": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                },
            ],
        },
    }
    return yaml.safe_dump(crd, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def widget(strict: ModuleType) -> dict[str, Any]:
    """The strict schema of Widget example.com/v1."""
    crd = strict.load_crd(widget_crd())
    return strict.strict_schema(crd, strict.Provenance("widgets.yaml", "acme/widgets", "v1.2.3"))


def widget_doc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"team": "ml"}},
        "spec": {"size": 1, **spec},
    }


def errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    return [
        f".{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(doc)
    ]


def test_the_storage_version_is_the_default_and_the_version_flags_are_kept(strict):
    # WHEN no version is asked for
    crd = strict.load_crd(widget_crd())
    # THEN the storage version is converted; the other one is still there by name
    assert (crd.version, crd.storage, crd.deprecated) == ("v1", True, False)
    assert strict.load_crd(widget_crd(), "v1beta1").deprecated is True
    assert crd.file == "example.com/widget_v1.json"


def test_every_object_with_properties_is_closed_so_a_typo_fails(widget):
    # GIVEN a valid document
    assert errors(widget, widget_doc()) == []
    # THEN a misspelt top-level key and an unknown spec field fail
    assert errors(widget, {**widget_doc(), "sepc": {}}) == [
        ".: Additional properties are not allowed ('sepc' was unexpected)"
    ]
    assert errors(widget, widget_doc(sise=2)) == [
        ".spec: Additional properties are not allowed ('sise' was unexpected)"
    ]
    # AND the added additionalProperties goes last in its object
    assert list(widget["properties"]["spec"])[-1] == "additionalProperties"


def test_preserve_unknown_fields_objects_stay_open(widget):
    spec = widget["properties"]["spec"]["properties"]
    # THEN additionalProperties: false is removed from a preserve-unknown object, none is added
    assert "additionalProperties" not in spec["values"]
    assert "additionalProperties" not in widget["properties"]["status"]
    doc = {**widget_doc(values={"known": "a", "free": {"form": 1}}), "status": {"any": "thing"}}
    assert errors(widget, doc) == []


def test_combinator_branches_are_not_closed(widget):
    # GIVEN an anyOf branch that only constrains `name` of an object that also has `port`
    target = widget["properties"]["spec"]["properties"]["target"]
    # THEN the branch stays open, so an object with both fields passes
    assert "additionalProperties" not in target["anyOf"][0]
    assert target["additionalProperties"] is False
    assert errors(widget, widget_doc(target={"name": "a", "port": 80})) == []


def test_nullable_and_boolean_exclusive_minimum_become_json_schema(widget):
    ttl = widget["properties"]["spec"]["properties"]["ttl"]
    # THEN nullable is a null type, and the boolean bound is the numeric form
    assert ttl["type"] == ["integer", "null"]
    assert ttl["exclusiveMinimum"] == 0
    assert "minimum" not in ttl
    assert errors(widget, widget_doc(ttl=None)) == []
    assert errors(widget, widget_doc(ttl=0)) == [
        ".spec.ttl: 0 is less than or equal to the minimum of 0"
    ]


def test_go_inline_flags_move_before_the_anchor(widget):
    policy = widget["properties"]["spec"]["properties"]["policy"]
    assert policy["pattern"] == "(?i)^(abort|warn)?$"
    assert errors(widget, widget_doc(policy="WARN")) == []
    assert len(errors(widget, widget_doc(policy="maybe"))) == 1


def test_a_defaulted_field_is_not_required_and_a_branch_its_default_fails_requires_it(widget):
    spec = widget["properties"]["spec"]
    # THEN `mode` (default fast) is no longer required, `size` still is
    assert spec["required"] == ["size"]
    assert errors(widget, {**widget_doc(), "spec": {"mode": "slow"}}) == [
        ".spec: 'size' is a required property"
    ]
    # AND the branch that the default IPAddress fails now requires `type`
    branches = spec["properties"]["address"]["oneOf"]
    assert "required" not in branches[0]
    assert branches[1]["required"] == ["type"]
    # SO an address without a type (the server fills IPAddress) matches exactly one branch
    assert errors(widget, widget_doc(address={"value": "10.0.0.1"})) == []
    assert errors(widget, widget_doc(address={"type": "Hostname", "value": "a.b"})) == []


def test_api_version_and_kind_are_pinned(widget):
    props = widget["properties"]
    # THEN without a description an empty one comes first; an existing one is kept
    assert props["apiVersion"] == {"description": "", "type": "string", "enum": ["example.com/v1"]}
    assert props["kind"] == {
        "description": "Kind of the object.",
        "type": "string",
        "enum": ["Widget"],
    }
    assert errors(widget, {**widget_doc(), "apiVersion": "example.com/v1beta1"}) == [
        ".apiVersion: 'example.com/v1beta1' is not one of ['example.com/v1']"
    ]
    assert errors(widget, {**widget_doc(), "kind": "Gadget"}) == [
        ".kind: 'Gadget' is not one of ['Widget']"
    ]


def test_metadata_is_a_strict_object_meta_that_needs_a_name_or_generate_name(widget, strict):
    assert widget["properties"]["metadata"] == strict.OBJECT_META
    assert widget["required"] == ["apiVersion", "kind", "metadata", "spec"]
    # THEN a label value that is not a string, an unknown key, and no name all fail
    assert errors(widget, {**widget_doc(), "metadata": {"name": "w", "labels": {"v": 1}}}) == [
        ".metadata.labels.v: 1 is not of type 'string'"
    ]
    assert errors(widget, {**widget_doc(), "metadata": {"name": "w", "label": {}}}) == [
        ".metadata: Additional properties are not allowed ('label' was unexpected)"
    ]
    assert len(errors(widget, {**widget_doc(), "metadata": {"namespace": "ml"}})) == 1
    assert errors(widget, {**widget_doc(), "metadata": {"generateName": "w-"}}) == []
    assert len(errors(widget, {k: v for k, v in widget_doc().items() if k != "metadata"})) == 1


def test_the_output_starts_with_schema_comment_and_title_and_keeps_utf8(widget, strict):
    assert list(widget)[:4] == ["$schema", "$comment", "title", "description"]
    assert widget["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert widget["$comment"] == (
        "Widget example.com/v1 from acme/widgets@v1.2.3 widgets.yaml; "
        "strict variant (see README.md, 'How the strict variant was made')."
    )
    assert widget["title"] == "Widget (example.com/v1)"
    text = strict.render(widget)
    assert text.startswith('{\n  "$schema"')
    assert text.endswith("}\n")
    assert "né gadget" in text


def test_the_comment_carries_commit_and_date_when_given(strict):
    source = strict.Provenance("p.yaml", "o/n", "v1", "0123456789abcdef", "2026-01-02")
    assert source.describe() == "o/n@v1 (0123456789ab, 2026-01-02) p.yaml"
    assert strict.Provenance("crd.yaml").describe() == "crd.yaml"


def test_a_ref_anywhere_is_refused(strict):
    schema = {**WIDGET_SCHEMA, "properties": {"spec": {"$ref": "#/definitions/Spec"}}}
    with pytest.raises(strict.StrictSchemaError, match=r"has a \$ref"):
        strict.strict_schema(strict.load_crd(widget_crd(schema)), strict.Provenance("w.yaml"))


def test_a_pattern_python_cannot_compile_is_refused(strict):
    schema = {**WIDGET_SCHEMA, "properties": {"spec": {"type": "string", "pattern": "a(?i)b"}}}
    with pytest.raises(strict.StrictSchemaError, match=r"'a\(\?i\)b' is not a 'regex'"):
        strict.strict_schema(strict.load_crd(widget_crd(schema)), strict.Provenance("w.yaml"))


def test_a_schema_that_breaks_the_metaschema_is_refused(strict):
    schema = {**WIDGET_SCHEMA, "properties": {"spec": {"type": "objet"}}}
    with pytest.raises(strict.StrictSchemaError, match="not a valid JSON Schema"):
        strict.strict_schema(strict.load_crd(widget_crd(schema)), strict.Provenance("w.yaml"))
