"""Processes on this machine: start one in its own session with a log, check it, stop it by PID.

A PID alone is not proof: after a reboot or a long time the number can belong to another
program. Every started process is recorded with its kernel start time (``/proc/<pid>/stat``),
and ``alive`` and ``stop`` only act when both match.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "Proc",
    "alive",
    "exit_status",
    "http_status",
    "port_in_use",
    "spawn",
    "start_time",
    "stop",
    "tail",
    "wait_until",
]

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_EXITS: dict[int, int] = {}
_REAPING = threading.Lock()


@dataclass(frozen=True)
class Proc:
    """A started process: its PID and kernel start time (guards against PID reuse)."""

    pid: int
    start_time: int


def start_time(pid: int) -> int | None:
    """The kernel start time of ``pid`` (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # a zombie has exited; only its parent has not reaped it
        return None
    return int(fields[19])


def alive(proc: Proc) -> bool:
    """Whether ``proc`` still runs (and is the process that was started, not a reused PID)."""
    _reap()
    return start_time(proc.pid) == proc.start_time


def _reap() -> None:
    with _REAPING:
        for pid, child in list(_CHILDREN.items()):
            code = child.poll()
            if code is not None:
                _EXITS[pid] = code
                del _CHILDREN[pid]


def exit_status(proc: Proc) -> str | None:
    """How ``proc`` ended, when this process started it: ``exit code 1``, ``killed by SIGKILL``."""
    _reap()
    code = _EXITS.get(proc.pid)
    if code is None:
        return None
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> Proc:
    """Start ``argv`` in a new session (its own process group), output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    run_as = user if user and os.geteuid() == 0 else None
    with log.open("ab") as out:
        out.write(f"\n--- {stamp} start: {shlex.join(argv)}\n".encode())
        out.flush()
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            user=run_as,
            group=run_as,
            extra_groups=[] if run_as else None,
        )
    with _REAPING:
        _CHILDREN[child.pid] = child
    started = start_time(child.pid)
    return Proc(child.pid, started if started is not None else -1)


def stop(proc: Proc, sig: int = signal.SIGTERM, timeout: float = 10.0, group: bool = True) -> str:
    """Stop ``proc``: ``sig`` to it (or its whole group), wait ``timeout``, then SIGKILL the group.

    Returns:
        ``"not running"``, ``"stopped"`` (it exited on ``sig``) or ``"killed"``.
    """
    if not alive(proc):
        return "not running"
    try:
        os.killpg(proc.pid, sig) if group else os.kill(proc.pid, sig)
    except ProcessLookupError:
        return "not running"
    if wait_until(lambda: not alive(proc), timeout):
        _kill_group(proc.pid)  # leftovers of a leader that exited (workers, helpers)
        return "stopped"
    _kill_group(proc.pid)
    wait_until(lambda: not alive(proc), 10.0)
    return "killed"


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (a TIME_WAIT leftover does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET ``url``; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
