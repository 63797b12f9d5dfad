"""Module layout (STYLE 12), HCL syntax and formatting of infrastructure/terraform.

GIVEN the Terraform tree WHEN it is read offline THEN every file parses, every module has the
standard files and a README, and `terraform fmt` has nothing to change."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ._tree import TERRAFORM, Module, modules, parse, tf_files

STANDARD_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")

EXPECTED_MODULES = {
    "bootstrap/aws",
    "bootstrap/azure",
    "bootstrap/gcp",
    "modules/eks",
    "modules/aks",
    "modules/gke",
    "modules/platform",
    "modules/platform/_release",
    *(
        f"environments/{cloud}/{env}/{root}"
        for cloud in ("aws", "azure", "gcp")
        for env in ("dev", "staging", "prod")
        for root in ("cluster", "platform")
    ),
}


def test_the_tree_has_every_module_of_the_design() -> None:
    assert {m.name for m in modules()} == EXPECTED_MODULES


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_terraform_file_parses_with_python_hcl2(path) -> None:
    assert isinstance(parse(path), dict)


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_every_module_has_the_standard_files(mod: Module) -> None:
    missing = [name for name in STANDARD_FILES if not (mod.path / name).is_file()]
    assert not missing, f"{mod.name} lacks {missing}"


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_terraform_settings_live_in_versions_tf_only(mod: Module) -> None:
    elsewhere = [path.name for path, _ in mod.blocks("terraform") if path.name != "versions.tf"]
    assert not elsewhere, f"{mod.name}: terraform blocks outside versions.tf: {elsewhere}"


def test_terraform_fmt_has_nothing_to_change() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.fail(
            "terraform is not installed: `terraform fmt -check` is part of the offline checks. "
            "Install it (https://developer.hashicorp.com/terraform/install) or use the CI image.",
            pytrace=False,
        )
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mod", modules(), ids=lambda m: m.name)
def test_readme_documents_every_input_and_output(mod: Module) -> None:
    """Tables regenerate with infrastructure/terraform/scripts/readme_tables.py."""
    readme = (mod.path / "README.md").read_text()
    missing = [
        f"`{name}`" for name in (*mod.variables(), *mod.outputs()) if f"`{name}`" not in readme
    ]
    assert not missing, f"{mod.name}/README.md lacks {missing}: run scripts/readme_tables.py"
