"""Resources several pytest-xdist workers share: made once per test run, stopped by PID at its end.

The controller (or the only process, without xdist) sets ``MLPLATFORM_TEST_SHARED`` to a fresh
folder in ``pytest_configure`` (tests/conftest.py) before the workers start, so they inherit it.
``shared(name, make)`` returns ``make(folder)``'s record, made by whichever process asks first
(under an exclusive file lock) and read from ``NAME.json`` by the others. A record's ``pgids``
are the process groups to stop when the run ends (``stop_all``, from ``pytest_unconfigure`` of
the controller): an engine started by one worker outlives that worker's tests, not the run.
Only the run that made the folder stops it (``MLPLATFORM_TEST_SHARED_OWNER``): a pytest run
started inside a test inherits the variables and must not stop the outer run's engine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ENV", "OWNER_ENV", "begin_run", "shared", "stop_all"]

ENV = "MLPLATFORM_TEST_SHARED"
OWNER_ENV = "MLPLATFORM_TEST_SHARED_OWNER"  # the pid of the run that made the folder
Record = dict[str, Any]


def begin_run() -> None:
    """Give this test run its shared folder (kept if an outer process already set one: a
    pytest run inside a test shares the outer run's resources and never stops them)."""
    if not os.environ.get(ENV):
        os.environ[ENV] = tempfile.mkdtemp(prefix="mlp-tests-shared-")
        os.environ[OWNER_ENV] = str(os.getpid())


def shared(name: str, make: Callable[[Path], Record]) -> Record:
    """The record of the shared resource ``name``, made by ``make(folder)`` the first time."""
    root = Path(os.environ.get(ENV) or _fail())
    record_path = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # peers wait here while the first one makes it
        if record_path.is_file():
            record: Record = json.loads(record_path.read_text())
            if record.get("error"):
                raise RuntimeError(f"shared resource {name!r} failed earlier: {record['error']}")
            return record
        folder = root / name
        folder.mkdir(exist_ok=True)
        try:
            record = make(folder)
        except BaseException as exc:
            record_path.write_text(json.dumps({"error": repr(exc)[:2000]}))
            raise
        record_path.write_text(json.dumps(record))
        return record


def stop_all() -> None:
    """Stop every shared process group (SIGTERM, then SIGKILL) and remove the folder."""
    raw = os.environ.get(ENV)
    if not raw or not Path(raw).is_dir() or os.environ.get(OWNER_ENV) != str(os.getpid()):
        return  # not this process's folder (a nested pytest run): its owner stops it
    root = Path(raw)
    groups: list[int] = []
    for path in root.glob("*.json"):
        try:
            groups += [int(g) for g in json.loads(path.read_text()).get("pgids", [])]
        except (ValueError, OSError):
            continue
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
        deadline = time.monotonic() + 15
        while sig == signal.SIGTERM and time.monotonic() < deadline and _any_alive(groups):
            time.sleep(0.2)
    shutil.rmtree(root, ignore_errors=True)


def _any_alive(groups: list[int]) -> bool:
    for pgid in groups:
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            continue
    return False


def _fail() -> str:
    raise RuntimeError(f"{ENV} is not set: tests/conftest.py's pytest_configure sets it")
