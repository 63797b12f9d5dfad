"""Capacity check: does an LLM fit a GPU for a given context length and concurrency?

vLLM claims ``memory * --gpu-memory-utilization`` of each GPU. Out of it come the weights,
a reserve for everything that is neither weights nor KV cache, and the KV cache, which vLLM
carves from what is left at start-up. A server is useful when that KV cache holds
``concurrency`` sequences of ``max_model_len`` tokens; vLLM itself refuses to start when it
cannot hold even one (``max_model_len`` tokens).

- Weights: ``parameters * bytes per weight`` (2 for float16/bfloat16).
- KV cache: ``2 (K and V) * layers * KV heads * head dim * bytes per element * tokens``,
  ``tokens = max_model_len * concurrency``. This is how vLLM sizes a full-attention layer's
  cache page (``AttentionSpec.page_size_bytes``); vLLM allocates in blocks of 16 tokens, a
  rounding this check ignores.
- Reserve: ``RESERVE_GIB`` per GPU, an estimate, not a measurement: at start-up vLLM runs a
  profiling forward pass and counts its activation peak, the memory PyTorch does not own
  (the CUDA context, NCCL and cuBLAS workspaces) and, unless ``--enforce-eager``, the CUDA
  graphs it captures, before sizing the KV cache. Each is a few hundred MiB for 1B-7B
  models at vLLM's default batched-token budget; 1.5 GiB covers the three with a margin.
  Measure it on the target card (vLLM logs "Available KV cache memory") before trusting a
  fit within a GiB.

With ``gpus`` > 1 (tensor parallelism) the weights and the KV cache are split across the
GPUs and each GPU keeps its own reserve; the figures in the report are totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlplatform.errors import CapacityError, ConfigError
from mlplatform.llm.catalog import CatalogModel
from mlplatform.llm.gpus import GPU_TYPES, POOLS, GpuPool, GpuType

__all__ = [
    "GIB",
    "RESERVE_GIB",
    "CapacityReport",
    "check",
    "kv_cache_bytes",
    "largest_max_model_len",
    "pick_pool",
    "weights_bytes",
]

GIB = 1024**3
RESERVE_GIB = 1.5
_BIGGER = 1.05  # a class counts as bigger with 5 % more memory (L4 vs A10G does not)
_LEN_STEP = 256  # suggested --max-model-len values are whole multiples of this


@dataclass(frozen=True)
class CapacityReport:
    """The memory a model needs on a GPU class against what vLLM may use there (GiB)."""

    model: str
    gpu: str
    gpus: int
    max_model_len: int
    concurrency: int
    gpu_memory_utilization: float
    weights_gib: float
    kv_cache_gib: float
    reserve_gib: float
    needed_gib: float
    available_gib: float
    fits: bool

    def explain(self) -> str:
        """The arithmetic, one line per term, for the CLI and the error message."""
        verdict = "fits" if self.fits else "does not fit"
        cards = f"{self.gpus} x {self.gpu}" if self.gpus > 1 else self.gpu
        return "\n".join(
            [
                f"{self.model} on {cards}: {verdict}",
                f"  weights        {self.weights_gib:8.2f} GiB",
                f"  KV cache       {self.kv_cache_gib:8.2f} GiB "
                f"({self.max_model_len} tokens x {self.concurrency} sequences)",
                f"  reserve        {self.reserve_gib:8.2f} GiB (estimate: activations, "
                "CUDA graphs, CUDA context)",
                f"  needed         {self.needed_gib:8.2f} GiB",
                f"  available      {self.available_gib:8.2f} GiB "
                f"(GPU memory x {self.gpu_memory_utilization:g})",
            ]
        )


def weights_bytes(model: CatalogModel) -> int:
    """Bytes of the model's weights in its checkpoint dtype."""
    return model.parameters * model.dtype_bytes


def kv_cache_bytes(
    model: CatalogModel, max_model_len: int, concurrency: int, dtype_bytes: int | None = None
) -> int:
    """Bytes of KV cache for ``concurrency`` sequences of ``max_model_len`` tokens.

    ``dtype_bytes`` defaults to the model's dtype (vLLM's ``--kv-cache-dtype auto``); pass 1
    for an fp8 KV cache.
    """
    per_element = model.dtype_bytes if dtype_bytes is None else dtype_bytes
    per_token = 2 * model.num_layers * model.num_kv_heads * model.head_dim * per_element
    return per_token * max_model_len * concurrency


def check(
    model: CatalogModel,
    gpu: GpuType,
    *,
    max_model_len: int,
    concurrency: int,
    gpu_memory_utilization: float = 0.9,
    gpus: int = 1,
    reserve_gib: float = RESERVE_GIB,
) -> CapacityReport:
    """Check that ``model`` fits ``gpus`` cards of ``gpu`` as asked.

    Returns:
        The report (``fits`` is True).

    Raises:
        CapacityError: it does not fit; the message has the numbers and what to change.
        ConfigError: an argument is out of range (a length past the model's context, ...).
    """
    report = _report(
        model, gpu, max_model_len, concurrency, gpu_memory_utilization, gpus, reserve_gib
    )
    if not report.fits:
        raise CapacityError(
            f"{model.key} does not fit {gpu.name}: it needs {report.needed_gib:.2f} GiB, "
            f"{report.available_gib:.2f} GiB are available "
            f"(--max-model-len {max_model_len}, {concurrency} concurrent sequences).",
            _advice(model, gpu, report),
            details=report.explain(),
        )
    return report


def largest_max_model_len(
    model: CatalogModel,
    gpu: GpuType,
    *,
    concurrency: int,
    gpu_memory_utilization: float = 0.9,
    gpus: int = 1,
    reserve_gib: float = RESERVE_GIB,
) -> int:
    """The largest ``--max-model-len`` (a multiple of 256, at most the model's context) for
    which ``concurrency`` sequences fit; 0 when not even 256 tokens do."""
    kv_budget = (
        gpu.memory_gib * gpu_memory_utilization - reserve_gib
    ) * gpus * GIB - weights_bytes(model)
    per_token = kv_cache_bytes(model, 1, 1)
    tokens = int(kv_budget // per_token) // concurrency if kv_budget > 0 else 0
    return min(tokens // _LEN_STEP * _LEN_STEP, model.context_length)


def pick_pool(
    model: CatalogModel,
    cloud: str,
    *,
    max_model_len: int,
    concurrency: int,
    gpu_memory_utilization: float = 0.9,
) -> GpuPool:
    """The pool of ``cloud`` with the least GPU memory that fits ``model`` as asked.

    Raises:
        CapacityError: no pool of that cloud fits; the message is the largest pool's.
        ConfigError: unknown cloud.
    """
    if cloud not in POOLS:
        raise ConfigError(f"Unknown cloud {cloud!r}.", f"Use one of: {', '.join(POOLS)}.")
    pools = sorted(POOLS[cloud], key=lambda pool: pool.gpu.memory_gib)
    for pool in pools:
        report = _report(model, pool.gpu, max_model_len, concurrency, gpu_memory_utilization, 1)
        if report.fits:
            return pool
    largest = pools[-1]
    try:
        check(
            model,
            largest.gpu,
            max_model_len=max_model_len,
            concurrency=concurrency,
            gpu_memory_utilization=gpu_memory_utilization,
        )
    except CapacityError as exc:
        raise CapacityError(
            f"No GPU pool on {cloud} fits {model.key} as asked; the largest, "
            f"{largest.name}: {exc.headline}",
            exc.hint,
            details=exc.details,
        ) from None
    raise AssertionError("unreachable: the largest pool did not fit a moment ago")


def _report(
    model: CatalogModel,
    gpu: GpuType,
    max_model_len: int,
    concurrency: int,
    gpu_memory_utilization: float,
    gpus: int,
    reserve_gib: float = RESERVE_GIB,
) -> CapacityReport:
    _validate(model, max_model_len, concurrency, gpu_memory_utilization, gpus)
    weights = weights_bytes(model) / GIB
    kv_cache = kv_cache_bytes(model, max_model_len, concurrency) / GIB
    reserve = reserve_gib * gpus
    needed = weights + kv_cache + reserve
    available = gpu.memory_gib * gpu_memory_utilization * gpus
    return CapacityReport(
        model=model.key,
        gpu=gpu.name,
        gpus=gpus,
        max_model_len=max_model_len,
        concurrency=concurrency,
        gpu_memory_utilization=gpu_memory_utilization,
        weights_gib=weights,
        kv_cache_gib=kv_cache,
        reserve_gib=reserve,
        needed_gib=needed,
        available_gib=available,
        fits=needed <= available,
    )


def _validate(
    model: CatalogModel,
    max_model_len: int,
    concurrency: int,
    gpu_memory_utilization: float,
    gpus: int,
) -> None:
    if not 1 <= max_model_len <= model.context_length:
        raise ConfigError(
            f"--max-model-len {max_model_len} is outside 1..{model.context_length}, "
            f"the context length of {model.key}.",
            f"Pass a --max-model-len of at most {model.context_length}.",
        )
    if concurrency < 1 or gpus < 1:
        raise ConfigError(
            f"Concurrency ({concurrency}) and GPU count ({gpus}) must be at least 1.",
            "Pass whole numbers of 1 or more.",
        )
    if not 0 < gpu_memory_utilization <= 1:
        raise ConfigError(
            f"--gpu-memory-utilization {gpu_memory_utilization} is not in (0, 1].",
            "Pass a fraction such as 0.9 (vLLM's default).",
        )


def _advice(model: CatalogModel, gpu: GpuType, report: CapacityReport) -> str:
    """What to change, each option checked against the same arithmetic."""
    options = _options_on(model, gpu, report)
    options.extend(_bigger_classes(model, gpu, report))
    if not options:
        return (
            f"The weights alone ({report.weights_gib:.2f} GiB) leave no room on {gpu.name}: "
            "use more GPUs (tensor parallelism) or a quantized checkpoint."
        )
    return "Any of: " + "; ".join(options) + "."


def _options_on(model: CatalogModel, gpu: GpuType, report: CapacityReport) -> list[str]:
    """A shorter context, or fewer sequences, on the same GPU class."""
    reserve = report.reserve_gib / report.gpus
    util, gpus, concurrency = report.gpu_memory_utilization, report.gpus, report.concurrency
    options = []
    length = largest_max_model_len(
        model,
        gpu,
        concurrency=concurrency,
        gpu_memory_utilization=util,
        gpus=gpus,
        reserve_gib=reserve,
    )
    if length:
        options.append(f"on {gpu.name}, --max-model-len {length} with {concurrency} sequences")
    kv_budget = (gpu.memory_gib * util - reserve) * gpus * GIB - weights_bytes(model)
    per_sequence = kv_cache_bytes(model, report.max_model_len, 1)
    fewer = math.floor(kv_budget / per_sequence) if kv_budget > 0 else 0
    if 0 < fewer < concurrency:
        options.append(
            f"on {gpu.name}, {fewer} concurrent sequences at --max-model-len {report.max_model_len}"
        )
    return options


def _bigger_classes(model: CatalogModel, gpu: GpuType, report: CapacityReport) -> list[str]:
    """Bigger GPU classes: those that fit as asked, else the context each one allows."""
    reserve = report.reserve_gib / report.gpus
    util, gpus, concurrency = report.gpu_memory_utilization, report.gpus, report.concurrency
    bigger = sorted(
        (g for g in GPU_TYPES.values() if g.memory_gib > gpu.memory_gib * _BIGGER),
        key=lambda g: (g.memory_gib, g.name),
    )
    as_asked = [
        g.name
        for g in bigger
        if _report(model, g, report.max_model_len, concurrency, util, gpus, reserve).fits
    ]
    if as_asked:
        return [f"a bigger GPU class that fits as asked: {', '.join(as_asked)}"]
    by_length: dict[int, list[str]] = {}
    for g in bigger:
        length = largest_max_model_len(
            model,
            g,
            concurrency=concurrency,
            gpu_memory_utilization=util,
            gpus=gpus,
            reserve_gib=reserve,
        )
        if length:
            by_length.setdefault(length, []).append(g.name)
    return [
        f"on {' or '.join(names)}, --max-model-len {length} with {concurrency} sequences"
        for length, names in sorted(by_length.items(), reverse=True)
    ]
