"""How an LLM's replicas change: fixed, KEDA on vLLM's own signals, or from zero.

- ``llminferenceservice``: ``spec.replicas``, fixed, at least one. KServe v0.20 autoscales an
  LLMInferenceService only through ``spec.scaling.wva`` (the Workload Variant Autoscaler makes
  a VariantAutoscaling and an HPA or ScaledObject on ``wva_desired_replicas``), which the
  platform does not install; its schema also puts ``scaling.minReplicas`` at 1 or more. So no
  scaler is rendered for it (``spec.check`` refuses a range).
- ``inferenceservice`` with a range (``max_replicas`` above ``min_replicas``): one KEDA
  ``ScaledObject`` on the predictor Deployment (``<name>-predictor``, KServe's Standard mode)
  with two Prometheus triggers on vLLM's own metrics: ``vllm:num_requests_waiting`` (summed,
  ``target_waiting`` per replica) and ``vllm:kv_cache_usage_perc`` (mean, ``target_kv_cache``).
  The InferenceService says ``autoscalerClass: external`` so KServe makes no HPA or
  ScaledObject beside ours: one scaler per Deployment.
- ``inferenceservice`` with ``min_replicas`` 0: the same ScaledObject with ``minReplicaCount:
  0`` and a third trigger, the KEDA HTTP add-on's ``external-push`` scaler for this model's
  ``HTTPScaledObject``. The Gateway routes the served name to the add-on's interceptor, which
  counts and holds requests while the Deployment has no ready pod; its queue is the signal that
  exists at zero (the vLLM series do not: no pod, no series). The HTTPScaledObject carries
  ``httpscaledobject.keda.sh/skip-scaledobject-creation: "true"``, so the add-on's operator
  makes no ScaledObject of its own (http-add-on v0.15.0, operator/controllers/http/app.go; its
  e2e test ``scaling_phase_deployment_with_skip_so_creation_httpso`` is this exact shape). The
  HTTPScaledObject then only routes: by the endpoint's host, ``/v1``, and the
  ``X-Gateway-Model-Name`` header the Gateway's body-based router set.

KEDA activates a ScaledObject (0 -> 1) when any trigger is active and then scales on the
largest replica count any trigger asks for, so the queue wakes the model and vLLM's signals
size it while it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplatform.llm.deploy import route

if TYPE_CHECKING:
    from mlplatform.llm.deploy.spec import LlmDeployOptions, LlmDeploySpec

__all__ = [
    "AUTOSCALER_CLASS",
    "EXTERNAL_SCALER",
    "SKIP_SCALED_OBJECT",
    "autoscaled",
    "http_scaled_object",
    "predictor",
    "scaled_object",
    "scales_to_zero",
]

Doc = dict[str, Any]

AUTOSCALER_CLASS = "external"  # KServe v0.20: no HPA, no ScaledObject; replicas left to KEDA
SKIP_SCALED_OBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"
# the add-on chart's external scaler Service and gRPC port (chart keda-add-ons-http 0.15.0)
EXTERNAL_SCALER = "keda-add-ons-http-external-scaler"
EXTERNAL_SCALER_PORT = 9090
SERVICE_PORT = 80  # the port of the Service KServe makes for a predictor
POLLING_S = 15


def scales_to_zero(o: LlmDeployOptions) -> bool:
    """Whether the model may have no replica (then the HTTP add-on wakes it)."""
    return o.kind == "inferenceservice" and o.min_replicas == 0


def autoscaled(o: LlmDeployOptions) -> bool:
    """Whether KEDA sizes the model (a range of replicas; only the InferenceService form)."""
    return o.kind == "inferenceservice" and o.most_replicas != o.min_replicas


def predictor(spec: LlmDeploySpec) -> str:
    """The Deployment and Service KServe makes for an InferenceService in Standard mode."""
    return f"{spec.workload_name}-predictor"


def scaled_object(spec: LlmDeploySpec, labels: dict[str, str]) -> Doc:
    """KEDA's one scaler of this version's predictor: vLLM's queue and KV cache while it runs
    and, when it may sleep, the interceptor's queue to wake it."""
    o = spec.options
    triggers = [_waiting(spec), _kv_cache(spec)]
    if scales_to_zero(o):
        triggers.insert(0, _interceptor_queue(spec))
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": spec.workload_name, "namespace": o.namespace, "labels": labels},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": predictor(spec),
            },
            "minReplicaCount": o.min_replicas,
            "maxReplicaCount": o.most_replicas,
            "pollingInterval": POLLING_S,
            "cooldownPeriod": o.scaledown_period_s,
            "triggers": triggers,
        },
    }


def http_scaled_object(spec: LlmDeploySpec, labels: dict[str, str]) -> Doc:
    """The add-on's routing entry for this model: requests for its served name on the
    endpoint's host are held until the predictor has a ready pod. It scales nothing itself
    (``SKIP_SCALED_OBJECT``): ``scaled_object`` does."""
    o = spec.options
    return {
        "apiVersion": "http.keda.sh/v1alpha1",
        "kind": "HTTPScaledObject",
        "metadata": {
            "name": spec.workload_name,
            "namespace": o.namespace,
            "labels": labels,
            "annotations": {SKIP_SCALED_OBJECT: "true"},
        },
        "spec": {
            "hosts": [route.endpoint_host(o)],
            "pathPrefixes": [route.PATH_PREFIX],
            "headers": [{"name": route.MODEL_HEADER, "value": spec.served_name}],
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": predictor(spec),
                "service": predictor(spec),
                "port": SERVICE_PORT,
            },
            "replicas": {"min": o.min_replicas, "max": o.most_replicas},
            "scaledownPeriod": o.scaledown_period_s,
            "timeouts": {
                # a cold start pulls the vLLM image and downloads and loads the weights
                "conditionWait": f"{o.wake_timeout_s}s",
                # a non-streamed answer's headers come when the whole answer is generated
                "responseHeader": f"{o.answer_timeout_s}s",
            },
        },
    }


def interceptor_backend(o: LlmDeployOptions) -> Doc:
    """The HTTPRoute backend that sends a sleeping model's requests through the interceptor
    (in the KEDA namespace: the platform's ReferenceGrant there admits the route)."""
    from mlplatform.serving.deploy.wake import INTERCEPTOR, INTERCEPTOR_PORT

    return {"name": INTERCEPTOR, "namespace": o.keda_namespace, "port": INTERCEPTOR_PORT}


# ---- triggers -----------------------------------------------------------------------------
def _interceptor_queue(spec: LlmDeploySpec) -> Doc:
    o = spec.options
    return {
        "type": "external-push",
        "metadata": {
            "scalerAddress": f"{EXTERNAL_SCALER}.{o.keda_namespace}:{EXTERNAL_SCALER_PORT}",
            "httpScaledObject": spec.workload_name,
        },
    }


def _waiting(spec: LlmDeploySpec) -> Doc:
    query = f"sum(vllm:num_requests_waiting{{{_own_pods(spec)}}})"
    return _prometheus(spec, query, "AverageValue", str(spec.options.target_waiting))


def _kv_cache(spec: LlmDeploySpec) -> Doc:
    query = f"avg(vllm:kv_cache_usage_perc{{{_own_pods(spec)}}})"
    return _prometheus(spec, query, "Value", str(spec.options.target_kv_cache))


def _prometheus(spec: LlmDeploySpec, query: str, metric_type: str, threshold: str) -> Doc:
    return {
        "type": "prometheus",
        "metricType": metric_type,
        "metadata": {
            "serverAddress": spec.options.prometheus_url,
            "query": query,
            "threshold": threshold,
            "ignoreNullValues": "true",  # at zero replicas the series do not exist
        },
    }


def _own_pods(spec: LlmDeploySpec) -> str:
    """The series of this version's predictor pods (the PodMonitor's ``namespace`` and
    ``pod`` target labels)."""
    return f'namespace="{spec.options.namespace}",pod=~"{predictor(spec)}-.*"'
