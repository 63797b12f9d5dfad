"""Strict validation against the Argo Workflows v4 JSON schemas (one cached validator per file)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator


@functools.cache
def _validator(path: Path) -> Draft7Validator:
    """The Argo files are ~3 MB and take ~30 ms to load: load each once per process."""
    return Draft7Validator(json.loads(path.read_text()))


def schema_errors(folder: Path, doc: Mapping[str, Any]) -> list[str]:
    """Every way ``doc`` breaks its kind's strict schema, one line each."""
    group, _, version = str(doc["apiVersion"]).rpartition("/")
    validator = _validator(folder / group / f"{str(doc['kind']).lower()}_{version}.json")
    meta = doc.get("metadata", {})
    where = f"{doc['kind']}/{meta.get('name') or meta.get('generateName')}"
    return [
        f"{where} .{'.'.join(map(str, err.absolute_path))}: {err.message[:300]}"
        for err in validator.iter_errors(json.loads(json.dumps(doc)))
    ]
