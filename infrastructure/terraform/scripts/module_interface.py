"""Record the interface of one registry module from a local checkout, for offline checks.

    .venv/bin/python infrastructure/terraform/scripts/module_interface.py \\
        --checkout /path/to/terraform-aws-eks --subdir modules/karpenter \\
        --source terraform-aws-modules/eks/aws//modules/karpenter --pinned 21.25.0 \\
        --repo terraform-aws-modules/terraform-aws-eks --ref v21.25.0 --commit SHA \\
        --out infrastructure/terraform/interfaces/eks-karpenter.json

Writes the module's variables (type, whether required, default), its outputs and the
providers it needs, transitively through its local submodules, with where it was read
(repository, ref, commit). `terraform init` cannot run here, so tests/infrastructure checks
every module call against these files instead (infrastructure/terraform/interfaces/README.md).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False)


def _load(folder: Path) -> list[dict[str, Any]]:
    parsed = []
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            parsed.append(hcl2.load(handle, serialization_options=OPTIONS))
    return parsed


def _type(value: Any) -> str:
    text = str(value) if value is not None else "any"
    return re.sub(r"\s+", " ", text.removeprefix("${").removesuffix("}")).strip()


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def variables(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for parsed in _load(folder):
        for block in parsed.get("variable", []):
            for name, body in block.items():
                entry: dict[str, Any] = {
                    "type": _type(body.get("type")),
                    "required": "default" not in body,
                }
                if "default" in body:
                    entry["default"] = _jsonable(body["default"])
                found[name] = entry
    return dict(sorted(found.items()))


def outputs(folder: Path) -> list[str]:
    return sorted(
        name for parsed in _load(folder) for block in parsed.get("output", []) for name in block
    )


def providers(
    folder: Path, root: Path | None = None, seen: set[Path] | None = None
) -> dict[str, dict[str, list[str]]]:
    """required_providers of this folder and of every local submodule it calls, each
    constraint labelled with the folder (relative to root) that states it."""
    seen = seen if seen is not None else set()
    folder = folder.resolve()
    root = (root or folder).resolve()
    if folder in seen:
        return {}
    seen.add(folder)
    found: dict[str, dict[str, list[str]]] = {}

    def add(name: str, source: str, constraint: str, where: str) -> None:
        entry = found.setdefault(name, {"source": [], "constraints": []})
        if source not in entry["source"]:
            entry["source"].append(source)
        entry["constraints"].append(f"{constraint} ({where})")

    for parsed in _load(folder):
        for block in parsed.get("terraform", []):
            for required in block.get("required_providers", []):
                for name, spec in required.items():
                    if name == "__is_block__":
                        continue
                    spec = spec if isinstance(spec, dict) else {"version": spec}
                    source = str(spec.get("source", f"hashicorp/{name}"))
                    where = str(folder.relative_to(root)) if folder != root else "."
                    add(name, source, str(spec.get("version", "any")), where)
        for block in parsed.get("module", []):
            for body in block.values():
                source = str(body.get("source", ""))
                if source.startswith("."):
                    for name, entry in providers(folder / source, root, seen).items():
                        for constraint in entry["constraints"]:
                            text, _, where = constraint.rpartition(" (")
                            add(name, entry["source"][0], text, where.rstrip(")"))
    return dict(sorted(found.items()))


def interface(folder: Path, root: Path) -> dict[str, Any]:
    return {
        "variables": variables(folder),
        "outputs": outputs(folder),
        "required_providers": providers(folder, root),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, required=True, help="module repository root")
    parser.add_argument("--subdir", default="", help="submodule folder, e.g. modules/karpenter")
    parser.add_argument("--source", required=True, help="the registry source our call uses")
    parser.add_argument("--pinned", required=True, help="the version our call pins")
    parser.add_argument("--repo", required=True, help="owner/name of the source repository")
    parser.add_argument("--ref", required=True, help="the tag the checkout is at")
    parser.add_argument("--commit", required=True, help="the commit of that tag")
    parser.add_argument("--note", default="", help="why ref differs from the pin, if it does")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    folder = args.checkout / args.subdir
    if not any(folder.glob("*.tf")):
        print(f"no .tf files in {folder}: is --checkout a checkout at {args.ref}?", file=sys.stderr)
        return 1
    record = {
        "source": args.source,
        "pinned_version": args.pinned,
        "provenance": {
            "repository": f"https://github.com/{args.repo}",
            "ref": args.ref,
            "commit": args.commit,
            "path": args.subdir or ".",
            "note": args.note,
        },
        **interface(folder, args.checkout),
    }
    args.out.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    print(f"{args.out}: {len(record['variables'])} variables, {len(record['outputs'])} outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
