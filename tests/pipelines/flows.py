"""Pipelines the executor tests run.

A real module (not test-local functions) so that the launcher subprocess can load it from its
file. Only stdlib and numpy are imported, to keep each step process quick to start.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from mlplatform import Retries, log_metrics, pipeline, step


@step
def source(n: int) -> list:
    return list(range(n))


@step
def square(xs: list) -> np.ndarray:
    return np.asarray(xs, dtype=np.int64) ** 2


@step
def total(arr: np.ndarray) -> int:
    return int(arr.sum())


@step(outputs=("count", "stats"))
def describe(arr: np.ndarray) -> tuple[int, dict]:
    log_metrics({"count": len(arr)})
    return len(arr), {"max": int(arr.max()), "min": int(arr.min())}


@pipeline(name="squares")
def squares(n: int = 5) -> None:
    total(square(source(n)))


@pipeline(name="described")
def described(n: int = 4) -> None:
    count, _ = describe(square(source(n)))
    report(count)


# ---- a failing branch beside an independent one ------------------------------------------


@step
def fragile(xs: list, fail: bool = False) -> int:
    if fail:
        raise ValueError(f"bad batch of {len(xs)} rows")
    return len(xs)


@step
def report(rows: int) -> dict:
    return {"rows": rows}


@pipeline(name="branches")
def branches(n: int = 4, fail: bool = False) -> None:
    xs = source(n)
    report(fragile(xs, fail))
    total(square(xs))


# ---- retries -------------------------------------------------------------------------------


def _fail_until(counter: str, failures: int) -> int:
    """Count calls in ``counter``; raise for the first ``failures`` of them."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= failures:
        raise ConnectionError(f"transient failure {calls}")
    return calls


@step(retries=Retries(count=2, backoff=0.01))
def flaky(counter: str, failures: int) -> int:
    return _fail_until(counter, failures)


@step(retries=Retries(count=1, backoff=0.01))
def flaky_once(counter: str, failures: int) -> int:
    return _fail_until(counter, failures)


@pipeline(name="flaky")
def flaky_flow(counter: str = "", failures: int = 2) -> None:
    flaky(counter, failures)


@pipeline(name="flaky-once")
def flaky_once_flow(counter: str = "", failures: int = 2) -> None:
    flaky_once(counter, failures)


# ---- parallel branches ---------------------------------------------------------------------


@step
def nap(seconds: float, label: str) -> dict:
    start = time.time()
    time.sleep(seconds)
    return {"label": label, "start": start, "end": time.time()}


@pipeline(name="naps")
def naps(seconds: float = 0.3) -> None:
    nap(seconds, "a")
    nap(seconds, "b")


# ---- a step killed by SIGKILL while its output is being stored ----------------------------

# Crash points: the Python functions, the C calls they make, and the store key being written
# (empty: any) at which the step process kills itself.
CRASH_POINTS: dict[str, tuple[tuple[str, ...], tuple[Any, ...], str]] = {
    # the object's temporary file exists but the bytes are still being copied into it
    # (shutil.copyfile's fast copy on Linux)
    "object-copy": (
        ("_fastcopy_sendfile", "_fastcopy_copy_file_range"),
        (getattr(os, "sendfile", None), getattr(os, "copy_file_range", None)),
        "",
    ),
    # the object's temporary file is complete (and synced) but not yet renamed to its digest
    "object-rename": (("atomic_path",), (os.replace,), "objects/"),
    # the object is stored, the cache entry's temporary file is not yet renamed into place
    "cache-entry-rename": (("atomic_path",), (os.replace,), "cache/"),
}


def _store_key(frame: FrameType | None) -> str:
    """The store key being written: the nearest ``key`` local up the stack."""
    while frame is not None and "key" not in frame.f_locals:
        frame = frame.f_back
    return "" if frame is None else str(frame.f_locals["key"])


def _die_at(point: str) -> None:
    """SIGKILL this process when it reaches ``point`` (observed with a profile hook)."""
    functions, calls, key_prefix = CRASH_POINTS[point]

    def hook(frame: FrameType, event: str, arg: object) -> None:
        at_call = event == "c_call" and frame.f_code.co_name in functions and arg in calls
        if at_call and _store_key(frame).startswith(key_prefix):
            os.kill(os.getpid(), signal.SIGKILL)

    sys.setprofile(hook)


@step
def expand(xs: list, crash_marker: str = "") -> np.ndarray:
    """A ~1 MB output. While ``crash_marker`` exists, the process dies where it names."""
    marker = Path(crash_marker) if crash_marker else None
    if marker is not None and marker.exists():
        _die_at(marker.read_text().strip())
    return np.repeat(np.asarray(xs, dtype=np.float64), 25_000)


@step
def mean(arr: np.ndarray) -> float:
    return float(arr.mean())


@pipeline(name="crashy")
def crashy(n: int = 5, crash_marker: str = "") -> None:
    xs = source(n)
    mean(expand(xs, crash_marker))
    total(square(xs))
