"""Extra peak memory of a call: the process's peak RSS during it, over its RSS before.

Linux only: the peak (VmHWM) is reset through /proc/self/clear_refs before the call.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def _status(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measured(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """``call()``, its wall time, and the bytes its peak RSS rose above the RSS before it."""
    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    return result, seconds, max(0, _status("VmHWM") - before)
