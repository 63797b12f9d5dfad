"""Registry module calls against the interfaces recorded from the modules' sources.

GIVEN infrastructure/terraform/interfaces/<module>.json (variables, outputs and providers of
each pinned registry module, read from its repository at a recorded tag and commit by
infrastructure/terraform/scripts/module_interface.py) WHEN every registry module call in our
.tf files is compared with it THEN no call passes an argument the module does not declare,
none leaves a required one out, no `module.<name>.<output>` names an output the module lacks,
and every provider a module needs is pinned exactly in each root that uses it. This is the
part of `terraform validate` that needs `terraform init`, done offline."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ._tree import TERRAFORM, Module, is_registry_source, module, modules, root_modules

INTERFACES = TERRAFORM / "interfaces"
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


@cache
def interfaces() -> dict[tuple[str, str], dict[str, Any]]:
    """(source, pinned version) -> recorded interface."""
    found = {}
    for path in sorted(INTERFACES.glob("*.json")):
        if path.name == "providers.json":
            continue
        record = json.loads(path.read_text())
        record["file"] = path.name
        found[(record["source"], record["pinned_version"])] = record
    return found


def _registry_calls() -> list[tuple[Module, str, dict[str, Any]]]:
    return [
        (mod, name, body)
        for mod in modules()
        for name, body in mod.module_calls().items()
        if is_registry_source(str(body["source"]))
    ]


def _id(value: object) -> str:
    return value.name if isinstance(value, Module) else value if isinstance(value, str) else ""


def _interface(call: dict[str, Any]) -> dict[str, Any]:
    key = (str(call["source"]), str(call["version"]))
    assert key in interfaces(), (
        f"no interface recorded for {key[0]} {key[1]} in {INTERFACES}: record it with "
        "infrastructure/terraform/scripts/module_interface.py (see interfaces/README.md)"
    )
    return interfaces()[key]


CALLS = _registry_calls()


def test_every_registry_module_call_is_covered() -> None:
    assert len(CALLS) >= 10, [name for _, name, _ in CALLS]
    missing = [
        (mod.name, name)
        for mod, name, call in CALLS
        if (str(call["source"]), str(call["version"])) not in interfaces()
    ]
    assert not missing, missing


@pytest.mark.parametrize(("mod", "name", "call"), CALLS, ids=_id)
def test_call_passes_only_declared_arguments(mod: Module, name: str, call: dict) -> None:
    declared = set(_interface(call)["variables"])
    passed = {key for key in call if key not in META_ARGUMENTS and not key.startswith("__")}
    unknown = sorted(passed - declared)
    assert not unknown, f"{mod.name} module.{name}: not inputs of {call['source']}: {unknown}"


@pytest.mark.parametrize(("mod", "name", "call"), CALLS, ids=_id)
def test_call_passes_every_required_argument(mod: Module, name: str, call: dict) -> None:
    required = {var for var, spec in _interface(call)["variables"].items() if spec["required"]}
    missing = sorted(required - set(call))
    assert not missing, f"{mod.name} module.{name}: required inputs not passed: {missing}"


@pytest.mark.parametrize(("mod", "name", "call"), CALLS, ids=_id)
def test_referenced_outputs_exist(mod: Module, name: str, call: dict) -> None:
    outputs = set(_interface(call)["outputs"])
    pattern = re.compile(rf"\bmodule\.{re.escape(name)}(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)")
    used = set(pattern.findall(mod.text()))
    assert used, f"{mod.name} module.{name}: no output referenced (the pattern missed them?)"
    unknown = sorted(used - outputs)
    assert not unknown, f"{mod.name} module.{name}: not outputs of {call['source']}: {unknown}"


def test_interfaces_carry_their_provenance() -> None:
    for record in interfaces().values():
        where = record["provenance"]
        assert where["repository"].startswith("https://github.com/"), record["file"]
        assert re.fullmatch(r"[0-9a-f]{40}", where["commit"]), record["file"]
        if where["ref"] != f"v{record['pinned_version']}":
            # Read at another tag: only a later minor of the same major, and say so.
            assert where["ref"].split(".")[0] == f"v{record['pinned_version'].split('.')[0]}"
            assert where["note"], f"{record['file']}: read at {where['ref']} without a note"


def test_every_recorded_interface_is_called() -> None:
    called = {(str(call["source"]), str(call["version"])) for _, _, call in CALLS}
    stale = sorted(record["file"] for key, record in interfaces().items() if key not in called)
    assert not stale, f"interfaces nobody calls (a pin moved?): {stale}"


# ---------------------------------------------------------------------------------------
# Providers a module needs must be pinned exactly in every root that (transitively) uses it.


def _local_children(mod: Module) -> list[Module]:
    return [
        Module((mod.path / str(body["source"])).resolve())
        for body in mod.module_calls().values()
        if str(body["source"]).startswith(".")
    ]


def _declared_providers(mod: Module) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in mod.terraform_blocks():
        for providers in block.get("required_providers", []):
            found.update({k: v for k, v in providers.items() if k != "__is_block__"})
    return found


def needed_providers(mod: Module, seen: set[Path] | None = None) -> dict[str, str]:
    """provider name -> who needs it, over our modules and the registry modules they call."""
    seen = seen if seen is not None else set()
    if mod.path.resolve() in seen:
        return {}
    seen.add(mod.path.resolve())
    needed = {name: mod.name for name in _declared_providers(mod)}
    for name, body in mod.module_calls().items():
        if is_registry_source(str(body["source"])):
            record = _interface(body)
            for provider in record["required_providers"]:
                needed.setdefault(provider, f"{mod.name} module.{name} ({record['file']})")
    for child in _local_children(mod):
        for provider, who in needed_providers(child, seen).items():
            needed.setdefault(provider, who)
    return needed


ENVIRONMENT_ROOTS = [m for m in root_modules() if m.name.startswith("environments/")]


@pytest.mark.parametrize("root", root_modules(), ids=lambda m: m.name)
def test_root_pins_every_provider_its_modules_need(root: Module) -> None:
    pinned = _declared_providers(root)
    unpinned = {p: who for p, who in needed_providers(root).items() if p not in pinned}
    assert not unpinned, f"{root.name}: providers needed but not pinned: {unpinned}"
    loose = {p: spec for p, spec in pinned.items() if not EXACT.match(str(spec.get("version")))}
    assert not loose, f"{root.name}: not exact: {loose}"


def test_pins_satisfy_the_registry_modules_constraints() -> None:
    for root in root_modules():
        pinned = {p: str(spec["version"]) for p, spec in _declared_providers(root).items()}
        for mod in [root, *_local_children(root)]:
            for name, body in mod.module_calls().items():
                if not is_registry_source(str(body["source"])):
                    continue
                record = _interface(body)
                for provider, spec in record["required_providers"].items():
                    for constraint in spec["constraints"]:
                        text = constraint.rpartition(" (")[0]
                        assert provider in pinned, f"{root.name}: {provider} not pinned"
                        assert satisfies(pinned[provider], text), (
                            f"{root.name}: {provider} {pinned[provider]} breaks {text} "
                            f"of module.{name} ({record['file']})"
                        )


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip().lstrip("v").split("."))


def satisfies(version: str, constraints: str) -> bool:
    """Terraform version constraints: =, !=, >, >=, <, <=, ~> (comma means and)."""
    have = _version(version)
    for clause in constraints.split(","):
        match = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*([\d.]+)\s*", clause)
        assert match, f"cannot read constraint {clause!r}"
        op, want_text = match[1] or "=", match[2]
        want = _version(want_text)
        width = max(len(have), len(want))
        a, b = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {
            "=": a == b,
            "!=": a != b,
            ">": a > b,
            ">=": a >= b,
            "<": a < b,
            "<=": a <= b,
            "~>": a >= b and have[: len(want) - 1] == want[: len(want) - 1],
        }[op]
        if not ok:
            return False
    return True


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("3.3.1", "~> 3.1", True),
        ("4.0.0", "~> 3.1", False),
        ("3.2.0", "~> 3.1.0", False),
        ("7.46.0", ">= 7.22, < 8", True),
        ("8.0.0", ">= 7.22, < 8", False),
        ("2.4.0", ">= 2.0", True),
    ],
)
def test_constraint_reader(version: str, constraint: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


def test_the_eks_and_cloud_sql_roots_pin_cloudinit_and_null() -> None:
    """The fault: module.eks needs cloudinit and null (its _user_data submodule) and the
    Cloud SQL module needs null; the roots did not pin them."""
    aws = _declared_providers(module("environments/aws/dev/cluster"))
    gcp = _declared_providers(module("environments/gcp/dev/cluster"))
    assert {"cloudinit", "null"} <= set(aws), sorted(aws)
    assert "null" in gcp, sorted(gcp)


# ---------------------------------------------------------------------------------------
# Provider resources: the arguments and blocks we use, per type, as checked against the docs.

PROVIDERS_JSON = INTERFACES / "providers.json"


@cache
def provider_record() -> dict[str, Any]:
    return json.loads(PROVIDERS_JSON.read_text())


def _used() -> dict[str, list[str]]:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "provider_arguments", TERRAFORM / "scripts" / "provider_arguments.py"
    )
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    found = {}
    for key, entry in script.used().items():
        kind, rtype = key.split()
        found[rtype if kind == "resource" else f"{kind}.{rtype}"] = entry["arguments"]
    return found


USED = _used()


@pytest.mark.parametrize("rtype", sorted(USED))
def test_resource_blocks_use_only_checked_arguments(rtype: str) -> None:
    types = provider_record()["types"]
    assert rtype in types, f"{rtype} is used but not in {PROVIDERS_JSON.name}"
    unchecked = sorted(set(USED[rtype]) - set(types[rtype]["arguments"]))
    assert not unchecked, (
        f"{rtype}: {unchecked} not checked against the provider docs; run "
        "scripts/provider_arguments.py check and add them to providers.json"
    )


def test_checked_provider_versions_are_the_pinned_ones() -> None:
    pins = {
        spec["source"]: str(spec["version"])
        for root in root_modules()
        for spec in _declared_providers(root).values()
    }
    for name, provider in provider_record()["providers"].items():
        if provider["source"] in pins:
            assert provider["pinned"] == pins[provider["source"]], name
        if provider["checked_by_script"]:
            assert re.fullmatch(r"[0-9a-f]{40}", provider["commit"]), name
            if provider["ref"] != f"v{provider['pinned']}":
                assert provider["note"], f"{name}: checked at {provider['ref']} without a note"
        else:
            assert provider["note"], f"{name}: unchecked without a reason"
    providers = {t["provider"] for t in provider_record()["types"].values()}
    assert providers <= set(provider_record()["providers"])


def test_artifact_registry_uses_the_providers_cleanup_policies_block() -> None:
    """The fault: `cleanup_policy` is no block of google_artifact_registry_repository
    (google 7.x docs: `cleanup_policies`), so `terraform validate` failed on GCP."""
    repository = module("modules/gke").resources()[("google_artifact_registry_repository", "this")]
    assert "cleanup_policy" not in repository
    assert len(repository["cleanup_policies"]) == 2
    checked = provider_record()["types"]["google_artifact_registry_repository"]["arguments"]
    assert "cleanup_policy" not in checked
