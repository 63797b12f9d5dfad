"""The vendored strict CRD schemas (``infrastructure/schemas/crd``): every file is accounted for
in ``sources.json``, and every example does what the README says (valid ones pass, invalid ones
fail with their ``# expect:`` text), with Draft 7 and Draft 2020-12."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.protocols import Validator

from .conftest import VENDORED

SCHEMA_FILES = sorted(str(p.relative_to(VENDORED)) for p in VENDORED.glob("*/*.json"))
VALID = sorted(VENDORED.glob("examples/valid/*.yaml"))
INVALID = sorted(VENDORED.glob("examples/invalid/*.yaml"))
DRAFTS = {"draft7": Draft7Validator, "draft2020-12": Draft202012Validator}
Doc = dict[str, Any]


@functools.cache
def sources() -> dict[str, Doc]:
    entries = json.loads((VENDORED / "sources.json").read_text())
    return {e["file"]: e for e in entries}


@functools.cache
def validator(file: str, draft: str) -> Validator:
    """One validator per schema file and draft (the largest files take ~30 ms to load)."""
    return DRAFTS[draft](json.loads((VENDORED / file).read_text()))


def documents(path: Path) -> list[Doc]:
    """The YAML documents of an example, as JSON would carry them (timestamps as strings)."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return json.loads(json.dumps(docs, default=str))


def schema_file(doc: Doc) -> str:
    group, _, version = doc["apiVersion"].rpartition("/")
    return f"{group}/{doc['kind'].lower()}_{version}.json"


def error_lines(doc: Doc, file: str, draft: str) -> list[str]:
    """Errors as the README's checker prints them: ``Kind/name .path: message``."""
    name = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
    return [
        f"{name} .{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(file, draft).iter_errors(doc)
    ]


def header(path: Path, key: str) -> str | None:
    """The value of a ``# key: value`` comment line of an example, if it has one."""
    prefix = f"# {key}: "
    lines = path.read_text().splitlines()
    return next((line.removeprefix(prefix) for line in lines if line.startswith(prefix)), None)


def test_sources_json_lists_exactly_the_schema_files():
    assert sorted(sources()) == SCHEMA_FILES


@pytest.mark.parametrize("file", SCHEMA_FILES)
def test_each_file_has_the_size_and_sha256_that_sources_json_records(file):
    data = (VENDORED / file).read_bytes()
    entry = sources()[file]
    assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
    assert file == f"{entry['group']}/{entry['kind'].lower()}_{entry['version']}.json"


@pytest.mark.parametrize("file", [f for f in SCHEMA_FILES if sources()[f]["source"] == "crd"])
def test_the_comment_of_a_crd_based_file_names_the_source_that_sources_json_records(file):
    # GIVEN the provenance sources.json records for a file made from an upstream CRD
    entry = sources()[file]
    with (VENDORED / file).open(encoding="utf-8") as fh:
        head = "".join(fh.readline() for _ in range(3))
    # THEN the file's $comment says the same
    pinned = f"({entry['commit'][:12]}, {entry['commit_date']})"
    where = f"from {entry['repo']}@{entry['ref']} {pinned} {entry['path']};"
    assert f'"$comment": "{entry["kind"]} {entry["group"]}/{entry["version"]} {where}' in head


@pytest.mark.parametrize("draft", DRAFTS)
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_example_passes(path, draft):
    for doc in documents(path):
        assert error_lines(doc, schema_file(doc), draft) == []


@pytest.mark.parametrize("draft", DRAFTS)
@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_invalid_example_fails_with_its_expected_message(path, draft):
    # GIVEN one document, the text its error must contain, and maybe another schema to use
    (doc,) = documents(path)
    expect = header(path, "expect")
    assert expect, f"{path.name}: the first line must be '# expect: <text>'"
    file = header(path, "schema") or schema_file(doc)
    # WHEN it is validated
    lines = error_lines(doc, file, draft)
    # THEN one of its errors says what the case is about
    assert any(expect in line for line in lines), f"{expect!r} not in {lines}"


def test_every_schema_file_has_a_valid_and_an_invalid_example():
    valid = {schema_file(doc) for path in VALID for doc in documents(path)}
    invalid = {header(p, "schema") or schema_file(documents(p)[0]) for p in INVALID}
    assert set(SCHEMA_FILES) - valid == set()
    assert set(SCHEMA_FILES) - invalid == set()


def test_the_readme_counts_are_the_folder_counts():
    readme = (VENDORED / "README.md").read_text()
    valid_docs = sum(len(documents(p)) for p in VALID)
    assert f"## Contents ({len(SCHEMA_FILES)} schemas," in readme
    assert f"`examples/valid/*.yaml` holds {valid_docs} realistic documents" in readme
    assert f"`examples/invalid/*.yaml` holds {len(INVALID)} single-document cases" in readme
