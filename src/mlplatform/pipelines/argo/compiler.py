"""Compile a pipeline graph to Argo Workflows documents, offline and deterministically.

``compile_pipeline`` returns plain dicts (a ``Workflow``, or a ``WorkflowTemplate`` and a
``CronWorkflow`` with a schedule) built from Hera's Argo models; ``to_yaml`` writes them. The
same input gives byte-identical YAML. Nothing is uploaded and no credentials are needed: the
code runs from the platform image, which is built from the same lock file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hera.workflows.models as m
import yaml

from mlplatform import __version__
from mlplatform.pipelines.argo import feature_store
from mlplatform.pipelines.argo.clouds import Cloud, cloud
from mlplatform.pipelines.argo.keys import digest_param, ref_param
from mlplatform.pipelines.argo.templates import StepPlan, container_template, template_name
from mlplatform.pipelines.cache import compute_key, environment_fingerprint
from mlplatform.pipelines.codehash import step_code_hash
from mlplatform.pipelines.dsl import resolve_params
from mlplatform.pipelines.graph import ArtifactBinding, PipelineGraph

__all__ = ["CompileOptions", "compile_pipeline", "plan_steps", "to_yaml"]

API_VERSION = "argoproj.io/v1alpha1"
DEFAULT_IMAGE = f"ghcr.io/mlplatform/mlplatform:{__version__}"
SCRATCH = m.Quantity("4Gi")  # the /tmp emptyDir of every step pod


@dataclass(frozen=True)
class CompileOptions:
    """Where and how the compiled workflow runs.

    Attributes:
        cloud: ``aws``, ``azure`` or ``gcp`` (node pools, identity, default store).
        image: the platform image; ``image_digest`` pins it (``repo@sha256:...``).
        store_root: the artifact store the steps share (default: the cloud's bucket).
        env: container environment; declared step env vars here are part of cache keys.
        lock_file: the lock file the image was built from (part of every key).
        schedule: a cron expression: emit a WorkflowTemplate plus a CronWorkflow.
        feature_store_env: the variable the feature store steps read the store's
            ``feature_store.yaml`` path from (``mlplatform.features.CONFIG_ENV``): every step
            pod then mounts the cluster's file and gets its database variables
            (``argo.feature_store``); None: step pods get no feature store.
    """

    cloud: str = "aws"
    image: str = DEFAULT_IMAGE
    image_digest: str | None = None
    store_root: str | None = None
    namespace: str = "argo"
    owner: str = "mlplatform"
    service_account: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    lock_file: Path | None = None
    schedule: str | None = None
    timezone: str = "UTC"
    feature_store_env: str | None = None

    @property
    def image_ref(self) -> str:
        if self.image_digest:
            repository = self.image.split("@", 1)[0]
            if ":" in repository.rsplit("/", 1)[-1]:  # a tag, not a registry port
                repository = repository.rsplit(":", 1)[0]
            return f"{repository}@{self.image_digest}"
        return self.image


def _label(value: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].strip("-._")
    return clean or "none"


# Argo appends a 10-digit timestamp to the workflows a CronWorkflow creates (argo-workflows#5407)
CRON_NAME_MAX = 52


def _object_name(value: str, limit: int = 63) -> str:
    """A Kubernetes object name (DNS-1123 label): lowercase alphanumerics and '-'."""
    clean = re.sub(r"[^a-z0-9-]+", "-", value.lower())[:limit].strip("-")
    return clean or "pipeline"


def _module_file(step: Any) -> str | None:
    import sys

    path = getattr(sys.modules.get(step.module), "__file__", None)
    if not path or not step.module.startswith("_mlp_"):
        return None
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(path).resolve())


def plan_steps(
    graph: PipelineGraph, params: Mapping[str, Any], options: CompileOptions
) -> list[StepPlan]:
    """Per node: the launcher's compile-time spec and the code/params/env key components."""
    values = resolve_params(graph, params)
    cl = cloud(options.cloud)
    fingerprint = environment_fingerprint(options.lock_file)
    store = options.store_root or cl.default_store
    plans = []
    code: dict[int, str] = {}  # one hash per step function, however many nodes call it
    for name in graph.order:
        node = graph.nodes[name]
        node_params = node.param_values(values)
        if id(node.step) not in code:
            code[id(node.step)] = step_code_hash(node.step)
        key = compute_key(
            node.step,
            node_params,
            {},
            fingerprint,
            environ=options.env,
            code_hash=code[id(node.step)],
            external=False,  # a registry's state is read in the pod, not on this machine
        )
        components = {c: key.components[c] for c in ("code", "params", "data", "env")}
        spec = {
            "pipeline": graph.name,
            "node": name,
            "module": node.step.module,
            "qualname": node.step.qualname,
            "module_file": _module_file(node.step),
            "store_root": store,
            "params": node_params,
            "outputs": {k: str(v) for k, v in node.output_types.items()},
            "components": components,
        }
        reads_data = any(fp["method"] != "value" for fp in key.details["data"].values())
        env = dict(options.env)
        if options.feature_store_env:  # not in the key: what the store holds is (in the pod)
            env[options.feature_store_env] = feature_store.CONFIG_FILE
        plans.append(
            StepPlan(
                node=node,
                spec=spec,
                components=components,
                env=env,
                reads_data=reads_data,
                feature_store=bool(options.feature_store_env),
            )
        )
    return plans


def _task(plan: StepPlan) -> m.DAGTask:
    node = plan.node
    arguments = []
    for arg, b in sorted(node.bindings.items()):
        if isinstance(b, ArtifactBinding):
            up = f"tasks.{_task_name(b.node)}.outputs.parameters"
            arguments += [
                m.Parameter(name=ref_param(arg), value=f"{{{{{up}.{ref_param(b.output)}}}}}"),
                m.Parameter(name=digest_param(arg), value=f"{{{{{up}.{digest_param(b.output)}}}}}"),
            ]
    return m.DAGTask(
        name=_task_name(node.name),
        template=template_name(node.name),
        dependencies=[_task_name(u) for u in node.upstream] or None,
        arguments=m.Arguments(parameters=arguments) if arguments else None,
    )


def _task_name(node: str) -> str:
    return template_name(node).removeprefix("step-")


def _labels(
    graph: PipelineGraph, values: Mapping[str, Any], options: CompileOptions
) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": "mlplatform",
        "app.kubernetes.io/managed-by": "mlplatform",
        "mlplatform.io/pipeline": _label(graph.name),
        "mlplatform.io/model-name": _label(str(values.get("model_name") or graph.name)),
        "mlplatform.io/owner": _label(options.owner),
    }


def _workflow_spec(
    graph: PipelineGraph,
    plans: list[StepPlan],
    cl: Cloud,
    labels: Mapping[str, str],
    options: CompileOptions,
) -> m.WorkflowSpec:
    cache_prefix = f"mlp-cache-{graph.name}"
    pod_labels = {**labels, **cl.pod_labels, "mlplatform.io/pipeline-run-id": "{{workflow.name}}"}
    dag = m.Template(name="main", dag=m.DAGTemplate(tasks=[_task(p) for p in plans]))
    return m.WorkflowSpec(
        entrypoint="main",
        service_account_name=options.service_account or cl.service_account,
        security_context=m.PodSecurityContext(
            run_as_non_root=True,
            run_as_user=1000,
            run_as_group=1000,
            fs_group=1000,
            seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
        ),
        pod_metadata=m.Metadata(labels=pod_labels),
        volumes=[
            m.Volume(name="scratch", empty_dir=m.EmptyDirVolumeSource(size_limit=SCRATCH)),
            *([feature_store.volume()] if options.feature_store_env else []),
        ],
        pod_gc=m.PodGC(strategy="OnPodSuccess"),
        ttl_strategy=m.TTLStrategy(seconds_after_completion=7 * 24 * 3600),
        templates=[
            dag,
            *(
                container_template(
                    p, cl, options.image_ref, _object_name(f"{cache_prefix}-{p.node.name}")
                )
                for p in plans
            ),
        ],
    )


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def compile_pipeline(
    graph: PipelineGraph,
    params: Mapping[str, Any] | None = None,
    options: CompileOptions | None = None,
) -> list[dict[str, Any]]:
    """Argo documents for ``graph``: ``[Workflow]``, or ``[WorkflowTemplate, CronWorkflow]``."""
    options = options or CompileOptions()
    values = resolve_params(graph, params or {})
    cl = cloud(options.cloud)
    plans = plan_steps(graph, values, options)
    labels = _labels(graph, values, options)
    annotations = {
        "mlplatform.io/compiled-by": f"mlplatform {__version__}",
        "mlplatform.io/environment": environment_fingerprint(options.lock_file)["lock"],
    }
    spec = _workflow_spec(graph, plans, cl, labels, options)
    name = _object_name(graph.name, CRON_NAME_MAX)
    if not options.schedule:
        meta = m.ObjectMeta(
            generate_name=f"{name}-",
            namespace=options.namespace,
            labels=labels,
            annotations=annotations,
        )
        return [
            _dump(m.Workflow(api_version=API_VERSION, kind="Workflow", metadata=meta, spec=spec))
        ]
    meta = m.ObjectMeta(
        name=name, namespace=options.namespace, labels=labels, annotations=annotations
    )
    template = m.WorkflowTemplate(
        api_version=API_VERSION, kind="WorkflowTemplate", metadata=meta, spec=spec
    )
    cron = m.CronWorkflow(
        api_version=API_VERSION,
        kind="CronWorkflow",
        metadata=meta,
        spec=m.CronWorkflowSpec(
            schedules=[options.schedule],
            timezone=options.timezone,
            concurrency_policy="Forbid",
            workflow_metadata=m.ObjectMeta(labels=labels),
            workflow_spec=m.WorkflowSpec(workflow_template_ref=m.WorkflowTemplateRef(name=name)),
        ),
    )
    return [_dump(template), _dump(cron)]


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """YAML for the documents, ``---``-separated, byte-identical for equal input."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: ~10x faster, same output
    return yaml.dump_all(
        documents, Dumper=dumper, sort_keys=False, default_flow_style=False, width=4096
    )
