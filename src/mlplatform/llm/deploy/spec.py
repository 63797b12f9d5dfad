"""What ``mlp deploy llm`` renders from: the model, where and how it runs, and the checks that
refuse what KServe v0.20, the governance policies or the GPU would refuse.

The capacity check runs here, before anything is rendered: ``resolve_pool`` picks the GPU
pool (or takes the one asked for) and ``mlplatform.llm.capacity.check`` raises
``CapacityError`` when the weights and the KV cache do not fit its card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlplatform.errors import DeployError
from mlplatform.llm import capacity
from mlplatform.llm.catalog import CatalogModel
from mlplatform.llm.gpus import POOLS, GpuPool, serving_dtype
from mlplatform.serving.deploy.clouds import cloud
from mlplatform.serving.deploy.render import Resources, service_name
from mlplatform.serving.deploy.storage import storage_uri

__all__ = [
    "KINDS",
    "LLM_RESOURCES",
    "LlmDeployOptions",
    "LlmDeploySpec",
    "check",
    "dtype",
    "model_uri",
    "resolve_pool",
]

KINDS = ("llminferenceservice", "inferenceservice")
STAGES = ("development", "staging", "production")
MAX_NAME = 45  # "<name>-predictor" (InferenceService) stays a 63-character DNS label
# What vLLM needs beside the GPU: CPU for the API server and tokenizer, host memory to load
# the weights. Fits the allocatable of every GPU node in infrastructure/terraform/node-pools.json
# (the smallest: GKE's n1-standard-4 + T4, 3920m and 12.4Gi).
LLM_RESOURCES = Resources(
    cpu_request="3", cpu_limit="3500m", memory_request="10Gi", memory_limit="12Gi"
)
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_HF = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)@(?P<revision>[0-9a-f]{40})$")
# LLMInferenceService v0.20 downloads from these schemes only (workload_storage.go); the
# InferenceService's storage initializer also reads gs:// and Azure Blob.
_LLMISVC_SCHEMES = ("hf", "s3", "pvc", "oci")


@dataclass(frozen=True)
class LlmDeployOptions:
    """Where and how the model runs.

    Attributes:
        cloud: aws, azure or gcp.
        kind: ``llminferenceservice`` (KServe's generative path) or ``inferenceservice``
            (KServe's vLLM runtime, ``modelFormat: vLLM``).
        max_model_len: vLLM's ``--max-model-len``; default: the model's context length.
        concurrency: sequences of ``max_model_len`` tokens the KV cache must hold at once.
        gpu_memory_utilization: vLLM's ``--gpu-memory-utilization``.
        dtype: vLLM's ``--dtype``; default: the checkpoint's, as the GPU can run it.
        gpus: GPUs per replica (tensor parallelism when more than one).
        replicas: at least one: KServe v0.20's LLMInferenceService cannot scale to zero.
        pool: a GPU pool of ``mlplatform.llm.gpus.POOLS[cloud]``; default: the one
            ``capacity.pick_pool`` picks.
        name: the object's name; default: from the registered model's name.
        image: the vLLM image; default: the one KServe's config or runtime names.
    """

    cloud: str
    kind: str = "llminferenceservice"
    namespace: str = "kserve"
    owner: str = "mlplatform"
    stage: str = "staging"
    service_account: str = "kserve-storage"
    max_model_len: int | None = None
    concurrency: int = 1
    gpu_memory_utilization: float = 0.9
    dtype: str | None = None
    gpus: int = 1
    replicas: int = 1
    pool: str | None = None
    name: str | None = None
    image: str | None = None
    resources: Resources = field(default_factory=lambda: LLM_RESOURCES)


@dataclass(frozen=True)
class LlmDeploySpec:
    """A registered LLM version and how to serve it.

    Attributes:
        model: the figures that size it (``mlplatform.llm.catalog``), its URI and served name.
        options: where and how it runs.
        registered: its name in the registry; default: the catalog key.
        version: the registry version.
        alias: the alias it was resolved from, for annotations.
        run_id: the MLflow run that registered it (the InferenceService form needs one: the
            model-lineage policy refuses an InferenceService without it).
        experiment_id: that run's experiment.
    """

    model: CatalogModel
    options: LlmDeployOptions
    registered: str = ""
    version: int = 1
    alias: str = ""
    run_id: str = ""
    experiment_id: str = ""

    @property
    def name(self) -> str:
        return self.options.name or service_name(self.model_name)

    @property
    def model_name(self) -> str:
        return self.registered or self.model.key

    @property
    def max_model_len(self) -> int:
        return self.options.max_model_len or self.model.context_length


def check(spec: LlmDeploySpec) -> GpuPool:
    """Refuse what cannot be deployed as asked; the GPU pool it runs on when it can.

    Raises:
        DeployError: an option KServe or the policies would refuse, with the flag that fixes it.
        CapacityError: the model does not fit the pool's GPU (from ``capacity.check``).
    """
    o = spec.options
    cloud(o.cloud)
    _one_of("kind", o.kind, KINDS, "--kind")
    _one_of("stage", o.stage, STAGES, "--stage")
    _check_name(spec.name)
    _check_numbers(spec)
    if o.kind == "inferenceservice" and not (_RUN_ID.match(spec.run_id) and spec.experiment_id):
        raise DeployError(
            f"version {spec.version} of {spec.model_name!r} has no MLflow run "
            f"(run id {spec.run_id!r}): the model-lineage policy refuses its InferenceService",
            "Deploy a version registered from a run, or pass --kind llminferenceservice.",
        )
    model_uri(spec.model.uri, o.cloud, o.kind)
    return resolve_pool(spec)


def resolve_pool(spec: LlmDeploySpec) -> GpuPool:
    """The pool asked for, or the one ``capacity.pick_pool`` picks, after the capacity check.

    Raises:
        DeployError: the pool asked for is not one of the cloud's GPU pools.
        CapacityError: the model does not fit its GPU with these options.
    """
    o = spec.options
    if o.pool is not None:
        pool = _named_pool(o)
    elif o.gpus == 1:
        pool = capacity.pick_pool(
            spec.model,
            o.cloud,
            max_model_len=spec.max_model_len,
            concurrency=o.concurrency,
            gpu_memory_utilization=o.gpu_memory_utilization,
        )
    else:
        raise DeployError(
            f"{o.gpus} GPUs per replica need a pool chosen by hand",
            f"Pass --pool {' | '.join(p.name for p in POOLS[o.cloud])} with --gpus.",
        )
    capacity.check(
        spec.model,
        pool.gpu,
        max_model_len=spec.max_model_len,
        concurrency=o.concurrency,
        gpu_memory_utilization=o.gpu_memory_utilization,
        gpus=o.gpus,
    )
    return pool


def _named_pool(o: LlmDeployOptions) -> GpuPool:
    pools = POOLS[o.cloud]
    for pool in pools:
        if pool.name == o.pool:
            return pool
    raise DeployError(
        f"{o.cloud} has no GPU pool {o.pool!r}",
        f"Pass --pool {' | '.join(p.name for p in pools)}, or leave it out.",
    )


def dtype(spec: LlmDeploySpec, pool: GpuPool) -> str:
    """vLLM's ``--dtype``: the one asked for, else the checkpoint's as the pool's GPU runs it."""
    return spec.options.dtype or serving_dtype(spec.model.dtype, pool.gpu)


def model_uri(uri: str, cloud_name: str, kind: str) -> str:
    """The URI KServe downloads the weights from.

    ``hf://org/name@revision`` (the registry's form, revision pinned) becomes KServe's
    ``hf://org/name:revision``; object store URIs go through ``storage_uri`` (``abfs://``
    becomes the ``https://ACCOUNT.blob...`` URL KServe reads on Azure).

    Raises:
        DeployError: an unpinned ``hf://`` URI, a store of another cloud, or a scheme the
            LLMInferenceService of KServe v0.20 cannot download from (gs://, Azure Blob).
    """
    scheme = uri.partition("://")[0].lower()
    if scheme == "hf":
        match = _HF.match(uri)
        if not match:
            raise DeployError(
                f"{uri} is not pinned to a revision",
                "Register the model as hf://ORG/NAME@REVISION with the 40-hex commit.",
            )
        return f"hf://{match['repo']}:{match['revision']}"
    mapped = storage_uri(uri, cloud_name)
    if kind == "llminferenceservice" and mapped.partition("://")[0] not in _LLMISVC_SCHEMES:
        raise DeployError(
            f"KServe v0.20's LLMInferenceService cannot download {mapped}",
            "Pass --kind inferenceservice (its storage initializer reads gs:// and Azure "
            "Blob), or register the weights at an hf:// or s3:// URI.",
        )
    return mapped


def _one_of(what: str, value: str, allowed: tuple[str, ...], flag: str) -> None:
    if value not in allowed:
        raise DeployError(f"unknown {what} {value!r}", f"Pass {flag} {' | '.join(allowed)}.")


def _check_name(name: str) -> None:
    if not _DNS_LABEL.match(name) or len(name) > MAX_NAME:
        raise DeployError(
            f"{name!r} cannot name a KServe service",
            f"Pass --name with lowercase letters, digits and '-', at most {MAX_NAME} "
            "characters, starting with a letter.",
        )


def _check_numbers(spec: LlmDeploySpec) -> None:
    o = spec.options
    if o.replicas < 1:
        raise DeployError(
            f"{o.replicas} replicas: KServe v0.20 runs at least one replica of an LLM",
            "Pass --replicas 1 or more.",
        )
    if o.gpus < 1:
        raise DeployError(f"{o.gpus} GPUs per replica", "Pass --gpus 1 or more.")
    if not 0 < o.gpu_memory_utilization <= 1:
        raise DeployError(
            f"--gpu-memory-utilization {o.gpu_memory_utilization} is not a fraction",
            "Pass a value above 0 and at most 1, such as 0.9.",
        )
    if spec.max_model_len > spec.model.context_length or spec.max_model_len < 1:
        raise DeployError(
            f"--max-model-len {spec.max_model_len} is outside 1..{spec.model.context_length}, "
            f"the context of {spec.model_name!r}",
            f"Pass --max-model-len {spec.model.context_length} or less.",
        )
