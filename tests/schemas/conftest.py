"""Shared fixtures of the schema tests: the vendored folder and the generator script."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "infrastructure" / "schemas" / "crd"
SCRIPT = REPO / "scripts" / "crd-to-strict-schema.py"


def load_script(path: Path, name: str) -> ModuleType:
    """Import a script whose file name is not an identifier (registered, for dataclasses)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def strict() -> ModuleType:
    """``scripts/crd-to-strict-schema.py`` as a module."""
    return load_script(SCRIPT, "crd_to_strict_schema")
