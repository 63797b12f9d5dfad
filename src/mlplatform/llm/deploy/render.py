"""Render an LLM deployment: vLLM on KServe (one workload per version), the PodMonitor that
scrapes its metrics, its rule on the OpenAI endpoint (``route``) and its scalers (``scaling``).

Pure: an ``LlmDeploySpec`` in, plain dicts out, in apply order, byte-identical YAML for equal
input, no I/O. ``check`` (with the capacity check) runs first for every version: a model that
does not fit its GPU is refused before anything is rendered. Two kinds (docs/llm.md):

- ``llminferenceservice`` (default): KServe's generative path, ``LLMInferenceService``
  (serving.kserve.io/v1alpha2). KServe's config template (``kserve-config-llm-template``)
  supplies the vLLM image, ``vllm serve /mnt/models --port 8000`` and the served name
  (``spec.model.name``); our ``main`` container adds the vLLM flags (its ``args`` become the
  template's ``$@``), the GPU and the placement. ``replicas`` is static: at v0.20 an
  LLMInferenceService runs at least one replica (``spec.scaling.minReplicas`` >= 1, and
  scaling needs the Workload Variant Autoscaler), so it never scales to zero. No ``router``:
  KServe makes the workload's Service only; our HTTPRoute routes to it (``route``).
- ``inferenceservice``: the design's simpler form, an InferenceService on KServe's
  ``kserve-vllmserver`` ClusterServingRuntime (``modelFormat: vLLM``, port 8080). Our
  ``--served-model-name`` comes after the runtime's (``{{.Name}}``) and wins.

Every object carries ``mlplatform.io/inference-service: <deployment>`` and
``app.kubernetes.io/managed-by: mlp``, canaries' workloads included: the selector ``mlp
undeploy llm`` deletes by (``undeploy``).

Pod labels on the LLMInferenceService leave out ``app.kubernetes.io/part-of``: KServe selects
its pods by ``app.kubernetes.io/part-of: llminferenceservice`` and copies ``spec.labels`` over
its own.
"""

from __future__ import annotations

from typing import Any

from mlplatform.llm.deploy import placement, route, scaling
from mlplatform.llm.deploy.spec import LlmDeploySpec, check, dtype, model_uri
from mlplatform.llm.deploy.undeploy import LLM_LABEL
from mlplatform.llm.gpus import GpuPool
from mlplatform.serving.deploy import governed
from mlplatform.serving.deploy.clouds import cloud
from mlplatform.serving.deploy.render import (
    ISVC_KEY,
    MANAGED_BY,
    SERVICE_LABEL,
    pod_security,
)
from mlplatform.serving.deploy.render import _label as label_value  # the one label cleaner

__all__ = ["inference_service", "llm_inference_service", "pod_monitor", "render", "vllm_args"]

Doc = dict[str, Any]

LLMISVC_PORT = 8000  # vLLM's port in KServe's LLMInferenceService template
ISVC_PORT = 8080  # vLLM's port in the kserve-vllmserver runtime
LLMISVC_CONTAINER = "main"  # the container KServe's template merges ours into
ISVC_CONTAINER = "kserve-container"
RUNTIME = "kserve-vllmserver"
MODEL_FORMAT = "vLLM"
PART_OF = "app.kubernetes.io/part-of"
LLMISVC_PART_OF = "llminferenceservice"  # the value KServe puts on the pods it runs
LLMISVC_COMPONENT = ("app.kubernetes.io/component", "llminferenceservice-workload")


def render(spec: LlmDeploySpec) -> list[Doc]:
    """The documents to apply, in apply order: each version's service (the primary first),
    the PodMonitor, the HTTPRoute, then the scalers (``scaling``: an HTTPScaledObject when the
    model may sleep, a ScaledObject per version when KEDA sizes it).

    Raises:
        DeployError: the spec cannot be deployed as asked (see ``spec.check``).
        CapacityError: a version does not fit the GPU of its pool.
    """
    variants = spec.variants()
    # every version is checked before any is rendered; the canaries with the primary
    pools = [check(spec), *(check(v) for v in variants[1:])]
    service = (
        inference_service if spec.options.kind == "inferenceservice" else llm_inference_service
    )
    docs = [service(v, pool) for v, pool in zip(variants, pools, strict=True)]
    docs += [pod_monitor(spec), route.http_route(spec, _owned_labels(spec))]
    if scaling.scales_to_zero(spec.options):
        docs.append(scaling.http_scaled_object(spec, _owned_labels(spec)))
    if scaling.autoscaled(spec.options) or scaling.scales_to_zero(spec.options):
        docs += [scaling.scaled_object(v, _owned_labels(spec)) for v in variants]
    return docs


def vllm_args(spec: LlmDeploySpec, pool: GpuPool, *, served_name: bool = False) -> list[str]:
    """vLLM's flags: context length, share of GPU memory, dtype (and, for the runtime, the
    served name and tensor parallelism, which the LLMInferenceService sets itself)."""
    o = spec.options
    args = [f"--served-model-name={spec.model.served_name}"] if served_name else []
    args += [
        f"--max-model-len={spec.max_model_len}",
        f"--gpu-memory-utilization={o.gpu_memory_utilization}",
        f"--dtype={dtype(spec, pool)}",
    ]
    if served_name and o.gpus > 1:
        args.append(f"--tensor-parallel-size={o.gpus}")
    return args


def llm_inference_service(spec: LlmDeploySpec, pool: GpuPool) -> Doc:
    """KServe's ``LLMInferenceService`` for the model, on one pool's GPUs."""
    o = spec.options
    container: Doc = {"name": LLMISVC_CONTAINER}
    if o.image:
        container["image"] = o.image
    container["args"] = vllm_args(spec, pool)
    container["resources"] = _resources(spec)
    container["securityContext"] = _container_security()
    body: Doc = {
        "model": {
            "uri": model_uri(spec.model.uri, o.cloud, o.kind),
            "name": spec.model.served_name,
        },
        "replicas": o.min_replicas,
    }
    if o.gpus > 1:
        body["parallelism"] = {"tensor": o.gpus}
    body["labels"] = {MANAGED_BY[0]: MANAGED_BY[1], **_pod_labels(spec)}
    if spec.run_id:
        body["annotations"] = _lineage(spec)
    body["template"] = {
        "serviceAccountName": o.service_account,
        "securityContext": pod_security(),
        "nodeSelector": placement.node_selector(pool),
        "tolerations": placement.tolerations(o.cloud),
        "containers": [container],
    }
    return {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": _metadata(spec, pool),
        "spec": body,
    }


def inference_service(spec: LlmDeploySpec, pool: GpuPool) -> Doc:
    """An InferenceService on KServe's vLLM runtime, on one pool's GPUs."""
    o = spec.options
    model: Doc = {
        "modelFormat": {"name": MODEL_FORMAT},
        "runtime": RUNTIME,
        "storageUri": model_uri(spec.model.uri, o.cloud, o.kind),
        "args": vllm_args(spec, pool, served_name=True),
        "env": [{"name": "HOME", "value": "/tmp"}],  # vLLM and torch write caches there
    }
    if o.image:
        model["image"] = o.image
    model["resources"] = _resources(spec)
    model["securityContext"] = _container_security()
    predictor: Doc = {
        "minReplicas": o.min_replicas,
        "maxReplicas": o.most_replicas,
        "serviceAccountName": o.service_account,
        "securityContext": pod_security(),
        "nodeSelector": placement.node_selector(pool),
        "tolerations": placement.tolerations(o.cloud),
        "labels": {PART_OF: "mlplatform", MANAGED_BY[0]: MANAGED_BY[1], **_pod_labels(spec)},
        "annotations": _lineage(spec),
        "model": model,
    }
    metadata = _metadata(spec, pool)
    metadata["labels"]["networking.kserve.io/visibility"] = "cluster-local"  # routes are ours
    metadata["annotations"] = {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": _autoscaler_class(spec),
        **metadata["annotations"],
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def pod_monitor(spec: LlmDeploySpec) -> Doc:
    """Prometheus scrapes vLLM's ``/metrics`` (``vllm:*``) on the serving port of each pod of
    every version (``model_version`` tells them apart)."""
    o = spec.options
    if o.kind == "inferenceservice":
        port = ISVC_PORT
        selector: Doc = {
            "matchExpressions": [{"key": ISVC_KEY, "operator": "Exists"}],
            "matchLabels": {SERVICE_LABEL: spec.name},
        }
    else:
        port = LLMISVC_PORT
        selector = {
            "matchLabels": {
                PART_OF: LLMISVC_PART_OF,
                LLMISVC_COMPONENT[0]: LLMISVC_COMPONENT[1],
                SERVICE_LABEL: spec.name,
            }
        }
    endpoint = {
        "portNumber": port,
        "path": "/metrics",
        "scheme": "http",  # KServe's LLMInferenceService TLS is off unless configured
        "interval": "15s",
        "relabelings": [
            _copy_label(SERVICE_LABEL, "inference_service"),
            _copy_label("mlplatform.io/model-version", "model_version"),
        ],
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": spec.name, "namespace": o.namespace, "labels": _owned_labels(spec)},
        "spec": {
            "namespaceSelector": {"matchNames": [o.namespace]},
            "selector": selector,
            "podMetricsEndpoints": [endpoint],
        },
    }


# ---- parts --------------------------------------------------------------------------------
def _autoscaler_class(spec: LlmDeploySpec) -> str:
    """``external`` when KEDA sizes the predictor (KServe then makes no HPA or ScaledObject
    beside ours); ``none`` for fixed replicas (CPU says nothing about an LLM's load)."""
    o = spec.options
    return (
        scaling.AUTOSCALER_CLASS if scaling.autoscaled(o) or scaling.scales_to_zero(o) else "none"
    )


def _owned_labels(spec: LlmDeploySpec) -> dict[str, str]:
    """The labels of the deployment's shared objects (PodMonitor, route, scalers)."""
    return {**_common_labels(), **_model_label(spec), SERVICE_LABEL: spec.name}


def _metadata(spec: LlmDeploySpec, pool: GpuPool) -> Doc:
    labels = {**_common_labels(), **_governance_labels(spec), SERVICE_LABEL: spec.name}
    annotations = {
        "mlplatform.io/registered-model": spec.model_name,
        "mlplatform.io/mlflow-model-version": str(spec.version),
        **({"mlplatform.io/model-alias": spec.alias} if spec.alias else {}),
        "mlplatform.io/model-uri": spec.model.uri,
        "mlplatform.io/gpu-pool": pool.name,
        "mlplatform.io/gpu-type": pool.gpu.name,
        **_lineage(spec),
        **governed.approval_annotations(spec.facts, spec.options.stage),
    }
    if spec.variant:
        annotations["mlplatform.io/canary-of"] = spec.name
    return {
        "name": spec.workload_name,
        "namespace": spec.options.namespace,
        "labels": labels,
        "annotations": annotations,
    }


def _governance_labels(spec: LlmDeploySpec) -> dict[str, str]:
    """What the model governance policies require of a served model, as for predictive ones."""
    labels = {
        **_model_label(spec),
        "mlplatform.io/model-version": governed.semver(spec.facts, spec.version),
        "mlplatform.io/owner": label_value(governed.owner(spec.facts, spec.options.owner)),
        "mlplatform.io/model-stage": spec.options.stage,
    }
    if spec.run_id:
        labels["mlplatform.io/mlflow-run-id"] = spec.run_id
    return labels


def _pod_labels(spec: LlmDeploySpec) -> dict[str, str]:
    return {
        **_governance_labels(spec),
        SERVICE_LABEL: spec.name,
        **cloud(spec.options.cloud).pod_labels,
    }


def _lineage(spec: LlmDeploySpec) -> dict[str, str]:
    if not spec.run_id:
        return {}
    return {
        "mlplatform.io/mlflow-experiment-id": spec.experiment_id,
        "mlplatform.io/mlflow-run-id": spec.run_id,
    }


def _model_label(spec: LlmDeploySpec) -> dict[str, str]:
    return {"mlplatform.io/model-name": label_value(spec.model_name)}


def _common_labels() -> dict[str, str]:
    return {PART_OF: "mlplatform", MANAGED_BY[0]: MANAGED_BY[1], LLM_LABEL[0]: LLM_LABEL[1]}


def _resources(spec: LlmDeploySpec) -> Doc:
    r = spec.options.resources
    base = {
        "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
        "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
    }
    return placement.gpu_resources(spec.options.gpus, base)


def _container_security() -> Doc:
    """The restricted Pod Security Standard, with a writable root filesystem: the NVIDIA
    container hook and vLLM's compile caches write to it (KServe's own template does so)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _copy_label(pod_label: str, target: str) -> Doc:
    source = "__meta_kubernetes_pod_label_" + "".join(
        c if c.isalnum() or c == "_" else "_" for c in pod_label
    )
    return {"sourceLabels": [source], "targetLabel": target}
