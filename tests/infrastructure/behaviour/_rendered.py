"""Every object the platform renders or configures for one cloud, and the pods it would run.

Sources, per cloud:
- the kustomize overlay (``tests/infrastructure/kubernetes/_manifests.built``);
- the local chart helm/charts/platform-config: no helm here, so each template document is
  rendered by substituting its ``.Values`` references (chart defaults < common < cloud values);
  documents that use other actions are left out (``chart_docs`` says which were kept);
- the upstream charts' pods, as far as our values decide them (``_charts.CHART_PODS``);
- ``mlp deploy model`` in-process, and the Deployment and autoscaler KServe makes from it;
- Argo step pods from the compiler (the churn example and a GPU pipeline).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlplatform.errors import MlplatformError
from mlplatform.serving.deploy.render import DeployOptions, DeploySpec, VariantSpec
from mlplatform.serving.deploy.render import render as render_deploy

from .._tree import CLOUDS, HELM, catalog, releases_on
from ..kubernetes._manifests import built
from ._charts import chart_pods

Doc = dict[str, Any]
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
CHART = HELM / "charts" / "platform-config"

__all__ = ["CLOUDS", "Workload", "all_docs", "chart_docs", "deploy_variants", "workloads"]


@dataclass(frozen=True)
class Workload:
    """A pod template and where it comes from."""

    source: str
    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    pod_spec: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        return f"{self.source}: {self.kind}/{self.namespace}/{self.name}"


# ---- the local chart ----------------------------------------------------------------------
def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _merge(base.get(k), v) if k in base else v for k, v in over.items()} | {
            k: v for k, v in base.items() if k not in over
        }
    return copy.deepcopy(over)


def values(release: str, cloud: str, defaults: Mapping[str, Any] | None = None) -> Doc:
    """A release's values: ``defaults`` < helm/common < helm/<cloud>."""
    merged: Doc = dict(defaults or {})
    for folder in ("common", cloud):
        path = HELM / folder / f"{release}.yaml"
        if path.is_file():
            merged = _merge(merged, yaml.safe_load(path.read_text()) or {})
    return merged


def _lookup(vals: Mapping[str, Any], dotted: str) -> Any:
    value: Any = vals
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


_WITH_BLOCK = re.compile(r"\{\{-? with [^}]*\}\}.*?\{\{-? end -?\}\}", re.S)
_INCLUDE = re.compile(r"(?m)^.*\{\{-? include .*\}\}\s*$\n?")
_COMMENT = re.compile(r"\{\{-? /\*.*?\*/ -?\}\}", re.S)
_VALUE = re.compile(r"\{\{-? \$?\.Values\.([\w.]+)( \| quote)? -?\}\}")


@functools.cache
def chart_docs(cloud: str) -> tuple[Doc, ...]:
    """The platform-config chart's documents that need only value substitution."""
    vals = values("platform-config", cloud, yaml.safe_load((CHART / "values.yaml").read_text()))
    namespace = catalog()["platform-config"]["namespace"]
    docs: list[Doc] = []
    for path in sorted((CHART / "templates").glob("*.yaml")):
        text = _WITH_BLOCK.sub("", _INCLUDE.sub("", _COMMENT.sub("", path.read_text())))
        text = text.replace("{{ .Release.Namespace }}", namespace)
        text = _VALUE.sub(lambda m: str(_lookup(vals, m[1])), text)
        for part in text.split("\n---"):
            if "{{" not in part and part.strip():
                doc = yaml.safe_load(part)
                if doc:
                    docs.append(doc)
    # karpenter.enabled comes from Terraform (modules/platform generates it on EKS only)
    if vals.get("karpenter", {}).get("enabled") or cloud == "aws":
        docs += [
            yaml.safe_load(p.read_text())
            for p in sorted((CHART / "files/karpenter").glob("*.yaml"))
        ]
    return tuple(docs)


# ---- mlp deploy model ---------------------------------------------------------------------
# `mlp deploy model churn-model` as the docs show it (the name the chaos examples select), and
# the KEDA variants beside it.
DEPLOY_VARIANTS: dict[str, dict[str, Any]] = {
    "hpa": {"autoscaler": "hpa", "min_replicas": 1},
    "keda": {"autoscaler": "keda", "min_replicas": 1},
    "keda-zero": {"autoscaler": "keda", "min_replicas": 0},
}


def _spec(cloud: str, variant: str) -> DeploySpec:
    options = DeployOptions(
        cloud=cloud,
        image="ghcr.io/mlplatform/mlplatform:0.1.0",
        image_digest="sha256:" + "0f" * 32,
        owner="ml-team",
        hostname="{name}.models.example.com",
        name=None if variant == "hpa" else f"churn-model-{variant}",  # hpa: churn-model
        **DEPLOY_VARIANTS[variant],
    )
    primary = VariantSpec(3, "s3://bucket/model", "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5", "1")
    return DeploySpec("churn-model", primary, options)


@functools.cache
def deploy_variants(cloud: str) -> dict[str, tuple[Doc, ...] | str]:
    """What ``mlp deploy model`` renders per variant, or the refusal's headline."""
    out: dict[str, tuple[Doc, ...] | str] = {}
    for variant in DEPLOY_VARIANTS:
        try:
            out[variant] = tuple(render_deploy(_spec(cloud, variant)))
        except MlplatformError as exc:
            out[variant] = str(exc)
    return out


def deploy_docs(cloud: str) -> list[Doc]:
    return [
        d for docs in deploy_variants(cloud).values() if not isinstance(docs, str) for d in docs
    ]


def kserve_made(docs: list[Doc], cloud: str) -> list[Doc]:
    """What the KServe controller makes from each InferenceService (Standard mode): the
    predictor Deployment ``<name>-predictor`` (the runtime's container with the model's
    resources and security context, and the storage-initializer init container with the
    chart's ``kserve.storage.containerSecurityContext``), and its HPA (autoscalerClass hpa) or
    ScaledObject (keda, triggers from ``autoScaling.metrics``); ``external``/``none``: none."""
    runtimes = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServingRuntime"}
    storage = _lookup(values("kserve", cloud), "kserve.storage.containerSecurityContext") or {}
    made: list[Doc] = []
    for isvc in (d for d in docs if d["kind"] == "InferenceService"):
        made += _predictor_objects(isvc, runtimes, storage)
    return made


def _predictor_objects(isvc: Doc, runtimes: Mapping[str, Doc], storage: Doc) -> list[Doc]:
    meta, predictor = isvc["metadata"], isvc["spec"]["predictor"]
    name, namespace = f"{meta['name']}-predictor", meta["namespace"]
    model = predictor.get("model", {})
    runtime = runtimes.get(model.get("runtime", ""), {"spec": {"containers": [{}]}})
    container = {**runtime["spec"]["containers"][0]}
    for key in ("resources", "securityContext"):
        if key in model:
            container[key] = model[key]
    pod = {
        k: predictor[k]
        for k in (
            "nodeSelector",
            "tolerations",
            "affinity",
            "securityContext",
            "serviceAccountName",
        )
        if k in predictor
    }
    pod["containers"] = [container]
    pod["initContainers"] = [{"name": "storage-initializer", "securityContext": storage}]
    pod["volumes"] = runtime["spec"].get("volumes", [])
    labels = {
        **predictor.get("labels", {}),
        "serving.kserve.io/inferenceservice": meta["name"],
        "component": "predictor",
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": pod}},
    }
    made = [deployment]
    cls = meta.get("annotations", {}).get("serving.kserve.io/autoscalerClass", "hpa")
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    low, high = predictor.get("minReplicas", 1), predictor.get("maxReplicas", 1)
    if cls == "hpa":
        made.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"scaleTargetRef": target, "minReplicas": max(low, 1), "maxReplicas": high},
            }
        )
    elif cls == "keda":
        metrics = predictor.get("autoScaling", {}).get("metrics", [])
        triggers = [
            {
                "type": m["external"]["metric"].get("backend", "prometheus"),
                "metadata": m["external"]["metric"],
            }
            for m in metrics
            if "external" in m
        ]
        made.append(
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "scaleTargetRef": {"name": name},
                    "minReplicaCount": low,
                    "maxReplicaCount": high,
                    "triggers": triggers,
                },
            }
        )
    return made


# ---- Argo step pods -----------------------------------------------------------------------
@functools.cache
def argo_docs(cloud: str) -> tuple[Doc, ...]:
    from pipelines.argo import gpu_flow
    from pipelines.argo._compile import churn, compile_docs

    return tuple(compile_docs(churn(), cloud) + compile_docs(gpu_flow.gpu_flow, cloud))


def _argo_workloads(cloud: str) -> list[Workload]:
    defaults = _lookup(values("argo-workflows", cloud), "controller.workflowDefaults.spec") or {}
    found = []
    for doc in argo_docs(cloud):
        spec = {**defaults, **doc["spec"]}  # the workflow's own fields win over the defaults
        for t in spec["templates"]:
            if "container" not in t:
                continue
            pod = {
                k: t.get(k, spec.get(k))
                for k in ("nodeSelector", "tolerations", "affinity")
                if t.get(k, spec.get(k)) is not None
            }
            pod["securityContext"] = spec.get("securityContext", {})
            pod["volumes"] = spec.get("volumes", [])
            pod["serviceAccountName"] = spec.get("serviceAccountName")
            pod["containers"] = [{"name": "main", **t["container"]}]
            labels = {
                **spec.get("podMetadata", {}).get("labels", {}),
                **t.get("metadata", {}).get("labels", {}),
                "workflows.argoproj.io/workflow": doc["metadata"].get("name", "wf"),
            }
            name = f"{doc['metadata'].get('name', doc['metadata'].get('generateName'))}{t['name']}"
            found.append(Workload("argo compiler", "Pod", "argo", name, labels, pod))
    return found


# ---- all of it ----------------------------------------------------------------------------
def all_docs(cloud: str) -> list[Doc]:
    """Every object: overlay, chart, `mlp deploy model` and what KServe makes of it, Argo."""
    deployed = deploy_docs(cloud)
    return [
        *built(f"overlays/{cloud}"),
        *chart_docs(cloud),
        *deployed,
        *kserve_made(deployed, cloud),
    ]


def _from_docs(docs: list[Doc], source: str) -> list[Workload]:
    found = []
    for d in docs:
        if d["kind"] in POD_KINDS or d["kind"] == "CronJob":
            template = (
                d["spec"]["template"]
                if d["kind"] != "CronJob"
                else d["spec"]["jobTemplate"]["spec"]["template"]
            )
            meta = d["metadata"]
            found.append(
                Workload(
                    source,
                    d["kind"],
                    meta.get("namespace", "default"),
                    meta["name"],
                    template.get("metadata", {}).get("labels", {}),
                    template["spec"],
                )
            )
    return found


@functools.cache
def workloads(cloud: str) -> tuple[Workload, ...]:
    deployed = deploy_docs(cloud)
    found = [
        *_from_docs(list(built(f"overlays/{cloud}")), f"overlays/{cloud}"),
        *_from_docs(list(chart_docs(cloud)), "platform-config chart"),
        *_from_docs(kserve_made(deployed, cloud), "mlp deploy model (as KServe runs it)"),
        *_argo_workloads(cloud),
    ]
    for release in releases_on(cloud):
        found += [
            Workload(f"helm values {release}", kind, namespace, name, labels, pod)
            for kind, namespace, name, labels, pod in chart_pods(release, cloud, values)
        ]
    return tuple(found)
