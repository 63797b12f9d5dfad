"""One graph node -> one Argo container template that runs the launcher.

The template takes each artifact input as two parameters (the reference JSON and its digest),
writes each output the same way, memoizes on the step's cache key, names its image in
``MLPLATFORM_IMAGE`` (the launcher refuses to run code that differs from the compiled key, and
names the image when it does), sends the launcher's spans to the OpenTelemetry collector
(``mlplatform.telemetry.pod_env``), and meets the restricted Pod Security Standard (non-root,
read-only root filesystem with an emptyDir at /tmp, all capabilities dropped, seccomp
RuntimeDefault).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import hera.workflows.models as m

from mlplatform.artifacts.signing import CACHE_KEY_ENV
from mlplatform.pipelines.argo import feature_store
from mlplatform.pipelines.argo.clouds import GPU_TAINT, TRAINING_TAINT, Cloud
from mlplatform.pipelines.argo.keys import digest_param, key_expression, ref_param
from mlplatform.pipelines.graph import ArtifactBinding, Node
from mlplatform.pipelines.launcher import IMAGE_ENV, SERVICE_NAME
from mlplatform.telemetry import pod_env

__all__ = ["OUTPUTS_DIR", "StepPlan", "container_template", "template_name"]

OUTPUTS_DIR = "/tmp/mlp/outputs"
LAUNCHER = ["python", "-m", "mlplatform.pipelines.launcher"]
MEMOIZE_MAX_AGE = "720h"


@dataclass(frozen=True)
class StepPlan:
    """What the compiler knows about a node at compile time."""

    node: Node
    spec: Mapping[str, Any]  # the launcher's compile-time spec (see launcher.argo_main)
    components: Mapping[str, str]  # code, params, data and env hashes
    env: Mapping[str, str]  # container environment
    # the step reads external data (a file or object, not library data): the pod fingerprints
    # it again and keys on what it reads, so a baked memoize key would go stale
    reads_data: bool = False
    # the pod mounts the cluster's feature store configuration (``argo.feature_store``)
    feature_store: bool = False


def template_name(node: str) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", node.lower()).strip("-")
    return f"step-{name}"[:63]


def _artifact_args(node: Node) -> list[str]:
    return sorted(a for a, b in node.bindings.items() if isinstance(b, ArtifactBinding))


def _outputs(node: Node) -> m.Outputs:
    params = [
        m.Parameter(name=name, value_from=m.ValueFrom(path=f"{OUTPUTS_DIR}/{name}"))
        for out in node.output_types
        for name in (ref_param(out), digest_param(out))
    ]
    params.append(
        m.Parameter(name="cache-key", value_from=m.ValueFrom(path=f"{OUTPUTS_DIR}/cache-key"))
    )
    return m.Outputs(parameters=params)


def _resources(node: Node) -> m.ResourceRequirements:
    res = node.step.resources
    amounts: dict[str, m.Quantity] = {
        "cpu": m.Quantity(f"{res.cpu:g}"),
        "memory": m.Quantity(res.memory),
    }
    limits = dict(amounts)
    if res.gpu:
        limits["nvidia.com/gpu"] = m.Quantity(str(res.gpu))
        amounts["nvidia.com/gpu"] = m.Quantity(str(res.gpu))
    return m.ResourceRequirements(requests=amounts, limits=limits)


def _placement(node: Node, cl: Cloud) -> tuple[dict[str, str] | None, list[m.Toleration] | None]:
    res = node.step.resources
    cloud_taints = [_toleration(t) for t in cl.pool_taints]
    if res.gpu:
        return dict(cl.gpu_node_selector), [_toleration(GPU_TAINT), *cloud_taints]
    if res.cpu >= 2:
        return dict(cl.training_node_selector), [_toleration(TRAINING_TAINT), *cloud_taints]
    return None, None


def _toleration(taint: Mapping[str, str]) -> m.Toleration:
    return m.Toleration(
        key=taint["key"], operator=taint["operator"], value=taint["value"], effect=taint["effect"]
    )


def _retry(node: Node) -> m.RetryStrategy | None:
    r = node.step.retries
    if r.count <= 0:
        return None
    return m.RetryStrategy(
        limit=m.IntOrString(r.count),
        retry_policy="Always",
        backoff=m.Backoff(
            duration=f"{r.backoff:g}s",
            factor=m.IntOrString(int(r.factor) if float(r.factor).is_integer() else str(r.factor)),
            max_duration=f"{r.max_backoff:g}s",
        ),
    )


def _args(plan: StepPlan) -> list[str]:
    args = ["--argo-spec", json.dumps(plan.spec, sort_keys=True, separators=(",", ":"))]
    for arg in _artifact_args(plan.node):
        args += ["--input", f"{arg}={{{{inputs.parameters.{ref_param(arg)}}}}}"]
    args += ["--run-id", "{{workflow.name}}", "--outputs-dir", OUTPUTS_DIR]
    return args


def _env(plan: StepPlan, image: str) -> dict[str, str]:
    """The container environment: the step's traces to the platform's collector (the compile
    env may override them), the compile env, and the image's own name for the launcher's
    error when the image does not run what was compiled (``launcher.check_image``)."""
    identity = {
        "mlplatform.pipeline.name": str(plan.spec["pipeline"]),
        "mlplatform.step.name": plan.node.name,
    }
    return {**dict(pod_env(SERVICE_NAME, identity)), **plan.env, IMAGE_ENV: image}


# The HMAC key that signs cache entries (mlplatform.artifacts.signing): the same secret laptops
# export as MLPLATFORM_CACHE_KEY, from the Secret the platform chart creates in the namespace.
CACHE_KEY_SECRET = "mlplatform-cache-key"
CACHE_KEY_VAR = m.EnvVar(
    name=CACHE_KEY_ENV,
    value_from=m.EnvVarSource(
        secret_key_ref=m.SecretKeySelector(name=CACHE_KEY_SECRET, key="key", optional=False)
    ),
)

SECURITY = m.SecurityContext(
    allow_privilege_escalation=False,
    read_only_root_filesystem=True,
    run_as_non_root=True,
    capabilities=m.Capabilities(drop=["ALL"]),
    seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
)


def _labels(plan: StepPlan) -> dict[str, str]:
    labels = {"mlplatform.io/step": plan.node.name}
    if plan.feature_store:
        labels[feature_store.LABEL[0]] = feature_store.LABEL[1]
    return labels


def container_template(plan: StepPlan, cl: Cloud, image: str, cache_name: str) -> m.Template:
    """The Argo template of one step."""
    node = plan.node
    args = _artifact_args(node)
    selector, tolerations = _placement(node, cl)
    retry = _retry(node)
    # Argo does not record memoized results for templates with a retryStrategy
    # (argo-workflows#10426, #12490); for those the launcher's check of the store index is the
    # cache, so they carry no memoize block. Neither do steps that read external data: its
    # fingerprint is taken again in the pod (a scheduled workflow's data changes between runs).
    memoize = (
        None
        if retry or plan.reads_data
        else m.Memoize(
            key=key_expression(plan.components, args),
            max_age=MEMOIZE_MAX_AGE,
            cache=m.Cache(config_map=m.LocalObjectReference(name=cache_name)),
        )
    )
    inputs = [m.Parameter(name=p) for a in args for p in (ref_param(a), digest_param(a))]
    return m.Template(
        name=template_name(node.name),
        inputs=m.Inputs(parameters=inputs) if inputs else None,
        outputs=_outputs(node),
        memoize=memoize,
        retry_strategy=retry,
        active_deadline_seconds=m.IntOrString(int(node.step.timeout))
        if node.step.timeout
        else None,
        node_selector=selector,
        tolerations=tolerations,
        metadata=m.Metadata(labels=_labels(plan)),
        container=m.Container(
            image=image,
            command=list(LAUNCHER),
            args=_args(plan),
            env=[
                *(m.EnvVar(name=k, value=v) for k, v in sorted(_env(plan, image).items())),
                CACHE_KEY_VAR,
            ],
            env_from=[feature_store.env_from()] if plan.feature_store else None,
            resources=_resources(node),
            security_context=SECURITY,
            volume_mounts=[
                m.VolumeMount(name="scratch", mount_path="/tmp"),
                *([feature_store.mount()] if plan.feature_store else []),
            ],
        ),
    )
