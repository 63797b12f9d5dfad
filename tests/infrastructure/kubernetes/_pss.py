"""The restricted Pod Security Standard, as checks on a pod spec (the subset pods here use).

https://kubernetes.io/docs/concepts/security/pod-security-standards/ ("Restricted"): every
control below is one paragraph there. Not covered: AppArmor and SELinux options, sysctls,
Windows host process, procMount (no pod here sets them; a set one fails ``_no_unknown``).
"""

from __future__ import annotations

from typing import Any

_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
            "persistentVolumeClaim", "projected", "secret"}  # fmt: skip
_KNOWN_POD = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile",
              "supplementalGroups"}  # fmt: skip
_KNOWN_CONTAINER = {
    "allowPrivilegeEscalation", "capabilities", "readOnlyRootFilesystem", "runAsNonRoot",
    "runAsUser", "runAsGroup", "seccompProfile", "privileged",
}  # fmt: skip


def restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """Why ``pod_spec`` fails the restricted profile (empty: it passes)."""
    problems = [f"host namespace {k}" for k in ("hostNetwork", "hostPID", "hostIPC")
                if pod_spec.get(k)]  # fmt: skip
    problems += [f"volume {v.get('name')} is not an allowed type" for v in
                 pod_spec.get("volumes", []) if not set(v) - {"name"} <= _VOLUMES]  # fmt: skip
    pod_sc = pod_spec.get("securityContext", {})
    problems += [f"pod securityContext.{k} is not checked here" for k in set(pod_sc) - _KNOWN_POD]
    containers = pod_spec.get("containers", []) + pod_spec.get("initContainers", [])
    for c in containers:
        problems += [f"{c['name']}: {p}" for p in _container(c.get("securityContext", {}), pod_sc)]
        problems += [f"{c['name']}: hostPort" for p in c.get("ports", []) if p.get("hostPort")]
    return problems


def _container(sc: dict[str, Any], pod_sc: dict[str, Any]) -> list[str]:
    problems = [f"securityContext.{k} is not checked here" for k in set(sc) - _KNOWN_CONTAINER]
    if sc.get("privileged"):
        problems.append("privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        problems.append("capabilities must drop ALL")
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        problems.append("only NET_BIND_SERVICE may be added")
    if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
        problems.append("runAsNonRoot must be true")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        problems.append("runAsUser must not be 0")
    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        problems.append("seccompProfile must be RuntimeDefault or Localhost")
    return problems
