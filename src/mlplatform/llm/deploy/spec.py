"""What ``mlp deploy llm`` renders from: the model, where and how it runs, and the checks that
refuse what KServe v0.20, the governance policies or the GPU would refuse.

The capacity check runs here, before anything is rendered: ``resolve_pool`` picks the GPU
pool (or takes the one asked for) and ``mlplatform.llm.capacity.check`` raises
``CapacityError`` when the weights and the KV cache do not fit its card.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from mlplatform.errors import DeployError
from mlplatform.governance.check import VersionFacts, refused
from mlplatform.llm import capacity
from mlplatform.llm.catalog import CatalogModel
from mlplatform.llm.gpus import POOLS, GpuPool, serving_dtype
from mlplatform.serving.deploy import governed
from mlplatform.serving.deploy.clouds import cloud
from mlplatform.serving.deploy.render import PROMETHEUS, Resources, service_name
from mlplatform.serving.deploy.storage import storage_uri

__all__ = [
    "KINDS",
    "LLM_RESOURCES",
    "LlmCanary",
    "LlmDeployOptions",
    "LlmDeploySpec",
    "check",
    "dtype",
    "model_uri",
    "resolve_pool",
]

KINDS = ("llminferenceservice", "inferenceservice")
STAGES = ("development", "staging", "production")
# KServe names the LLMInferenceService's Service "<name>-kserve-workload-svc" (20 characters
# more; a longer one is hashed, and the route would name a Service that does not exist), and a
# canary's workload is "<name>-v<version>": 43 characters keep both within a DNS label.
MAX_NAME = 43
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
        min_replicas: fewest replicas of each version. At least one on an
            LLMInferenceService (KServe v0.20); 0 on an InferenceService scales to zero
            behind the KEDA HTTP add-on (``scaling``).
        max_replicas: most replicas; default: ``min_replicas`` (fixed, at least one). Above
            the minimum only on an InferenceService (KEDA scales it on vLLM's queue and KV
            cache); an LLMInferenceService scales only through the Workload Variant
            Autoscaler, which the platform does not install.
        pool: a GPU pool of ``mlplatform.llm.gpus.POOLS[cloud]``; default: the one
            ``capacity.pick_pool`` picks.
        name: the deployment's name; default: from the registered model's name.
        image: the vLLM image; default: the one KServe's config or runtime names.
        gateway_name, gateway_namespace: the platform Gateway the OpenAI endpoint is on.
        hostname: the endpoint's host, a template of ``{name}`` (``llm``) and ``{namespace}``
            (``deploy.hostname``); default: ``llm-<namespace>.example.com``.
        answer_timeout_s: how long the Gateway waits for a whole answer (long generations).
        wake_timeout_s: how long the KEDA interceptor holds a request while the model wakes
            from zero (pull the image, download and load the weights).
        scaledown_period_s: idle seconds before KEDA scales to zero (or down).
        target_waiting: requests waiting in vLLM's queue per replica before KEDA adds one.
        target_kv_cache: mean KV-cache usage (0..1) above which KEDA adds a replica.
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
    min_replicas: int = 1
    max_replicas: int | None = None
    pool: str | None = None
    name: str | None = None
    image: str | None = None
    resources: Resources = field(default_factory=lambda: LLM_RESOURCES)
    gateway_name: str = "platform"
    gateway_namespace: str = "mlplatform-system"
    hostname: str | None = None
    keda_namespace: str = "keda"
    prometheus_url: str = PROMETHEUS
    answer_timeout_s: int = 300
    wake_timeout_s: int = 600
    scaledown_period_s: int = 900
    target_waiting: int = 4
    target_kv_cache: float = 0.8

    @property
    def most_replicas(self) -> int:
        """``max_replicas``, or the minimum (at least one) when it is not set."""
        return self.max_replicas if self.max_replicas is not None else max(self.min_replicas, 1)


@dataclass(frozen=True)
class LlmCanary:
    """Another registered version of the same LLM, served beside the primary.

    Attributes:
        model: its figures and weights URI (its served name is the primary's: one route rule
            matches one name).
        version: its registry version.
        percent: its share of the served name's requests, a whole 1..99.
        alias: the alias it was resolved from (``--canary challenger=10``).
        run_id, experiment_id: the MLflow run that registered it.
        facts: its governance facts from the registry (``facts_from_version``).
    """

    model: CatalogModel
    version: int
    percent: int
    alias: str = ""
    run_id: str = ""
    experiment_id: str = ""
    facts: VersionFacts | None = None


@dataclass(frozen=True)
class LlmDeploySpec:
    """A registered LLM version, how to serve it, and its canaries.

    Made from a model identity (``model``: weights URI, served name, shape; ``registered``,
    ``version``, ``alias``, ``run_id``), from the registry (``identity.from_registered``) or
    the catalog (a catalog key is a model with no run).

    Attributes:
        model: the figures that size it (``mlplatform.llm.catalog``), its URI and served name.
        options: where and how it runs.
        registered: its name in the registry; default: the catalog key.
        version: the registry version.
        alias: the alias it was resolved from, for annotations.
        run_id: the MLflow run that registered it (the InferenceService form needs one: the
            model-lineage policy refuses an InferenceService without it).
        experiment_id: that run's experiment.
        canaries: other versions sharing the served name's traffic by weight.
        variant: empty for the primary; ``v<version>`` for a canary's own workload
            (``variants``).
        facts: the version's governance facts from the registry (semver, owner, author,
            approvals); None for a catalog key, which production refuses.
    """

    model: CatalogModel
    options: LlmDeployOptions
    registered: str = ""
    version: int = 1
    alias: str = ""
    run_id: str = ""
    experiment_id: str = ""
    canaries: tuple[LlmCanary, ...] = ()
    variant: str = ""
    facts: VersionFacts | None = None

    @property
    def name(self) -> str:
        """The deployment's name: its route, PodMonitor and scalers, and the label
        ``mlp undeploy llm`` finds every object of it by."""
        return self.options.name or service_name(self.model_name)

    @property
    def workload_name(self) -> str:
        """The name of this version's LLMInferenceService or InferenceService."""
        return f"{self.name}-{self.variant}" if self.variant else self.name

    @property
    def model_name(self) -> str:
        return self.registered or self.model.key

    @property
    def max_model_len(self) -> int:
        return self.options.max_model_len or self.model.context_length

    @property
    def served_name(self) -> str:
        """The name clients put in the request body's ``model`` field."""
        return self.model.served_name

    def variants(self) -> list[LlmDeploySpec]:
        """The primary, then one spec per canary: each renders its own workload, served
        under the primary's name (``workload_name`` is ``<name>-v<version>``)."""
        primary = dataclasses.replace(self, canaries=())
        return [primary, *(self._canary(c) for c in self.canaries)]

    def _canary(self, c: LlmCanary) -> LlmDeploySpec:
        return dataclasses.replace(
            self,
            model=dataclasses.replace(c.model, served_name=self.served_name),
            version=c.version,
            alias=c.alias,
            run_id=c.run_id,
            experiment_id=c.experiment_id,
            canaries=(),
            variant=f"v{c.version}",
            facts=c.facts,
        )


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
    _check_governance(spec)
    _check_name(spec.workload_name)
    _check_numbers(spec)
    _check_replicas(o)
    _check_canaries(spec)
    if o.kind == "inferenceservice" and not (_RUN_ID.match(spec.run_id) and spec.experiment_id):
        raise DeployError(
            f"version {spec.version} of {spec.model_name!r} has no MLflow run "
            f"(run id {spec.run_id!r}): the model-lineage policy refuses its InferenceService",
            "Deploy a version registered from a run, or pass --kind llminferenceservice.",
        )
    model_uri(spec.model.uri, o.cloud, o.kind)
    return resolve_pool(spec)


def _check_governance(spec: LlmDeploySpec) -> None:
    """Production serves only versions that meet the production rules (the registry's
    approval included), canaries too; a catalog key has no registry facts and is refused."""
    facts = [spec.facts or governed.unknown_version(spec.model_name)]
    facts += [c.facts or governed.unknown_version(spec.model_name) for c in spec.canaries]
    found = governed.violations(spec.options.stage, facts, None)
    if found:
        raise refused(f"deploy {spec.model_name} to production", found)


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


def _check_replicas(o: LlmDeployOptions) -> None:
    """What each kind can scale: see ``mlplatform.llm.deploy.scaling``."""
    if o.kind == "llminferenceservice" and o.min_replicas < 1:
        raise DeployError(
            f"--min-replicas {o.min_replicas}: KServe v0.20 runs at least one replica of an "
            "LLMInferenceService (it cannot scale to zero)",
            "Pass --min-replicas 1 or more, or --kind inferenceservice to scale to zero "
            "behind the KEDA HTTP add-on.",
        )
    if o.kind == "llminferenceservice" and o.most_replicas != o.min_replicas:
        raise DeployError(
            f"--max-replicas {o.most_replicas}: KServe v0.20 autoscales an "
            "LLMInferenceService only through the Workload Variant Autoscaler "
            "(spec.scaling.wva), which the platform does not install",
            f"Pass --max-replicas {o.min_replicas} (a fixed count), or --kind "
            "inferenceservice to scale with KEDA on vLLM's queue and KV cache.",
        )
    if o.min_replicas < 0 or o.most_replicas < max(o.min_replicas, 1):
        raise DeployError(
            f"replicas {o.min_replicas}..{o.most_replicas} is not a range of at least one",
            "Pass --min-replicas 0 or more and --max-replicas at least 1 and at least "
            "--min-replicas.",
        )


def _check_canaries(spec: LlmDeploySpec) -> None:
    total = sum(c.percent for c in spec.canaries)
    for c in spec.canaries:
        if not 1 <= c.percent <= 99:
            raise DeployError(
                f"canary version {c.version} takes {c.percent} %", "Pass --canary ALIAS=1..99."
            )
        if c.version == spec.version:
            raise DeployError(
                f"the canary {c.alias or c.version} is version {c.version}, the primary itself",
                "Pass --canary with an alias of another version, or no --canary.",
            )
    versions = [c.version for c in spec.canaries]
    if len(set(versions)) != len(versions) or total > 99:
        raise DeployError(
            f"the canaries (versions {versions}) take {total} % of the traffic or name one "
            "version twice",
            "Give each version once and leave the primary some traffic: 99 % at most in all.",
        )
    if spec.canaries and spec.options.min_replicas == 0:
        raise DeployError(
            "canaries cannot scale to zero: the KEDA interceptor holds requests for one "
            "workload per served name, so a split between two sleeping versions is not woken",
            "Pass --min-replicas 1 to deploy with --canary, or deploy without --canary to "
            "scale to zero.",
        )


def _check_numbers(spec: LlmDeploySpec) -> None:
    o = spec.options
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
