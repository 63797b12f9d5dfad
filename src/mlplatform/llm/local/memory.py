"""The local capacity check: will this engine fit the machine's free memory?

On vLLM's CPU build everything lives in RAM: the weights (parameters x bytes of the served
dtype), the KV cache (``VLLM_CPU_KVCACHE_SPACE``, reserved whole at start) and the runtime
(three Python processes with torch loaded). Measured here for the tiny model on vLLM 0.32:
2.0 GiB besides the KV cache (API server 0.6, engine core 0.6, worker 0.8 without its cache);
``RUNTIME_GIB`` is that figure. Refusing before the start saves a minute-long start that
would end in the kernel's OOM killer or vLLM's "not enough memory" error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplatform.errors import CapacityError
from mlplatform.llm.catalog import DTYPE_BYTES

__all__ = ["RUNTIME_GIB", "LocalNeed", "available_gib", "check_local_fit", "local_need"]

RUNTIME_GIB = 2.0
_GIB = 2**30


@dataclass(frozen=True)
class LocalNeed:
    """What one engine needs in RAM, in GiB."""

    served_name: str
    weights_gib: float
    kv_cache_gib: float
    runtime_gib: float = RUNTIME_GIB

    @property
    def total_gib(self) -> float:
        return self.weights_gib + self.kv_cache_gib + self.runtime_gib


def local_need(served_name: str, parameters: int, dtype: str, kv_cache_gib: float) -> LocalNeed:
    """The need of an engine serving ``parameters`` weights as ``dtype``."""
    per_weight = DTYPE_BYTES.get(dtype, 4)  # "auto" or unknown: assume float32, the CPU default
    return LocalNeed(served_name, parameters * per_weight / _GIB, kv_cache_gib)


def available_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """``MemAvailable`` in GiB (None where /proc/meminfo does not exist)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / _GIB
    except OSError:
        return None
    return None


def check_local_fit(needs: list[LocalNeed], available: float | None) -> None:
    """Refuse when the engines, all running at once, would not fit ``available`` GiB.

    Raises:
        CapacityError: with each model's weights, KV cache and runtime, the total, what is
            free, and what to change.
    """
    if available is None or not needs:
        return
    total = sum(need.total_gib for need in needs)
    if total <= available:
        return
    lines = "; ".join(
        f"{n.served_name}: weights {n.weights_gib:.2f} + KV cache {n.kv_cache_gib:g} + "
        f"runtime {n.runtime_gib:g} GiB"
        for n in needs
    )
    smallest = min(needs, key=lambda n: n.total_gib)
    raise CapacityError(
        f"The engines would need {total:.1f} GiB of memory, {available:.1f} GiB is available "
        f"({lines}).",
        "Give each engine less KV cache (--kv-cache-gib 0.5), serve fewer models at once, or "
        f"a smaller dtype (--dtype bfloat16); one engine of {smallest.served_name} alone needs "
        f"{smallest.total_gib:.1f} GiB.",
    )
