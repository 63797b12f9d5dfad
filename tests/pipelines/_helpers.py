"""Helpers of the pipeline tests that start processes: a command, or a pod's container."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def environ_without(*prefixes: str) -> dict[str, str]:
    """This process's environment, less the variables that start with ``prefixes``."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_process(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``argv`` in a process of its own, its output captured as text; its exit status is the
    caller's to check."""
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_container(
    container: Mapping[str, Any],
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """A pod's container as a local process: its command (``python ...``, with this
    interpreter) and ``args``, as Argo would start it."""
    return run_process([sys.executable, *container["command"][1:], *args], cwd, env, timeout)
