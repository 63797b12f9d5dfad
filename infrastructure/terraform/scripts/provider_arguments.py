"""List the arguments and blocks our .tf files use per provider resource type, and check
them against the provider's documentation at a version.

    # what the tree uses, per resource type (JSON on stdout)
    .venv/bin/python infrastructure/terraform/scripts/provider_arguments.py used

    # check one provider's entries of interfaces/providers.json against a docs checkout
    .venv/bin/python infrastructure/terraform/scripts/provider_arguments.py check \\
        --provider google --docs /path/to/terraform-provider-google

`check` reads each type's documentation page (the `doc` path in providers.json), collects the
argument names it documents per block (bullets of the argument sections, block sections
such as "The `x` block supports" or "Nested Schema for `x`"; the attributes section is left
out) and reports every used argument or block the page does not document. It is a name
check per block, not a schema: types, conflicts and required-ness are not modelled.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

TERRAFORM = Path(__file__).resolve().parent.parent
PROVIDERS_JSON = TERRAFORM / "interfaces" / "providers.json"
OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)
META = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
KINDS = ("resource", "data", "ephemeral")


def _paths(body: dict[str, Any], prefix: str = "") -> set[str]:
    """Argument and block paths of one block body: `a`, `a.b` for block a holding b."""
    found: set[str] = set()
    for key, value in body.items():
        if key.startswith("__") or (not prefix and key in META):
            continue
        if key == "dynamic":
            for dynamic in value:
                for name, spec in dynamic.items():
                    found.add(prefix + name)
                    for content in spec.get("content", []):
                        found |= _paths(content, f"{prefix}{name}.")
            continue
        found.add(prefix + key)
        blocks = value if isinstance(value, list) else []
        for block in blocks:
            if isinstance(block, dict) and block.get("__is_block__"):
                found |= _paths(block, f"{prefix}{key}.")
    return found


def used(folder: Path = TERRAFORM) -> dict[str, dict[str, Any]]:
    """kind/type -> sorted argument paths, over every .tf file under folder."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(folder.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=OPTIONS)
        for kind in KINDS:
            for block in parsed.get(kind, []):
                for rtype, named in block.items():
                    for body in named.values():
                        found[f"{kind} {rtype}"] |= _paths(body)
    return {key: {"arguments": sorted(paths)} for key, paths in sorted(found.items())}


BULLET = re.compile(r"^\s*[*-]\s+`([a-z0-9_/]+)`")  # `member/members` documents both
BLOCK_HEADER = re.compile(
    r"(?:Nested Schema for `(?:[a-z0-9_]+\.)*([a-z0-9_]+)`|`([a-z0-9_]+)` block (?:supports|"
    r"contains|accepts|has))"
)
ATTRIBUTES = re.compile(r"^##\s+Attributes?\s+Reference", re.IGNORECASE)


def documented(page: str) -> dict[str, set[str]]:
    """Block name ("" for the top level) -> argument names the page documents for it."""
    sections: dict[str, set[str]] = defaultdict(set)
    current, skipping = "", False
    for line in page.splitlines():
        if line.startswith("## "):
            skipping = bool(ATTRIBUTES.match(line))
            current = ""
            continue
        if skipping:
            continue
        header = BLOCK_HEADER.search(line)
        if header and not BULLET.match(line):
            current = header[1] or header[2]
            continue
        bullet = BULLET.match(line)
        if bullet:
            sections[current].update(bullet[1].split("/"))
    return sections


def check(entries: dict[str, Any], docs: Path) -> list[str]:
    problems = []
    for key, entry in entries.items():
        page_path = docs / entry["doc"]
        if not page_path.is_file():
            problems.append(f"{key}: no documentation page {entry['doc']}")
            continue
        sections = documented(page_path.read_text())
        everything = set().union(*sections.values()) if sections else set()
        for argument in entry["arguments"]:
            *parents, leaf = argument.split(".")
            allowed = sections.get(parents[-1], everything) if parents else sections[""]
            if leaf not in allowed:
                problems.append(f"{key}: {argument} is not documented in {entry['doc']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("used", help="print the arguments the tree uses per resource type")
    checker = sub.add_parser("check", help="check providers.json against a docs checkout")
    checker.add_argument("--provider", required=True)
    checker.add_argument("--docs", type=Path, required=True, help="provider repository root")
    args = parser.parse_args(argv)
    if args.command == "used":
        print(json.dumps(used(), indent=2))
        return 0
    record = json.loads(PROVIDERS_JSON.read_text())
    entries = {k: v for k, v in record["types"].items() if v["provider"] == args.provider}
    problems = check(entries, args.docs)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{args.provider}: {len(entries)} types checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
