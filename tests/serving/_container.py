"""The container entrypoint (``python -m mlplatform.serving``) as a real process, as a pod runs
it: started on a free loopback port, waited for until the model is ready, stopped with
SIGTERM, and its exit status checked."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving_process(
    model: str, args: list[str], env: Mapping[str, str], *, exit_code: int
) -> Iterator[str]:
    """``python -m mlplatform.serving --port PORT ARGS`` until ``model`` is ready; its URL.
    It gets SIGTERM at the end and must exit with ``exit_code``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlplatform.serving", "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/v2/models/{model}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    if proc.poll() is not None:
        pytest.fail(f"the model server exited:\n{proc.communicate()[0][-3000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert proc.returncode == exit_code, output[-3000:]
