"""Inputs and outputs of every module, and the arguments of every local module call.

GIVEN each module WHEN its variables, outputs and module calls are read THEN every variable
has a type and a description and is used, every reference is declared, every output is
described, and each call to a local module passes only arguments the child declares and all
the ones it requires."""

from __future__ import annotations

import re

import pytest

from ._tree import TERRAFORM, Module, modules

VAR_REFERENCE = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
META_ARGUMENTS = {
    "source",
    "version",
    "count",
    "for_each",
    "providers",
    "depends_on",
    "__is_block__",
}


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_every_variable_has_type_and_description(mod: Module) -> None:
    incomplete = {
        name: [field for field in ("type", "description") if not body.get(field)]
        for name, body in mod.variables().items()
        if not (body.get("type") and body.get("description"))
    }
    assert not incomplete, f"{mod.name}: {incomplete}"


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_every_referenced_variable_is_declared_and_every_declared_one_used(mod: Module) -> None:
    declared = set(mod.variables())
    # Validation blocks reference their own variable; count uses outside variables.tf only.
    code = "\n".join(path.read_text() for path in mod.files if path.name != "variables.tf")
    referenced = set(VAR_REFERENCE.findall(re.sub(r"(?m)#.*$", "", code)))
    assert referenced <= declared, f"{mod.name}: undeclared {sorted(referenced - declared)}"
    assert declared <= referenced, f"{mod.name}: unused {sorted(declared - referenced)}"


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_every_output_has_a_description(mod: Module) -> None:
    undocumented = [name for name, body in mod.outputs().items() if not body.get("description")]
    assert not undocumented, f"{mod.name}: {undocumented}"


def _local_calls() -> list[tuple[Module, str, dict]]:
    calls = []
    for mod in modules():
        for name, body in mod.module_calls().items():
            if str(body["source"]).startswith("."):
                calls.append((mod, name, body))
    return calls


@pytest.mark.parametrize(
    ("caller", "name", "call"),
    _local_calls(),
    ids=lambda v: v.name if isinstance(v, Module) else (v if isinstance(v, str) else ""),
)
def test_local_module_calls_match_the_child_interface(
    caller: Module, name: str, call: dict
) -> None:
    child = Module((caller.path / call["source"]).resolve())
    assert child.path.is_dir(), f"{caller.name}: module {name} points at missing {call['source']}"
    inputs = child.variables()
    passed = set(call) - META_ARGUMENTS
    unknown = passed - set(inputs)
    required = {var for var, body in inputs.items() if "default" not in body}
    assert not unknown, (
        f"{caller.name} module.{name}: {sorted(unknown)} not declared by {child.name}"
    )
    assert required <= passed, (
        f"{caller.name} module.{name}: missing required {sorted(required - passed)}"
    )


def test_every_child_module_is_called() -> None:
    called = {(caller.path / body["source"]).resolve() for caller, _, body in _local_calls()}
    uncalled = [
        m.name
        for m in modules()
        if m.name.startswith("modules/") and m.path.resolve() not in called
    ]
    assert not uncalled, f"modules nobody calls: {uncalled} (under {TERRAFORM})"
