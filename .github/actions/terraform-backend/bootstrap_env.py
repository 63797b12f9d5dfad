"""Print `terraform output -json` of a bootstrap root, rebuilt from BOOTSTRAP_<name> variables.

GitHub repository variables hold one bootstrap output each (docs: "CI in your repository"):
strings as they are, maps as JSON. infrastructure/terraform/scripts/bootstrap_outputs.py reads
the result, as it reads the real `terraform output -json` on a laptop.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

PREFIX = "BOOTSTRAP_"


def parse(value: str) -> Any:
    """A JSON object or list stays structured; any other text is a string output."""
    text = value.strip()
    if text.startswith(("{", "[")):
        return json.loads(text)
    return text


def outputs(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The `terraform output -json` shape of every non-empty BOOTSTRAP_<name> variable."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if key.startswith(PREFIX) and value.strip():
            found[key[len(PREFIX) :].lower()] = {"value": parse(value)}
    return found


def main() -> int:
    result = outputs(os.environ)
    if not result:
        print(f"no {PREFIX}* variables set: set the repository variables", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
