"""The OpenAI endpoint: one host on the platform Gateway, routed by the body's ``model``.

Every LLM deployment renders its own HTTPRoute (named like the deployment) on the same host,
``endpoint_host`` (``deploy.hostname`` with ``{name}`` = ``llm``), with one rule: path prefix
``/v1`` (``/v1/chat/completions``, ``/v1/completions``, ``/v1/models`` ...) and the header
``X-Gateway-Model-Name`` equal to the deployment's served name. The Gateway API merges the
rules of every HTTPRoute attached to one listener and host, so the endpoint is one host whose
rules come from many routes, each owned, applied and deleted by its own deployment (ADR 0014).

The header is written by the Gateway API Inference Extension's body-based router (BBR), an
Envoy external processor on the Gateway that copies the request body's ``model`` into
``X-Gateway-Model-Name`` before routes are matched. A request for a name no rule has gets the
Gateway's 404; a body without ``model`` too.

Backends, by kind (KServe v0.20, ``pkg/controller/v1alpha2/llmisvc/workload.go``): an
LLMInferenceService without ``spec.router`` gets a Service ``<name>-kserve-workload-svc`` on
port 8000 (HTTP unless KServe's ``enableLLMInferenceServiceTLS`` is set) and no HTTPRoute of
its own; an InferenceService in Standard mode gets ``<name>-predictor`` on port 80 (labelled
cluster-local: KServe makes no HTTPRoute). Canaries are weighted backends of the one rule;
a model that scales to zero is routed through the KEDA interceptor (``scaling``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplatform.errors import DeployError

if TYPE_CHECKING:
    from mlplatform.llm.deploy.spec import LlmDeployOptions, LlmDeploySpec

__all__ = [
    "ENDPOINT",
    "MODEL_HEADER",
    "PATH_PREFIX",
    "backend_service",
    "endpoint_host",
    "http_route",
]

Doc = dict[str, Any]

ENDPOINT = "llm"  # the {name} of deploy.hostname for the one OpenAI endpoint
MODEL_HEADER = "X-Gateway-Model-Name"  # BBR's header; KServe v0.20's default too
PATH_PREFIX = "/v1"
LLMISVC_SERVICE_SUFFIX = "-kserve-workload-svc"
LLMISVC_SERVICE_PORT = 8000
ISVC_SERVICE_PORT = 80


def endpoint_host(o: LlmDeployOptions) -> str:
    """The OpenAI endpoint's host: ``deploy.hostname`` for the name ``llm``, or
    ``llm-<namespace>.example.com`` (the shape of KServe's default) when none is set.

    Raises:
        DeployError: the template is not one of ``{name}`` and ``{namespace}``, or no host.
    """
    from mlplatform.serving.deploy.render import _HOSTNAME

    template = o.hostname or "{name}-{namespace}.example.com"
    try:
        host = template.format(name=ENDPOINT, namespace=o.namespace)
    except (KeyError, IndexError, ValueError) as exc:
        raise DeployError(
            f"hostname {template!r} is not a template of {{name}} and {{namespace}}",
            "Set deploy.hostname to a host such as {name}.models.example.com.",
        ) from exc
    if not _HOSTNAME.match(host) or len(host) > 253:
        raise DeployError(
            f"{host!r} is not a hostname",
            "Set deploy.hostname to a host such as {name}.models.example.com.",
        )
    return host


def backend_service(spec: LlmDeploySpec) -> tuple[str, int]:
    """The Service (and port) KServe makes for one version's workload."""
    if spec.options.kind == "inferenceservice":
        return f"{spec.workload_name}-predictor", ISVC_SERVICE_PORT
    return f"{spec.workload_name}{LLMISVC_SERVICE_SUFFIX}", LLMISVC_SERVICE_PORT


def http_route(spec: LlmDeploySpec, labels: dict[str, str]) -> Doc:
    """The deployment's rule on the OpenAI endpoint: its served name, weighted by version."""
    from mlplatform.llm.deploy import scaling

    o = spec.options
    rule: Doc = {
        "matches": [
            {
                "path": {"type": "PathPrefix", "value": PATH_PREFIX},
                "headers": [{"type": "Exact", "name": MODEL_HEADER, "value": spec.served_name}],
            }
        ],
    }
    timeout = o.answer_timeout_s
    if scaling.scales_to_zero(o):  # no canaries here (spec.check)
        rule["backendRefs"] = [{**scaling.interceptor_backend(o), "weight": 100}]
        timeout += o.wake_timeout_s
    else:
        rule["backendRefs"] = [_backend(spec)] + [
            _backend(v, c.percent) for v, c in zip(spec.variants()[1:], spec.canaries, strict=True)
        ]
    rule["timeouts"] = {"request": f"{timeout}s"}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": spec.name, "namespace": o.namespace, "labels": labels},
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": o.gateway_name,
                    "namespace": o.gateway_namespace,
                }
            ],
            "hostnames": [endpoint_host(o)],
            "rules": [rule],
        },
    }


def _backend(variant: LlmDeploySpec, weight: int | None = None) -> Doc:
    name, port = backend_service(variant)
    if weight is None:
        weight = 100 - sum(c.percent for c in variant.canaries)
    return {"name": name, "port": port, "weight": weight}
