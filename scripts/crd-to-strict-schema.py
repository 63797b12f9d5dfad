#!/usr/bin/env python3
"""Turn one version of a local CRD YAML file into a strict, standalone JSON Schema.

The steps are the recipe in ``infrastructure/schemas/crd/README.md`` ("How the strict variant
was made"): close every object that has ``properties`` (not inside ``allOf``/``anyOf``/``oneOf``/
``not``, never one that preserves unknown fields), pin ``apiVersion``/``kind``, a strict
ObjectMeta, emulate API-server defaulting, OpenAPI 3.0 -> JSON Schema, then check the result
(no ``$ref``/``$id``, Draft-07 and 2020-12 metaschemas, every ``pattern`` compiles in Python).
Nothing is downloaded: fetch the CRD at its tag first.

Example (regenerates ``infrastructure/schemas/crd/http.keda.sh/httpscaledobject_v1alpha1.json``
and its entry in ``sources.json``)::

    git -C http-add-on show v0.15.0:config/crd/bases/http.keda.sh_httpscaledobjects.yaml >crd.yaml
    python scripts/crd-to-strict-schema.py crd.yaml --version v1alpha1 \\
        --repo kedacore/http-add-on --ref v0.15.0 \\
        --commit 4ea8a863bd7c16464dc5afbe9ebc8a26e563fac0 --date 2026-06-15 \\
        --path config/crd/bases/http.keda.sh_httpscaledobjects.yaml \\
        --into infrastructure/schemas/crd --sources infrastructure/schemas/crd/sources.json

``-o OUT.json`` writes one file instead (``-o -``: standard output). Exit status 1, with the
reason on standard error, when the CRD or the result breaks a rule.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, Draft202012Validator, SchemaError

Schema = dict[str, Any]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
README_NOTE = "strict variant (see README.md, 'How the strict variant was made')"
COMBINATORS = ("allOf", "anyOf", "oneOf", "not")
ROOT_REQUIRED = ["apiVersion", "kind", "metadata"]
# Go lets inline flags follow the anchor (``^(?i)...``); Python wants them first.
GO_FLAGS_AFTER_ANCHOR = re.compile(r"^\^(\(\?[a-zA-Z]+\))")


def _nullable(kind: str) -> Schema:
    return {"type": [kind, "null"]}


_OWNER_REFERENCE: Schema = {
    "type": "object",
    "required": ["apiVersion", "kind", "name", "uid"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "uid": {"type": "string"},
        "controller": {"type": "boolean"},
        "blockOwnerDeletion": {"type": "boolean"},
    },
    "additionalProperties": False,
}

OBJECT_META: Schema = {
    "description": "Standard Kubernetes ObjectMeta. Added by the strict conversion: the CRD "
    "itself only says 'type: object'; the API server validates metadata with its built-in "
    "ObjectMeta schema.",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {**_nullable("object"), "additionalProperties": {"type": "string"}},
        "annotations": {**_nullable("object"), "additionalProperties": {"type": "string"}},
        "finalizers": {**_nullable("array"), "items": {"type": "string"}},
        "ownerReferences": {**_nullable("array"), "items": _OWNER_REFERENCE},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "selfLink": {"type": "string"},
        "creationTimestamp": _nullable("string"),
        "deletionTimestamp": _nullable("string"),
        "deletionGracePeriodSeconds": _nullable("integer"),
        "managedFields": {**_nullable("array"), "items": {"type": "object"}},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
}


class StrictSchemaError(Exception):
    """The CRD cannot be converted, or the result breaks one of the recipe's checks."""


@dataclass(frozen=True)
class Provenance:
    """Where the CRD came from; it goes into ``$comment`` and the ``sources.json`` entry."""

    path: str
    repo: str | None = None
    ref: str | None = None
    commit: str | None = None
    date: str | None = None

    def describe(self) -> str:
        """``owner/name@ref (commit12, date) path``, with the parts that are known."""
        where = f"{self.repo}@{self.ref}" if self.repo and self.ref else self.repo or ""
        pinned = ", ".join(p for p in (self.commit and self.commit[:12], self.date) if p)
        return " ".join(p for p in (where, pinned and f"({pinned})", self.path) if p)


@dataclass(frozen=True)
class Crd:
    """One version of one CustomResourceDefinition."""

    group: str
    kind: str
    version: str
    storage: bool
    deprecated: bool
    schema: Schema

    @property
    def file(self) -> str:
        """The schema's place in a catalog folder: ``<group>/<kind lower>_<version>.json``."""
        return f"{self.group}/{self.kind.lower()}_{self.version}.json"


def load_crd(text: str, version: str | None = None, kind: str | None = None) -> Crd:
    """The CRD in ``text`` (one YAML stream), at ``version`` (default: the storage version)."""
    crds = [
        d
        for d in yaml.safe_load_all(text)
        if isinstance(d, dict)
        and d.get("kind") == "CustomResourceDefinition"
        and (kind is None or d["spec"]["names"]["kind"] == kind)
    ]
    if not crds:
        which = f" of kind {kind}" if kind else ""
        raise StrictSchemaError(f"no CustomResourceDefinition{which} in the file")
    if len(crds) > 1:
        kinds = sorted(d["spec"]["names"]["kind"] for d in crds)
        raise StrictSchemaError(f"{len(crds)} CRDs in the file: pass --kind, one of {kinds}")
    spec = crds[0]["spec"]
    versions = {v["name"]: v for v in spec["versions"]}
    if version is None:
        version = next((name for name, v in versions.items() if v.get("storage")), None)
    if version is None or version not in versions:
        raise StrictSchemaError(f"no version {version!r} in the CRD; it has {sorted(versions)}")
    entry = versions[version]
    return Crd(
        group=spec["group"],
        kind=spec["names"]["kind"],
        version=version,
        storage=bool(entry.get("storage")),
        deprecated=bool(entry.get("deprecated")),
        schema=copy.deepcopy(entry["schema"]["openAPIV3Schema"]),
    )


def subschemas(node: Schema) -> Iterator[tuple[Schema, bool]]:
    """Each direct child schema of ``node``, with whether it is a combinator branch."""
    for child in node.get("properties", {}).values():
        yield child, False
    for key in ("additionalProperties", "items"):
        child = node.get(key)
        for item in child if isinstance(child, list) else [child]:
            if isinstance(item, dict):
                yield item, False
    for key in COMBINATORS:
        child = node.get(key)
        for item in child if isinstance(child, list) else [child]:
            if isinstance(item, dict):
                yield item, True


def make_json_schema(node: Schema) -> None:
    """OpenAPI 3.0 -> JSON Schema, in place: nullable, boolean exclusive bounds, Go regex."""
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(exclusive) is True and bound in node:
            node[exclusive] = node.pop(bound)
        elif node.get(exclusive) is False:
            del node[exclusive]
    if isinstance(node.get("pattern"), str):
        node["pattern"] = GO_FLAGS_AFTER_ANCHOR.sub(r"\1^", node["pattern"])


def emulate_defaulting(node: Schema) -> None:
    """A defaulted property is not required; a ``oneOf`` branch its default fails requires it."""
    properties = node.get("properties", {})
    defaulted = {name: p["default"] for name, p in properties.items() if "default" in p}
    if "required" in node:
        node["required"] = [name for name in node["required"] if name not in defaulted]
        if not node["required"]:
            del node["required"]
    for branch in node.get("oneOf", []):
        for name, constraint in branch.get("properties", {}).items():
            fails = name in defaulted and not Draft7Validator(constraint).is_valid(defaulted[name])
            if fails and name not in branch.get("required", []):
                branch["required"] = [*branch.get("required", []), name]


def close_objects(node: Schema, in_branch: bool = False) -> None:
    """The recipe's per-node steps, on ``node`` and every schema below it.

    An object that already has ``additionalProperties`` (a schema, or ``false``) keeps it.
    """
    make_json_schema(node)
    emulate_defaulting(node)
    if node.get("x-kubernetes-preserve-unknown-fields") is True:
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
    elif "properties" in node and not in_branch and "additionalProperties" not in node:
        node["additionalProperties"] = False
    for child, is_branch in subschemas(node):
        close_objects(child, in_branch or is_branch)


def pin(prop: Schema | None, value: str) -> Schema:
    """``apiVersion``/``kind`` with ``enum: [value]`` (an empty description first if none)."""
    pinned = dict(prop or {"type": "string"})
    if "description" not in pinned:
        pinned = {"description": "", **pinned}
    return {**pinned, "enum": [value]}


def strict_root(crd: Crd) -> Schema:
    """The CRD's schema with the per-node steps done and the root rules applied."""
    schema = copy.deepcopy(crd.schema)
    close_objects(schema)
    props = schema.setdefault("properties", {})
    pinned = {
        "apiVersion": pin(props.get("apiVersion"), f"{crd.group}/{crd.version}"),
        "kind": pin(props.get("kind"), crd.kind),
        "metadata": copy.deepcopy(OBJECT_META),
    }
    missing = {name: p for name, p in pinned.items() if name not in props}
    schema["properties"] = {**missing, **{name: pinned.get(name, p) for name, p in props.items()}}
    schema["additionalProperties"] = schema.get("additionalProperties", False)
    own = [name for name in schema.get("required", []) if name not in ROOT_REQUIRED]
    schema["required"] = ROOT_REQUIRED + own
    return schema


def strict_schema(crd: Crd, source: Provenance) -> Schema:
    """The strict, standalone Draft-07 schema of ``crd``; raises if a check fails."""
    api = f"{crd.group}/{crd.version}"
    comment = f"{crd.kind} {api} from {source.describe()}; {README_NOTE}."
    schema = {
        "$schema": DRAFT_07,
        "$comment": comment,
        "title": f"{crd.kind} ({api})",
        **strict_root(crd),
    }
    check(schema)
    return schema


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a JSON document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def check(schema: Schema) -> None:
    """No ``$ref``/``$id``; valid for Draft-07 and 2020-12 (whose format check compiles every
    ``pattern`` with Python's ``re``)."""
    for node in walk(schema):
        for key in ("$ref", "$id"):
            if isinstance(node.get(key), str):
                raise StrictSchemaError(f"the schema has a {key} ({node[key]}); inline it")
    try:
        Draft7Validator.check_schema(schema)
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise StrictSchemaError(f"not a valid JSON Schema: {exc.message}") from exc


def render(schema: Schema) -> str:
    """The file's text: two-space JSON, UTF-8 kept as is, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def sources_entry(crd: Crd, source: Provenance, text: str) -> dict[str, Any]:
    """The file's ``sources.json`` entry (same keys, same order as the vendored ones)."""
    data = text.encode()
    return {
        "group": crd.group,
        "kind": crd.kind,
        "version": crd.version,
        "source": "crd",
        "repo": source.repo,
        "ref": source.ref,
        "commit": source.commit,
        "commit_date": source.date,
        "path": source.path,
        "storage_version": crd.storage,
        "deprecated": crd.deprecated,
        "file": crd.file,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def record(sources: Path, entry: dict[str, Any]) -> None:
    """Add or replace ``entry`` in ``sources`` (kept sorted by group, kind, version).

    Keys of an old entry that this script does not know (``sample``) are kept.
    """
    entries = json.loads(sources.read_text()) if sources.exists() else []
    old: dict[str, Any] = next((e for e in entries if e["file"] == entry["file"]), {})
    entries = [e for e in entries if e["file"] != entry["file"]]
    entries.append({**entry, **{k: v for k, v in old.items() if k not in entry}})
    entries.sort(key=lambda e: (e["group"], e["kind"], e["version"]))
    sources.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("crd", type=Path, help="local CRD YAML file (one or more documents)")
    parser.add_argument("--version", help="the CRD version to convert (default: storage)")
    parser.add_argument("--kind", help="pick this kind when the file holds several CRDs")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", help="write the schema to this file ('-': stdout)")
    out.add_argument("--into", type=Path, help="schema folder: write <group>/<kind>_<ver>.json")
    parser.add_argument("--sources", type=Path, help="add the file's entry to this sources.json")
    group = parser.add_argument_group("provenance (for $comment and sources.json)")
    group.add_argument("--repo", help="owner/name of the repository the CRD comes from")
    group.add_argument("--ref", help="the tag (or branch) the CRD was taken at")
    group.add_argument("--commit", help="the full commit SHA of that tag")
    group.add_argument("--date", help="the commit date, YYYY-MM-DD")
    group.add_argument("--path", help="the CRD's path in the repository (default: file name)")
    args = parser.parse_args(argv)
    missing = [f"--{k}" for k in ("repo", "ref", "commit", "date", "path") if not vars(args)[k]]
    if args.sources and missing:
        parser.error(f"--sources needs the full provenance; add {' '.join(missing)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = parse_args(argv)
    source = Provenance(args.path or args.crd.name, args.repo, args.ref, args.commit, args.date)
    try:
        crd = load_crd(args.crd.read_text(encoding="utf-8"), args.version, args.kind)
        text = render(strict_schema(crd, source))
    except StrictSchemaError as exc:
        print(f"{args.crd}: {exc}", file=sys.stderr)
        return 1
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.output) if args.output else args.into / crd.file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if args.sources:
        record(args.sources, sources_entry(crd, source, text))
    print(f"wrote {target} ({len(text.encode())} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
