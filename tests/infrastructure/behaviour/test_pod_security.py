"""Pod Security: every pod we render or configure meets its namespace's enforced level.

GIVEN the namespaces' ``pod-security.kubernetes.io/enforce`` labels and every pod of a cloud
(``_rendered``: overlay, chart values, ``mlp deploy model`` as KServe runs it, Argo steps)
WHEN checked against the level (``_psa``) THEN none would be refused.
"""

from __future__ import annotations

import pytest

from ..kubernetes._manifests import built
from ._psa import levels, violations
from ._rendered import CLOUDS, Workload, workloads

SAFE_CONTAINER = {
    "name": "c",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
}


def test_privileged_allows_anything_baseline_refuses_host_access() -> None:
    pod = {
        "hostNetwork": True,
        "containers": [{"name": "c", "securityContext": {"privileged": True}}],
    }
    assert violations("privileged", pod) == []
    assert violations("baseline", pod) == ["host namespace hostNetwork", "c: privileged"]


def test_baseline_allows_what_restricted_refuses() -> None:
    pod = {"containers": [{"name": "c"}]}
    assert violations("baseline", pod) == []
    assert "c: seccompProfile must be RuntimeDefault or Localhost" in violations("restricted", pod)
    assert violations("restricted", {"containers": [SAFE_CONTAINER]}) == []


def test_an_init_container_counts() -> None:
    pod = {"containers": [SAFE_CONTAINER], "initContainers": [{"name": "init"}]}
    assert any(v.startswith("init:") for v in violations("restricted", pod))


def _cases() -> list[tuple[str, Workload]]:
    return [(c, w) for c in CLOUDS for w in workloads(c)]


@pytest.mark.parametrize(("cloud", "workload"), _cases(), ids=lambda v: getattr(v, "ident", v))
def test_every_pod_meets_its_namespace_level(cloud: str, workload: Workload) -> None:
    level = levels(d for d in built(f"overlays/{cloud}") if d["kind"] == "Namespace").get(
        workload.namespace, "privileged"
    )
    assert violations(level, workload.pod_spec) == [], f"{workload.ident} ({level})"


def test_restricted_namespaces_hold_pods() -> None:
    """The check above is not vacuous: restricted namespaces run pods we render."""
    found = levels(d for d in built("overlays/aws") if d["kind"] == "Namespace")
    assert {w.namespace for w in workloads("aws") if found.get(w.namespace) == "restricted"} >= {
        "kserve",
        "mlflow",
    }
