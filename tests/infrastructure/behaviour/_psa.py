"""Pod Security Admission: the level a namespace enforces, and a pod spec's violations of it.

The restricted profile is ``tests/infrastructure/kubernetes/_pss.py`` (reused, not copied);
baseline is the subset of its controls that baseline also has: no privileged containers, no
host namespaces, ports or hostPath volumes, capabilities added only from the baseline list, no
``Unconfined`` seccomp profile. A namespace without a ``pod-security.kubernetes.io/enforce``
label is privileged (the API server's default). Not modelled: exemptions, the ``-version``
labels (``latest`` is assumed), AppArmor, SELinux, sysctls, procMount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..kubernetes._pss import restricted_violations

ENFORCE = "pod-security.kubernetes.io/enforce"
BASELINE_CAPS = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}


def levels(namespaces: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {
        n["metadata"]["name"]: n["metadata"].get("labels", {}).get(ENFORCE, "privileged")
        for n in namespaces
    }


def baseline_violations(pod_spec: Mapping[str, Any]) -> list[str]:
    problems = [
        f"host namespace {k}" for k in ("hostNetwork", "hostPID", "hostIPC") if pod_spec.get(k)
    ]
    problems += [
        f"hostPath volume {v.get('name')}" for v in pod_spec.get("volumes", []) if "hostPath" in v
    ]
    pod_seccomp = pod_spec.get("securityContext", {}).get("seccompProfile", {})
    if pod_seccomp.get("type") == "Unconfined":
        problems.append("pod seccompProfile Unconfined")
    for c in [*pod_spec.get("containers", []), *pod_spec.get("initContainers", [])]:
        sc = c.get("securityContext", {}) or {}
        if sc.get("privileged"):
            problems.append(f"{c.get('name')}: privileged")
        added = set(sc.get("capabilities", {}).get("add", [])) - BASELINE_CAPS
        problems += [f"{c.get('name')}: capability {cap}" for cap in sorted(added)]
        if sc.get("seccompProfile", {}).get("type") == "Unconfined":
            problems.append(f"{c.get('name')}: seccompProfile Unconfined")
        problems += [f"{c.get('name')}: hostPort" for p in c.get("ports", []) if p.get("hostPort")]
    return problems


def violations(level: str, pod_spec: Mapping[str, Any]) -> list[str]:
    """Why ``pod_spec`` would be refused in a namespace enforcing ``level``."""
    if level == "privileged":
        return []
    found = baseline_violations(pod_spec)
    if level == "restricted":
        found += [p for p in restricted_violations(dict(pod_spec)) if p not in found]
    return found
