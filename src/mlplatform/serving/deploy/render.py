"""Render a model deployment: ServingRuntime, InferenceService, HTTPRoute, PodMonitor and,
when it scales to zero, the HTTPScaledObject that wakes it.

Pure: a ``DeploySpec`` in, plain dicts out, always in that order, byte-identical YAML for
equal input, no I/O. What is rendered and why (docs/serving-kubernetes.md, ADR 0013):

- the InferenceService runs in KServe's Standard mode (the annotation is set, not left to the
  cluster default), on our model server as the ``mlplatform-serving`` ServingRuntime;
- canaries are ``spec.canary[]`` entries (``canaryTrafficPercent`` is ignored in Standard
  mode); each is a named predictor, Deployment and Service ``<name>-v<version>-predictor``;
- the traffic split is our HTTPRoute's backend weights. The InferenceService is labelled
  cluster-local so KServe creates no HTTPRoute of its own that would compete with it;
- the PodMonitor selects on the *key* ``serving.kserve.io/inferenceservice`` (its value is the
  service's name), narrowed to this service by our own pod label;
- ``--min-replicas 0`` routes through the KEDA HTTP add-on, which wakes the predictor
  (``wake``); sampling flags go on each model's container (``samples``): KServe appends the
  model's args to the shared runtime's, so every model keeps its own;
- each model's container sends its traces to the platform's OpenTelemetry collector
  (``tracing``), named after the InferenceService, its resource naming the version.

Every object but the shared ServingRuntime carries ``mlplatform.io/inference-service: <name>``
and ``app.kubernetes.io/managed-by: mlp``, the selector ``mlp undeploy`` deletes by.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlplatform.errors import DeployError
from mlplatform.governance.check import VersionFacts, refused
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS
from mlplatform.serving.deploy import feature_store, governed, samples, wake
from mlplatform.serving.deploy.clouds import cloud
from mlplatform.serving.deploy.tracing import tracing_env

__all__ = [
    "DeployOptions",
    "DeploySpec",
    "Resources",
    "VariantSpec",
    "render",
    "service_name",
    "to_json",
    "to_yaml",
]

Doc = dict[str, Any]

RUNTIME = "mlplatform-serving"  # the ServingRuntime every model here runs on
MODEL_FORMAT = "mlflow"
CONTAINER = "kserve-container"  # the name KServe merges the runtime and model containers by
PORT = 8080  # the model server's HTTP port: V1, V2, health and /metrics
SERVICE_PORT = 80  # the port of the Services KServe makes for each predictor
MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts storageUri
PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
ISVC_KEY = "serving.kserve.io/inferenceservice"
SERVICE_LABEL = "mlplatform.io/inference-service"  # ours, on every object of one deployment
MANAGED_BY = ("app.kubernetes.io/managed-by", "mlp")
STAGES = ("development", "staging", "production")
AUTOSCALERS = ("hpa", "keda")
MAX_NAME = 45  # so that "<name>-v<version>-predictor" stays a 63-character DNS label
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")  # what the model-lineage policy accepts


@dataclass(frozen=True)
class Resources:
    """CPU and memory of each model server container."""

    cpu_request: str = "500m"
    cpu_limit: str = "2"
    memory_request: str = "1Gi"
    memory_limit: str = "2Gi"


@dataclass(frozen=True)
class VariantSpec:
    """One registered model version to serve.

    Attributes:
        version: the MLflow model version.
        storage_uri: where KServe downloads it from (see ``storage.storage_uri``).
        run_id: the MLflow run that produced it (32 hex digits).
        experiment_id: that run's experiment.
        alias: the alias it was resolved from (``champion``), for messages and annotations.
        percent: a canary's share of the traffic, 1 to 99; unused for the primary.
        facts: its governance facts from the registry (semver, owner, author, approvals);
            None: none read (labelled ``N.0.0`` and the settings' owner; production refuses).
        feature_service: its ``mlplatform.feature_service`` tag: served from entity keys,
            with the cluster's feature store mounted (``feature_store``); "" for none.
    """

    version: int
    storage_uri: str
    run_id: str
    experiment_id: str
    alias: str = ""
    percent: int = 0
    facts: VersionFacts | None = None
    feature_service: str = ""


@dataclass(frozen=True)
class DeployOptions:
    """Where and how the model runs (from the settings' ``[deploy]`` table and the flags)."""

    cloud: str
    image: str
    image_digest: str | None = None
    namespace: str = "kserve"  # where the platform admits gateway and Prometheus traffic
    owner: str = "mlplatform"
    stage: str = "staging"
    service_account: str = "kserve-storage"
    min_replicas: int = 1
    max_replicas: int = 5
    autoscaler: str = "hpa"
    resources: Resources = field(default_factory=Resources)
    gateway_name: str = "platform"
    gateway_namespace: str = "mlplatform-system"
    hostname: str | None = None  # may use {name} and {namespace}
    name: str | None = None  # the InferenceService's name; default: from the model name
    target_cpu_percent: int = 70  # hpa: average CPU utilization per replica
    target_requests_per_second: int = 50  # keda: requests per second per replica
    prometheus_url: str = PROMETHEUS
    scaledown_period_s: int = 300  # scale to zero: idle seconds before the last pod goes
    wake_timeout_s: int = 120  # scale to zero: how long a request waits for a pod
    keda_namespace: str = "keda"  # where the KEDA HTTP add-on's interceptor runs
    sample_fraction: float = SAMPLE_FRACTION  # off: payloads are personal data
    sample_retention_days: int = SAMPLE_RETENTION_DAYS
    samples_store: str | None = None  # default: the model's bucket (``samples``)
    tracking_uri: str | None = None  # the MLflow predictors read drift profiles from (sampling)

    @property
    def image_ref(self) -> str:
        """The image, pinned as ``repository@sha256:...`` when a digest is given."""
        if not self.image_digest:
            return self.image
        repository = self.image.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:  # a tag, not a registry port
            repository = repository.rsplit(":", 1)[0]
        return f"{repository}@{self.image_digest}"


@dataclass(frozen=True)
class DeploySpec:
    """A registered model, the version that takes the traffic, and its canaries."""

    model: str
    primary: VariantSpec
    options: DeployOptions
    canaries: tuple[VariantSpec, ...] = ()

    @property
    def name(self) -> str:
        return self.options.name or service_name(self.model)


def render(spec: DeploySpec) -> list[Doc]:
    """The documents to apply, in apply order.

    Raises:
        DeployError: the spec cannot be deployed as asked (see ``check``).
    """
    check(spec)
    docs = [serving_runtime(spec), inference_service(spec), http_route(spec), pod_monitor(spec)]
    if wake.scales_to_zero(spec.options):
        docs.append(wake.http_scaled_object(spec, hostname(spec), _route_labels(spec)))
    return docs


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's safe dumper (same output, ~10x faster) that never writes ``&id`` anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(documents: list[Doc]) -> str:
    """``---``-separated YAML, byte-identical for equal input."""
    return yaml.dump_all(
        documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096
    )


def to_json(documents: list[Doc]) -> str:
    """One ``v1 List`` holding the documents, as ``kubectl apply -f`` reads it."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}, indent=2) + "\n"


def service_name(model: str) -> str:
    """The InferenceService name for a registered model name (a DNS-1035 label)."""
    name = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return f"m-{name}" if name[:1].isdigit() else name


# ---- checks -------------------------------------------------------------------------------
def check(spec: DeploySpec) -> None:
    """Reject what KServe, the Gateway API or the governance policies would refuse.

    Raises:
        DeployError: with what was wrong and the flag or setting that fixes it.
    """
    o = spec.options
    cloud(o.cloud)
    _check_name(spec.name)
    _one_of("stage", o.stage, STAGES, "--stage")
    _one_of("autoscaler", o.autoscaler, AUTOSCALERS, "--autoscaler")
    _check_replicas(o)
    wake.check(spec)
    samples.check(o)
    for variant in (spec.primary, *spec.canaries):
        _check_lineage(spec.model, variant)
    _check_canaries(spec)
    _check_governance(spec)
    hostname(spec)


def _check_governance(spec: DeploySpec) -> None:
    """Production serves only versions that meet the production rules (the registry's
    approval included): the same check as ``mlp deploy``'s, on the facts in the spec."""
    variants = (spec.primary, *spec.canaries)
    facts = [v.facts or governed.unknown_version(spec.model) for v in variants]
    found = governed.violations(spec.options.stage, facts, None)
    if found:
        raise refused(f"deploy {spec.model} to production", found)


def _check_name(name: str) -> None:
    if not _DNS_LABEL.match(name) or len(name) > MAX_NAME:
        raise DeployError(
            f"{name!r} cannot name an InferenceService",
            f"Pass --name with lowercase letters, digits and '-', at most {MAX_NAME} "
            "characters, starting with a letter.",
        )


def _one_of(what: str, value: str, allowed: tuple[str, ...], flag: str) -> None:
    if value not in allowed:
        raise DeployError(f"unknown {what} {value!r}", f"Pass {flag} {' | '.join(allowed)}.")


def _check_replicas(o: DeployOptions) -> None:
    if o.min_replicas < 0 or o.max_replicas < max(o.min_replicas, 1):
        raise DeployError(
            f"replicas {o.min_replicas}..{o.max_replicas} is not a range",
            "Pass --min-replicas at most --max-replicas, and --max-replicas of at least 1.",
        )
    if o.min_replicas == 0 and o.autoscaler == "hpa":
        raise DeployError(
            "the HPA cannot scale to zero replicas",
            "Pass --min-replicas 1, or --autoscaler keda to scale to zero.",
        )


def _check_lineage(model: str, v: VariantSpec) -> None:
    if not _RUN_ID.match(v.run_id) or not v.experiment_id:
        raise DeployError(
            f"version {v.version} of {model!r} has no MLflow run (run id {v.run_id!r})",
            "Deploy a version registered from a run: the model-lineage policy needs its "
            "experiment and run ids.",
        )


def _check_canaries(spec: DeploySpec) -> None:
    seen = {spec.primary.version: spec.primary.alias or "the primary"}
    for c in spec.canaries:
        label = c.alias or f"version {c.version}"
        if not 1 <= c.percent <= 99:
            raise DeployError(
                f"canary {label} takes {c.percent} % of the traffic",
                "Give each canary 1 to 99 percent: --canary challenger=10.",
            )
        if c.version in seen:
            raise DeployError(
                f"canary {label} is version {c.version}, the same version as {seen[c.version]}",
                "Point the alias at another version (mlp models promote), or deploy "
                "without this --canary.",
            )
        seen[c.version] = label
    if sum(c.percent for c in spec.canaries) > 99:
        raise DeployError(
            "the canaries take all of the traffic",
            "Keep the canaries' percentages at 99 or less in total.",
        )


# ---- documents ----------------------------------------------------------------------------
def serving_runtime(spec: DeploySpec) -> Doc:
    """Our model server as a KServe runtime for MLflow models (one per namespace)."""
    o = spec.options
    container = {
        "name": CONTAINER,
        "image": o.image_ref,
        "command": ["python", "-m", "mlplatform.serving"],
        "args": [
            "--model-dir",
            MODEL_DIR,
            "--name",
            "{{.Name}}",
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
        ],
        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/v2/health/ready"),
        "livenessProbe": _probe("/v2/health/live"),
        "resources": _resources(o.resources),
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": RUNTIME, "namespace": o.namespace, "labels": _common_labels()},
        "spec": {
            "supportedModelFormats": [{"name": MODEL_FORMAT, "autoSelect": False}],
            "protocolVersions": ["v1", "v2"],
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def inference_service(spec: DeploySpec) -> Doc:
    """The InferenceService: Standard mode, the primary predictor and ``spec.canary[]``."""
    o = spec.options
    body: Doc = {"predictor": _predictor(spec, spec.primary, canary=False)}
    if spec.canaries:
        body["canary"] = [
            {"trafficPercent": c.percent, "predictor": _predictor(spec, c, canary=True)}
            for c in spec.canaries
        ]
    labels = {
        **_common_labels(),
        **_governance_labels(spec, spec.primary),
        SERVICE_LABEL: spec.name,
        "networking.kserve.io/visibility": "cluster-local",  # the route is ours, not KServe's
    }
    annotations = {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": autoscaler_class(o),
        "mlplatform.io/registered-model": spec.model,
        "mlplatform.io/mlflow-model-version": str(spec.primary.version),
        **({"mlplatform.io/model-alias": spec.primary.alias} if spec.primary.alias else {}),
        **_lineage(spec.primary),
        **governed.approval_annotations(spec.primary.facts, o.stage),
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": spec.name,
            "namespace": o.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": body,
    }


def http_route(spec: DeploySpec) -> Doc:
    """The route from the platform Gateway to the predictors, weighted by the canaries."""
    o = spec.options
    rest = 100 - sum(c.percent for c in spec.canaries)
    backends = [_backend(f"{spec.name}-predictor", rest)]
    backends += [_backend(canary_service(spec, c), c.percent) for c in spec.canaries]
    rule: Doc = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}
    if wake.scales_to_zero(o):  # no canaries here (wake.check)
        backends = [wake.interceptor_backend(o)]
        rule["timeouts"] = wake.route_timeouts(o)
    rule["backendRefs"] = backends
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": spec.name, "namespace": o.namespace, "labels": _route_labels(spec)},
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": o.gateway_name,
                    "namespace": o.gateway_namespace,
                }
            ],
            "hostnames": [hostname(spec)],
            "rules": [rule],
        },
    }


def pod_monitor(spec: DeploySpec) -> Doc:
    """Prometheus scrapes ``/metrics`` of every predictor pod of this InferenceService."""
    o = spec.options
    endpoint = {
        "portNumber": PORT,
        "path": "/metrics",
        "interval": "30s",
        "relabelings": [
            _copy_label(ISVC_KEY, "inference_service"),
            _copy_label("mlplatform.io/model-version", "model_version"),
        ],
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": spec.name, "namespace": o.namespace, "labels": _route_labels(spec)},
        "spec": {
            "namespaceSelector": {"matchNames": [o.namespace]},
            "selector": {
                # KServe sets this label to the service's name: select on the key
                "matchExpressions": [{"key": ISVC_KEY, "operator": "Exists"}],
                "matchLabels": {SERVICE_LABEL: spec.name},
            },
            "podMetricsEndpoints": [endpoint],
        },
    }


def autoscaler_class(o: DeployOptions) -> str:
    """KServe's autoscaler class: ours (hpa, keda), or ``external`` when the KEDA HTTP add-on
    scales the predictor (then KServe makes no HPA or ScaledObject to fight it)."""
    return wake.AUTOSCALER_CLASS if wake.scales_to_zero(o) else o.autoscaler


def canary_service(spec: DeploySpec, variant: VariantSpec) -> str:
    """The Service KServe makes for a canary predictor named ``v<version>``."""
    return f"{spec.name}-v{variant.version}-predictor"


def hostname(spec: DeploySpec) -> str:
    """The route's host: the ``hostname`` setting (``{name}``, ``{namespace}`` filled in), or
    KServe's default shape ``<name>-<namespace>.example.com`` when none is set."""
    template = spec.options.hostname or "{name}-{namespace}.example.com"
    try:
        host = template.format(name=spec.name, namespace=spec.options.namespace)
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


# ---- parts --------------------------------------------------------------------------------
def _predictor(spec: DeploySpec, variant: VariantSpec, *, canary: bool) -> Doc:
    o = spec.options
    predictor: Doc = {}
    if canary:  # KServe forbids autoscaling fields on a canary; it sizes it by its traffic
        predictor["name"] = f"v{variant.version}"
    else:
        predictor["minReplicas"] = o.min_replicas
        predictor["maxReplicas"] = o.max_replicas
        if not wake.scales_to_zero(o):  # else the HTTPScaledObject scales it
            predictor["autoScaling"] = _autoscaling(spec)
    predictor["serviceAccountName"] = o.service_account
    predictor["securityContext"] = pod_security()
    predictor["labels"] = {
        **_common_labels(),
        **_governance_labels(spec, variant),
        SERVICE_LABEL: spec.name,
        **cloud(o.cloud).pod_labels,
        **feature_store.labels(variant),
    }
    predictor["annotations"] = _lineage(variant)
    volumes = feature_store.volumes(variant)  # merged with the runtime's by KServe
    if volumes:
        predictor["volumes"] = volumes
    predictor["model"] = _model(spec, variant, canary=canary)
    return predictor


def _model(spec: DeploySpec, variant: VariantSpec, *, canary: bool) -> Doc:
    # The v0.20 CRD requires a canary model's (container) name; the top-level one must be unset.
    model: Doc = {"name": CONTAINER} if canary else {}
    model["modelFormat"] = {"name": MODEL_FORMAT}
    model["runtime"] = RUNTIME
    model["storageUri"] = variant.storage_uri
    args = samples.sampling_args(spec.options, spec.model, variant)
    args += feature_store.args(variant)
    if args:  # appended to the runtime's args by KServe
        model["args"] = args
    env = samples.sampling_env(spec.options, variant.storage_uri) + feature_store.env(variant)
    model["env"] = env + tracing_env(spec, variant)  # spans to the collector (Tempo)
    env_from = feature_store.env_from(variant)
    if env_from:
        model["envFrom"] = env_from
    model["resources"] = _resources(spec.options.resources)
    model["securityContext"] = container_security()
    mounts = feature_store.mounts(variant)  # merged with the runtime's (/tmp) by KServe
    if mounts:
        model["volumeMounts"] = mounts
    return model


def _autoscaling(spec: DeploySpec) -> Doc:
    o = spec.options
    if o.autoscaler == "hpa":
        target = {"type": "Utilization", "averageUtilization": o.target_cpu_percent}
        return {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]}
    # keda: the primary's request rate; KServe's ScaledObject makes it a per-replica threshold
    selector = f'namespace="{o.namespace}",pod=~"{spec.name}-predictor-.*"'
    query = f"sum(rate(mlplatform_inference_requests_total{{{selector}}}[2m]))"
    metric = {"backend": "prometheus", "serverAddress": o.prometheus_url, "query": query}
    target = {"type": "Value", "value": str(o.target_requests_per_second)}
    return {"metrics": [{"type": "External", "external": {"metric": metric, "target": target}}]}


def pod_security() -> Doc:
    """The restricted Pod Security Standard at pod level (the namespaces enforce it)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> Doc:
    """The restricted Pod Security Standard for the model server container."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(r: Resources) -> Doc:
    return {
        "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
        "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
    }


def _probe(path: str) -> Doc:
    return {"httpGet": {"path": path, "port": PORT}, "periodSeconds": 10, "failureThreshold": 3}


def _common_labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "mlplatform", MANAGED_BY[0]: MANAGED_BY[1]}


def _governance_labels(spec: DeploySpec, variant: VariantSpec) -> dict[str, str]:
    """The labels the model governance policies require (infrastructure/.../governance),
    and the MLflow run id as a label too (selectable: which pods serve run X), beside the
    lineage annotations the policy reads."""
    return {
        "mlplatform.io/model-name": _label(spec.model),
        "mlplatform.io/model-version": governed.semver(variant.facts, variant.version),
        "mlplatform.io/owner": _label(governed.owner(variant.facts, spec.options.owner)),
        "mlplatform.io/model-stage": spec.options.stage,
        "mlplatform.io/mlflow-run-id": variant.run_id,
    }


def _route_labels(spec: DeploySpec) -> dict[str, str]:
    return {
        **_common_labels(),
        "mlplatform.io/model-name": _label(spec.model),
        SERVICE_LABEL: spec.name,
    }


def _lineage(variant: VariantSpec) -> dict[str, str]:
    return {
        "mlplatform.io/mlflow-experiment-id": variant.experiment_id,
        "mlplatform.io/mlflow-run-id": variant.run_id,
    }


def _backend(service: str, weight: int) -> Doc:
    return {"name": service, "port": SERVICE_PORT, "weight": weight}


def _copy_label(pod_label: str, target: str) -> Doc:
    source = "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)
    return {"sourceLabels": [source], "targetLabel": target}


def _label(value: str) -> str:
    """A valid label value: 63 characters of ``[A-Za-z0-9._-]``, alphanumeric at both ends."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].strip("-._")
    return clean or "none"
