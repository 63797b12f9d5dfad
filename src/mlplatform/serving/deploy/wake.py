"""Scale to zero that wakes up: the KEDA HTTP add-on in front of the primary predictor.

A scaler that reads metrics of the pods it scales cannot wake them: at zero replicas those
series do not exist, and no request reaches a pod to create them. With ``--min-replicas 0``
the request itself is the signal. Our HTTPRoute sends the model's traffic to the add-on's
interceptor (``keda-add-ons-http-interceptor-proxy:8080`` in the KEDA namespace), which counts
it, holds it while the predictor has no ready pod, and forwards it to the predictor Service once
one is up. An ``HTTPScaledObject`` (``http.keda.sh/v1alpha1``, add-on v0.15) names that Service
and the Deployment behind it, both ``<name>-predictor`` in KServe's Standard mode; the add-on's
operator makes the one KEDA ScaledObject that scales it. The InferenceService sets
``serving.kserve.io/autoscalerClass: external`` so that KServe v0.20 creates no HPA or
ScaledObject of its own and leaves the Deployment's replicas to KEDA.

What cannot be woken is refused (``check``): canaries, because KServe v0.20 gives a canary
fixed replicas, ``ceil(minReplicas * percent / 100)``, which is 0 when the primary's minimum is
0, and a canary's minimum may not exceed the primary's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplatform.errors import DeployError

if TYPE_CHECKING:
    from mlplatform.serving.deploy.render import DeployOptions, DeploySpec

__all__ = [
    "AUTOSCALER_CLASS",
    "INTERCEPTOR",
    "INTERCEPTOR_PORT",
    "check",
    "http_scaled_object",
    "interceptor_backend",
    "route_timeouts",
    "scales_to_zero",
]

Doc = dict[str, Any]

INTERCEPTOR = "keda-add-ons-http-interceptor-proxy"  # the add-on chart's proxy Service
INTERCEPTOR_PORT = 8080
ANSWER_S = 30  # a woken predictor's time to answer, on top of the wake timeout
AUTOSCALER_CLASS = "external"  # KServe v0.20: no HPA, no ScaledObject, replicas left alone


def scales_to_zero(o: DeployOptions) -> bool:
    """Whether the predictor may have no replica (then the HTTP add-on wakes it)."""
    return o.min_replicas == 0


def check(spec: DeploySpec) -> None:
    """Refuse a scale-to-zero deployment that could not wake up.

    Raises:
        DeployError: canaries with ``--min-replicas 0``.
    """
    if scales_to_zero(spec.options) and spec.canaries:
        raise DeployError(
            "canaries cannot scale to zero: KServe gives each canary fixed replicas, 0 when "
            "the primary's minimum is 0, so the canary's share of the traffic would be lost",
            "Pass --min-replicas 1 to deploy with canaries, or deploy without --canary to "
            "scale to zero.",
        )


def http_scaled_object(spec: DeploySpec, host: str, labels: dict[str, str]) -> Doc:
    """The add-on's scaler for the primary predictor: routes ``host`` to its Service and scales
    its Deployment from ``min_replicas`` (0) to ``max_replicas`` on the request rate."""
    o = spec.options
    predictor = f"{spec.name}-predictor"
    return {
        "apiVersion": "http.keda.sh/v1alpha1",
        "kind": "HTTPScaledObject",
        "metadata": {"name": spec.name, "namespace": o.namespace, "labels": labels},
        "spec": {
            "hosts": [host],
            "pathPrefixes": ["/"],
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": predictor,
                "service": predictor,
                "port": 80,  # the port of the Service KServe makes for the predictor
            },
            "replicas": {"min": o.min_replicas, "max": o.max_replicas},
            "scaledownPeriod": o.scaledown_period_s,
            # a cold start pulls the image, downloads the model and loads it: hold the
            # request that long (the add-on's default is 20 s)
            "timeouts": {"conditionWait": f"{o.wake_timeout_s}s"},
            "scalingMetric": {
                "requestRate": {
                    "targetValue": o.target_requests_per_second,
                    "window": "1m",
                    "granularity": "1s",
                }
            },
        },
    }


def route_timeouts(o: DeployOptions) -> Doc:
    """The HTTPRoute rule's timeouts: long enough for the interceptor to hold a request while
    the predictor wakes (the wake timeout plus the model server's own time to answer)."""
    return {"request": f"{o.wake_timeout_s + ANSWER_S}s"}


def interceptor_backend(o: DeployOptions) -> Doc:
    """The HTTPRoute backend that sends all of the model's traffic through the interceptor.

    It is in another namespace, so the Gateway needs a ReferenceGrant there (a platform
    object, docs/serving-kubernetes.md)."""
    return {
        "name": INTERCEPTOR,
        "namespace": o.keda_namespace,
        "port": INTERCEPTOR_PORT,
        "weight": 100,
    }
