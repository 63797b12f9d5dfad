"""Read-only views of infrastructure/: Terraform modules parsed with python-hcl2 (quotes
stripped), the Helm chart catalog, and small queries the tests share."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infrastructure"
TERRAFORM = INFRA / "terraform"
HELM = INFRA / "helm"
CLOUDS = ("aws", "azure", "gcp")
CLUSTER_MODULES = {"aws": "eks", "azure": "aks", "gcp": "gke"}

_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)
_COMMENT = re.compile(r"(?m)(^|\s)(#|//).*$")


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """One .tf file as a dict (hcl2.load with quote stripping)."""
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


def tf_files(folder: Path = TERRAFORM) -> list[Path]:
    return sorted(p for p in folder.rglob("*.tf") if ".terraform" not in p.parts)


@dataclass(frozen=True)
class Module:
    """A Terraform module: a folder of .tf files."""

    path: Path

    @property
    def name(self) -> str:
        return str(self.path.relative_to(TERRAFORM))

    @property
    def files(self) -> list[Path]:
        return sorted(self.path.glob("*.tf"))

    def text(self, strip_comments: bool = True) -> str:
        raw = "\n".join(path.read_text() for path in self.files)
        return _COMMENT.sub(r"\1", raw) if strip_comments else raw

    def blocks(self, kind: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Top-level blocks of one kind (variable, output, module, resource, ...) per file."""
        for path in self.files:
            for block in parse(path).get(kind, []):
                yield path, block

    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for _, block in self.blocks("variable") for name, body in block.items()}

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for _, block in self.blocks("output") for name, body in block.items()}

    def module_calls(self) -> dict[str, dict[str, Any]]:
        return {name: body for _, block in self.blocks("module") for name, body in block.items()}

    def resources(self, kind: str = "resource") -> dict[tuple[str, str], dict[str, Any]]:
        found = {}
        for _, block in self.blocks(kind):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[(rtype, name)] = body
        return found

    def terraform_blocks(self) -> list[dict[str, Any]]:
        return [block for _, block in self.blocks("terraform")]


def modules() -> list[Module]:
    """Every folder holding .tf files."""
    return [Module(folder) for folder in sorted({path.parent for path in tf_files()})]


def module(relative: str) -> Module:
    return Module(TERRAFORM / relative)


def root_modules() -> list[Module]:
    return [m for m in modules() if m.name.startswith(("bootstrap/", "environments/"))]


def child_modules() -> list[Module]:
    return [m for m in modules() if m.name.startswith("modules/")]


def is_registry_source(source: str) -> bool:
    return not source.startswith((".", "/")) and not source.startswith(("git::", "github.com"))


@functools.cache
def catalog() -> dict[str, dict[str, Any]]:
    """helm/versions.yaml: release name -> repository, chart, version, namespace, clouds, wave."""
    return yaml.safe_load((HELM / "versions.yaml").read_text())["charts"]


def releases_on(cloud: str, include_optional: bool = True) -> dict[str, dict[str, Any]]:
    return {
        name: chart
        for name, chart in catalog().items()
        if cloud in chart["clouds"] and (include_optional or not chart.get("optional", False))
    }


def first(value: Any) -> Any:
    """Blocks parse to lists of one dict; attributes parse to values. Give the value."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]
    return value
