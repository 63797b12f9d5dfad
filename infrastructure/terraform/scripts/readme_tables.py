"""Regenerate the Inputs/Outputs tables of every module README (between the TF_DOCS markers).

    .venv/bin/python infrastructure/terraform/scripts/readme_tables.py

A lightweight stand-in for terraform-docs, which cannot run here; tests/infrastructure checks
that every README lists every variable and output of its module.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

TERRAFORM = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)


def _blocks(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            for block in hcl2.load(handle, serialization_options=OPTIONS).get(kind, []):
                found.update(block)
    return found


def _type(value: str) -> str:
    text = re.sub(r"\s+", " ", str(value).removeprefix("${").removesuffix("}"))
    return text if len(text) <= 60 else text[:57] + "..."


def tables(folder: Path) -> str:
    variables, outputs = _blocks(folder, "variable"), _blocks(folder, "output")
    lines = ["## Inputs", "", "| Name | Description | Type | Required |", "|---|---|---|:---:|"]
    for name, body in sorted(variables.items()):
        required = "no" if "default" in body else "yes"
        lines.append(f"| `{name}` | {body['description']} | `{_type(body['type'])}` | {required} |")
    if not variables:
        lines.append("| — | no inputs | | |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in sorted(outputs.items()):
        lines.append(f"| `{name}` | {body['description']} |")
    return "\n".join(lines)


def update(readme: Path) -> bool:
    text = readme.read_text()
    if BEGIN not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{tables(readme.parent)}\n{END}{tail}"
    changed = new != readme.read_text()
    readme.write_text(new)
    return changed


def main() -> int:
    for folder in sorted(
        {path.parent for path in TERRAFORM.rglob("*.tf") if ".terraform" not in path.parts}
    ):
        readme = folder / "README.md"
        if readme.is_file() and update(readme):
            print(f"updated {readme.relative_to(TERRAFORM)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
