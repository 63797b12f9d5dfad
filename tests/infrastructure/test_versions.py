"""Version pins: Terraform, providers and registry modules.

GIVEN every versions.tf and module call WHEN their constraints are read THEN root modules pin
Terraform and each provider exactly, child modules state compatible lower bounds, each
provider and registry module has one exact version across the whole tree, and nothing
declares provider versions outside versions.tf."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from ._tree import Module, first, is_registry_source, modules, root_modules

EXACT = re.compile(r"^v?\d+\.\d+\.\d+$")
MIN_TERRAFORM = (1, 11)  # write-only arguments and ephemeral resources; S3 native locking


def _providers(mod: Module) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for block in mod.terraform_blocks():
        for providers in block.get("required_providers", []):
            found.update({k: v for k, v in providers.items() if k != "__is_block__"})
    return found


def _required_version(mod: Module) -> str:
    versions = [
        block["required_version"] for block in mod.terraform_blocks() if "required_version" in block
    ]
    assert len(versions) == 1, f"{mod.name}: one required_version expected, found {versions}"
    return versions[0]


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_terraform_version_is_constrained_to_a_known_range(mod: Module) -> None:
    constraint = _required_version(mod)
    lower = re.search(r">=\s*(\d+)\.(\d+)", constraint)
    assert lower, f"{mod.name}: no lower bound in {constraint}"
    assert (int(lower[1]), int(lower[2])) >= MIN_TERRAFORM, f"{mod.name}: {constraint}"
    assert re.search(r"<\s*2\.0\.0", constraint), f"{mod.name}: no upper bound in {constraint}"


@pytest.mark.parametrize("mod", root_modules(), ids=lambda m: m.name)
def test_root_modules_pin_every_provider_exactly(mod: Module) -> None:
    providers = _providers(mod)
    assert providers, f"{mod.name}: no required_providers"
    loose = {
        name: spec.get("version")
        for name, spec in providers.items()
        if not EXACT.match(str(spec.get("version", "")))
    }
    assert not loose, f"{mod.name}: not exact: {loose}"
    assert all(spec.get("source", "").startswith("hashicorp/") for spec in providers.values())


@pytest.mark.parametrize(
    "mod", [m for m in modules() if m not in root_modules()], ids=lambda m: m.name
)
def test_child_modules_declare_provider_lower_bounds(mod: Module) -> None:
    for name, spec in _providers(mod).items():
        assert str(spec.get("version", "")).startswith(">="), f"{mod.name}: {name} {spec}"


def test_each_provider_has_one_exact_version_across_the_tree() -> None:
    versions: dict[str, set[str]] = defaultdict(set)
    for mod in root_modules():
        for spec in _providers(mod).values():
            versions[spec["source"]].add(spec["version"])
    drifting = {source: found for source, found in versions.items() if len(found) > 1}
    assert not drifting, drifting


def test_root_pins_satisfy_child_lower_bounds() -> None:
    pins = {
        spec["source"]: spec["version"]
        for mod in root_modules()
        for spec in _providers(mod).values()
    }
    for mod in modules():
        for spec in _providers(mod).values():
            for bound in re.findall(r">=\s*([\d.]+)", str(spec.get("version", ""))):
                pin = pins.get(spec["source"])
                if pin is not None:
                    assert tuple(map(int, pin.split("."))) >= tuple(map(int, bound.split("."))), (
                        mod.name,
                        spec,
                        pin,
                    )


def _registry_calls() -> list[tuple[str, str, dict]]:
    return [
        (mod.name, name, body)
        for mod in modules()
        for name, body in mod.module_calls().items()
        if is_registry_source(str(body["source"]))
    ]


@pytest.mark.parametrize(
    ("where", "name", "call"), _registry_calls(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_registry_modules_are_pinned_exactly(where: str, name: str, call: dict) -> None:
    assert EXACT.match(str(call.get("version", ""))), (
        f"{where} module.{name}: version {call.get('version')!r}"
    )


def test_each_registry_module_has_one_version_across_the_tree() -> None:
    versions: dict[str, set[str]] = defaultdict(set)
    for _, _, call in _registry_calls():
        package = str(call["source"]).split("//")[0]
        versions[package].add(call["version"])
    drifting = {package: found for package, found in versions.items() if len(found) > 1}
    assert not drifting, drifting


def test_the_platform_builds_on_the_community_modules() -> None:
    packages = {str(call["source"]).split("//")[0] for _, _, call in _registry_calls()}
    assert packages >= {
        "terraform-aws-modules/vpc/aws",
        "terraform-aws-modules/eks/aws",
        "terraform-aws-modules/iam/aws",
        "terraform-aws-modules/rds/aws",
        "terraform-aws-modules/s3-bucket/aws",
        "terraform-google-modules/network/google",
        "terraform-google-modules/kubernetes-engine/google",
        "terraform-google-modules/sql-db/google",
    }


def test_local_module_calls_carry_no_version() -> None:
    for mod in modules():
        for name, call in mod.module_calls().items():
            if str(call["source"]).startswith("."):
                assert "version" not in call, f"{mod.name} module.{name}"


def test_no_provider_version_outside_versions_tf() -> None:
    for mod in modules():
        for path, block in mod.blocks("provider"):
            for name, body in block.items():
                assert "version" not in first(body), f"{path}: provider {name} sets a version"
