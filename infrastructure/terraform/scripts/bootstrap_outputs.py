"""Turn a bootstrap root's outputs into the environment roots' backend and variable files.

Usage (from the repository root, as infrastructure/Makefile.mk does)::

    terraform -chdir=infrastructure/terraform/bootstrap/aws output -json \
        | python infrastructure/terraform/scripts/bootstrap_outputs.py aws dev

It writes, next to the environment's cluster/ and platform/ roots:

* ``environments/<cloud>/<env>/backend.hcl``: the partial backend configuration both roots
  pass to ``terraform init -backend-config``;
* ``<root>/bootstrap.auto.tfvars.json``: the inputs each root takes from bootstrap (CI role
  to make cluster admin, state location for remote state, GKE node service account).

Both are git-ignored: they name the user's own accounts and are regenerated on demand.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENVIRONMENTS = Path(__file__).resolve().parent.parent / "environments"


def _value(outputs: Mapping[str, Any], name: str) -> Any:
    """The value of one `terraform output -json` entry; a clear error when it is missing."""
    if name not in outputs:
        raise SystemExit(f"bootstrap output {name!r} is missing: apply the bootstrap root first.")
    return outputs[name]["value"]


def backend_hcl(backend: Mapping[str, Any]) -> str:
    """HCL for `-backend-config=<file>`: one `key = value` line per setting."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in sorted(backend.items())]
    return "\n".join(lines) + "\n"


def root_variables(cloud: str, outputs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Variables of the cluster and platform roots that come from the bootstrap outputs."""
    backend = _value(outputs, "backend_config")
    if cloud == "aws":
        return {
            "cluster": {"cluster_admin_role_arns": [_value(outputs, "ci_apply_role_arn")]},
            "platform": {"state_bucket": backend["bucket"]},
        }
    if cloud == "azure":
        return {
            "cluster": {
                "resource_group_name": _value(outputs, "platform_resource_group_name"),
                "cluster_admin_principal_ids": [_value(outputs, "ci_principal_ids")["apply"]],
                "subscription_id": _value(outputs, "subscription_id"),
            },
            "platform": {
                "state_resource_group_name": backend["resource_group_name"],
                "state_storage_account_name": backend["storage_account_name"],
            },
        }
    if cloud == "gcp":
        return {
            "cluster": {
                "node_service_account": _value(outputs, "gke_node_service_account"),
                "project_id": _value(outputs, "project_id"),
            },
            "platform": {"state_bucket": backend["bucket"]},
        }
    raise SystemExit(f"unknown cloud {cloud!r}: use aws, azure or gcp.")


def write(cloud: str, environment: str, outputs: Mapping[str, Any]) -> list[Path]:
    """Write backend.hcl and the per-root variable files; return the paths written."""
    folder = ENVIRONMENTS / cloud / environment
    if not folder.is_dir():
        raise SystemExit(f"no environment {folder}: create it from environments/{cloud}/dev.")
    written = [folder / "backend.hcl"]
    written[0].write_text(backend_hcl(_value(outputs, "backend_config")))
    for root, variables in root_variables(cloud, outputs).items():
        path = folder / root / "bootstrap.auto.tfvars.json"
        path.write_text(json.dumps(variables, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    outputs = json.load(sys.stdin)
    for path in write(argv[1], argv[2], outputs):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
