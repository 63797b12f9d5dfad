"""Shared views of the environments: the differences table, the roots' effective module
inputs (the module's defaults under the root's arguments), and the ApplicationSet evaluator's
inputs. Read-only; the tests of tests/infrastructure/test_environments*.py use them."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ._tree import CLUSTER_MODULES, INFRA, Module, first, module

ENVIRONMENTS_DIR = INFRA / "environments"
ENVIRONMENTS = ("dev", "staging", "prod")
PROMOTED = ("staging", "prod")
ROOTS = ("cluster", "platform")
MISSING = object()


@functools.cache
def differences() -> dict[str, Any]:
    """infrastructure/environments/differences.yaml, the one table of what differs."""
    loaded: dict[str, Any] = yaml.safe_load((ENVIRONMENTS_DIR / "differences.yaml").read_text())
    return loaded


def terraform_rows(cloud: str, root: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = differences()["terraform"][cloud][root]
    return rows


def root(cloud: str, environment: str, kind: str) -> Module:
    return module(f"environments/{cloud}/{environment}/{kind}")


def _plain(value: Any) -> Any:
    """hcl2 values as plain data: blocks of one dict unwrapped, the block marker dropped."""
    value = first(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key, MISSING), value)
        return merged
    return copy.deepcopy(over)


def effective_inputs(cloud: str, environment: str) -> dict[str, Any]:
    """The cluster root's module inputs: the module's defaults under the root's arguments."""
    call = root(cloud, environment, "cluster").module_calls()["cluster"]
    child = module(f"modules/{CLUSTER_MODULES[cloud]}")
    defaults = {
        name: _plain(body["default"])
        for name, body in child.variables().items()
        if "default" in body
    }
    arguments = {k: _plain(v) for k, v in call.items() if k not in ("source", "__is_block__")}
    merged: dict[str, Any] = _merge(defaults, arguments)
    return merged


def variable_defaults(cloud: str, environment: str, kind: str) -> dict[str, Any]:
    return {
        name: _plain(body.get("default", MISSING))
        for name, body in root(cloud, environment, kind).variables().items()
    }


def lookup(data: Any, dotted: str) -> Any:
    """data["a"]["b"] (or a list index) for "a.b"; MISSING when absent."""
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return MISSING
    return data


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of nested dicts as ("a.b", value); lists are leaves."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from flatten(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), data


def environment_file(environment: str) -> Path:
    return ENVIRONMENTS_DIR / f"{environment}.yaml"
