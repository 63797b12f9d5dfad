"""Helpers of the manifest tests: the validation script as a module, built overlays, pods."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]
KUSTOMIZE = REPO / "infrastructure" / "kubernetes"
OVERLAYS = ("aws", "azure", "gcp")
Doc = dict[str, Any]


@functools.cache
def script() -> ModuleType:
    """scripts/validate-manifests.py, imported (its name has a dash)."""
    path = REPO / "scripts" / "validate-manifests.py"
    spec = importlib.util.spec_from_file_location("validate_manifests", path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def built(target: str) -> tuple[Doc, ...]:
    return tuple(script().build(target))


def find(docs: tuple[Doc, ...], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]


def one(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def cel_strings(expression: str) -> list[str]:
    """The single-quoted string literals of a CEL expression, unescaped."""
    return [s.replace("\\\\", "\\") for s in re.findall(r"'((?:[^'\\]|\\.)*)'", expression)]


def cel_list(expression: str) -> list[str]:
    """The first list literal of strings in a CEL expression."""
    match = re.search(r"\[([^\]]*)\]", expression)
    assert match, f"no list literal in {expression!r}"
    return cel_strings(match.group(1))
