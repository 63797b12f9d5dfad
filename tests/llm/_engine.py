"""The real vLLM engine the LLM tests share: the tiny model, served by `mlp llm serve`.

One router (with one engine, started at once) per test run, shared by every xdist worker
(tests/_shared.py) and stopped by PID when the run ends: the issue allows three engine starts
in `make test`, and this is the first. Needs .venv-llm (`make install-llm`); without it the
tests fail and say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from _shared import shared
from mlplatform.llm.local import TINY_SERVED_NAME, build_tiny_model, free_port
from mlplatform.llm.local.venv import llm_python

__all__ = ["LlmEndpoint", "shared_endpoint", "shared_tiny_model"]

MLP = Path(sys.executable).with_name("mlp")
START_TIMEOUT_S = 420.0


@dataclass(frozen=True)
class LlmEndpoint:
    """A running local OpenAI endpoint serving the tiny model as ``model``.

    Attributes:
        url: the router's base URL (``{url}/v1`` for OpenAI clients).
        model: the served name (``tiny-chat``).
        model_dir: the tiny model's checkpoint folder.
        engine_url: the vLLM server itself, behind the router (for direct comparisons).
        home: the folder `mlp llm serve` ran in (its engine logs are under .mlplatform).
    """

    url: str
    model: str
    model_dir: Path
    engine_url: str
    home: Path

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def metrics_url(self) -> str:
        """vLLM's own Prometheus text, through the router."""
        return f"{self.url}/engines/{self.model}/metrics"


def _require_engine() -> Path:
    try:
        return llm_python()
    except Exception as exc:  # LlmEngineError: say how to install, never skip
        raise RuntimeError(
            f"{exc}\nThe LLM tests need vLLM's CPU build: run `make install-llm` "
            "(make test does it)."
        ) from exc


def shared_tiny_model() -> Path:
    """The tiny model's folder, built once per test run."""
    _require_engine()

    def make(folder: Path) -> dict[str, object]:
        return {"path": str(build_tiny_model(folder / "tiny-chat"))}

    return Path(str(shared("tiny-model", make)["path"]))


def shared_endpoint() -> LlmEndpoint:
    """The run's `mlp llm serve` with the tiny model, its engine started and answering."""
    model_dir = shared_tiny_model()

    def make(folder: Path) -> dict[str, object]:
        port = free_port()
        log = (folder / "serve.log").open("ab")
        proc = subprocess.Popen(
            [
                str(MLP),
                "llm",
                "serve",
                f"{TINY_SERVED_NAME}={model_dir}",
                "--port",
                str(port),
                "--preload",
                "--idle-timeout",
                "0",
                "--dtype",
                "float32",
                "--start-timeout",
                str(int(START_TIMEOUT_S)),
            ],
            cwd=folder,
            env={**os.environ, "MLPLATFORM_HOME": str(folder / ".mlplatform")},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        engine_url = _wait_running(url, proc, folder / "serve.log")
        return {"url": url, "engine_url": engine_url, "pgids": [proc.pid]}

    record = shared("llm-endpoint", make)
    home = Path(os.environ["MLPLATFORM_TEST_SHARED"]) / "llm-endpoint"
    return LlmEndpoint(
        url=str(record["url"]),
        model=TINY_SERVED_NAME,
        model_dir=model_dir,
        engine_url=str(record["engine_url"]),
        home=home,
    )


def _wait_running(url: str, proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"`mlp llm serve` exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            rows = httpx.get(f"{url}/status", timeout=2).json()["models"]
            if rows and rows[0]["state"] == "running":
                return str(rows[0]["url"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise RuntimeError(f"`mlp llm serve` did not start its engine:\n{log.read_text()[-3000:]}")
