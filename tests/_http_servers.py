"""A server command running for a block (stopped by process group), and JSON posts to it that
wait for it to come up."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def background(argv: list[str], cwd: Path, env: Mapping[str, str]) -> Iterator[None]:
    """``argv`` running for the block, then SIGTERM to its process group and a wait."""
    server = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def post(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def post_when_up(url: str, body: Any, timeout_s: float = 120.0) -> Any:
    """``post``, retried while nothing listens yet; an HTTP error answer is raised at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return post(url, body)
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
