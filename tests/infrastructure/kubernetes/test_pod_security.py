"""The Helm values of every chart installed into a namespace with a Pod Security level meet it.

GIVEN the table below (each pod a chart runs there, and the values paths of its pod-level and
container-level securityContext) and the values Helm gets on each cloud (helm/common, then the
cloud's delta, deep-merged) WHEN the pod's security settings are checked against the strictest
level its namespace enforces, warns or audits at (base/namespaces) THEN nothing is reported.

Our values must carry every field themselves: chart defaults are not read here (no chart is
downloaded), so a field left to a default is not relied upon. Defaults were read at the pinned
versions to find the pods (docs/kubernetes.md, "Pod Security").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pytest
import yaml

from mlplatform.serving.deploy.render import pod_security

from .._tree import CLOUDS, HELM, catalog, releases_on
from ._manifests import built, find
from ._pss import restricted_violations

LEVELS = ("privileged", "baseline", "restricted")


class Pod(NamedTuple):
    release: str
    pod: str
    pod_context: str | dict[str, Any]  # a values path, or the settings from where they come
    containers: tuple[str, ...]  # values paths of the containers' securityContext


# Every pod the charts run in a namespace whose level is above privileged.
PODS = (
    Pod("mlflow", "mlflow (server, dbchecker, mlflow-db-migration)", "podSecurityContext",
        ("securityContext",)),
    Pod("feast-feature-server", "feast-feature-server", "podSecurityContext",
        ("securityContext",)),
    Pod("kserve", "kserve-controller-manager", "kserve.controller.securityContext",
        ("kserve.controller.containerSecurityContext",
         "kserve.controller.rbacProxy.securityContext")),
    # an init container of every predictor pod; the pod's settings come from mlp deploy model
    Pod("kserve", "storage-initializer", pod_security(),
        ("kserve.storage.containerSecurityContext",)),
    Pod("kserve-llmisvc", "llmisvc-controller-manager", "kserve.llmisvc.controller.securityContext",
        ("kserve.llmisvc.controller.containerSecurityContext",)),
    # the vLLM container of every InferenceService on the kserve-vllmserver runtime; the pod's
    # settings come from mlp deploy llm (as for mlp deploy model)
    Pod("kserve-runtime-configs", "kserve-vllmserver (kserve-container)", pod_security(),
        ("kserve.servingruntime.vllmserver.securityContext",)),
    Pod("argo-workflows", "workflow-controller", "controller.podSecurityContext",
        ("controller.securityContext",)),
    Pod("argo-workflows", "argo-server", "server.podSecurityContext", ("server.securityContext",)),
    # the executor's init and wait containers in every pipeline pod (pod settings: compiler,
    # checked in test_policies.py)
    Pod("argo-workflows", "executor (init, wait)", {}, ("executor.securityContext",)),
    # keda 2.20.2 (EKS and GKE): each component's key replaces the top-level one
    *(Pod("keda", name, f"podSecurityContext.{key}", (f"securityContext.{key}",))
      for name, key in (("keda-operator", "operator"),
                        ("keda-operator-metrics-apiserver", "metricServer"),
                        ("keda-admission-webhooks", "webhooks"))),
    # keda-add-ons-http 0.15.0: every pod takes the top-level contexts (none per component)
    *(Pod("keda-add-ons-http", name, "podSecurityContext", ("securityContext",))
      for name in ("keda-add-ons-http-controller-manager", "keda-add-ons-http-external-scaler",
                   "keda-add-ons-http-interceptor")),
)  # fmt: skip
NO_PODS = {"kserve-crd", "kserve-llmisvc-crd", "inference-extension-crds"}  # CRDs only


def merged(base: Mapping[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in delta.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def values(release: str, cloud: str) -> dict[str, Any]:
    common = yaml.safe_load((HELM / "common" / f"{release}.yaml").read_text()) or {}
    delta = HELM / cloud / f"{release}.yaml"
    return merged(common, yaml.safe_load(delta.read_text()) if delta.is_file() else {})


def at(tree: Mapping[str, Any], path: str) -> dict[str, Any]:
    for key in path.split("."):
        tree = tree.get(key) or {}
    return dict(tree)


def level(namespace: str) -> str:
    """The strictest of the namespace's enforce, warn and audit levels (unlabelled:
    privileged, the API server's default)."""
    spaces = {n["metadata"]["name"]: n for n in find(built("base"), "Namespace")}
    labels = spaces.get(namespace, {}).get("metadata", {}).get("labels", {})
    modes = [labels.get(f"pod-security.kubernetes.io/{m}", "privileged")
             for m in ("enforce", "warn", "audit")]  # fmt: skip
    return str(max(modes, key=LEVELS.index))


def baseline_violations(pod_spec: dict[str, Any]) -> list[str]:
    """The baseline profile's controls that values can break (privileged, host namespaces)."""
    problems = [k for k in ("hostNetwork", "hostPID", "hostIPC") if pod_spec.get(k)]
    containers = pod_spec.get("containers", [])
    return problems + [c["name"] for c in containers if c["securityContext"].get("privileged")]


def _pod_spec(pod: Pod, vals: dict[str, Any]) -> dict[str, Any]:
    context = at(vals, pod.pod_context) if isinstance(pod.pod_context, str) else pod.pod_context
    return {
        "securityContext": context,
        "containers": [{"name": p, "securityContext": at(vals, p)} for p in pod.containers],
    }


def test_the_restricted_checker_catches_a_missing_seccomp_profile() -> None:
    # the old mlflow values: no seccomp profile anywhere, runAsNonRoot only in the container
    old = {"securityContext": {"fsGroup": 1001}, "containers": [{"name": "mlflow",
           "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                               "capabilities": {"drop": ["ALL"]}}}]}  # fmt: skip
    assert restricted_violations(old) == [
        "mlflow: seccompProfile must be RuntimeDefault or Localhost"
    ]


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("pod", PODS, ids=lambda p: p.pod.split(" ")[0])
def test_chart_pods_meet_their_namespace_level(pod: Pod, cloud: str) -> None:
    namespace = catalog()[pod.release]["namespace"]
    spec = _pod_spec(pod, values(pod.release, cloud))
    wanted = level(namespace)
    assert wanted != "privileged", f"{pod.release} runs in {namespace}: no row needed"
    problems = restricted_violations(spec) if wanted == "restricted" else baseline_violations(spec)
    assert problems == [], f"{pod.pod} in {namespace} ({wanted}) on {cloud}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_release_in_a_policed_namespace_has_rows(cloud: str) -> None:
    # a new chart in mlflow, kserve, mlops or argo needs its pods in the table
    policed = {name for name, chart in releases_on(cloud).items()
               if level(chart["namespace"]) != "privileged"}  # fmt: skip
    assert policed - NO_PODS == {p.release for p in PODS if p.release in releases_on(cloud)}
