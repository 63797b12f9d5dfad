"""One vLLM OpenAI server as a child process: start, wait until it answers, stop.

vLLM does the serving (OpenAI API, continuous batching, metrics); this module only runs it:
``python -m vllm.entrypoints.openai.api_server`` with the LLM venv's Python (the ``vllm``
console script of the CPU build looks up the wrong distribution name), in its own process
group so that stopping it stops its engine-core and worker processes too, with its output in
a log file that errors name.

On vLLM's CPU build ``VLLM_CPU_KVCACHE_SPACE`` (GiB) sizes the KV cache; on a CUDA build
``--gpu-memory-utilization`` does, and the variable is ignored.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mlplatform.errors import LlmEngineError
from mlplatform.llm.local.venv import llm_python

__all__ = ["Engine", "EngineSpec", "engine_port", "free_port", "log_tail"]

_STOP_GRACE_S = 10.0
# vLLM binds its port a minute after we pick it (imports, profiling). Picked from the kernel's
# ephemeral range (bind to port 0), it could meanwhile be handed to another program that binds
# at once; engine ports therefore come from below Linux's default ephemeral range (32768-60999).
_ENGINE_PORTS = (20000, 30000)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def engine_port(host: str = "127.0.0.1") -> int:
    """A free port for an engine, outside the ephemeral range other programs draw from."""
    rng = random.SystemRandom()
    for _ in range(100):
        port = rng.randrange(*_ENGINE_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    return free_port(host)


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class EngineSpec:
    """What one vLLM server serves and how.

    Attributes:
        model: a local checkpoint folder, or a Hugging Face repository id (``org/name``).
        served_name: the name clients put in the request's ``model`` field.
        port: where the server listens (on ``host``).
        revision: the Hub commit for a repository id (weights are always pinned).
        dtype: vLLM's ``--dtype`` (``auto``: the checkpoint's).
        max_model_len: vLLM's ``--max-model-len`` (None: the model's context length).
        kv_cache_gib: KV-cache memory on the CPU build (``VLLM_CPU_KVCACHE_SPACE``).
        extra_args: further vLLM flags, passed as given.
    """

    model: str
    served_name: str
    port: int
    host: str = "127.0.0.1"
    revision: str | None = None
    dtype: str = "auto"
    max_model_len: int | None = None
    kv_cache_gib: float = 1.0
    extra_args: tuple[str, ...] = field(default=())

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self, python: Path) -> list[str]:
        """The command line that starts this server."""
        args = [
            str(python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--served-model-name",
            self.served_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--dtype",
            self.dtype,
        ]
        if self.revision:
            args += ["--revision", self.revision]
        if self.max_model_len:
            args += ["--max-model-len", str(self.max_model_len)]
        return [*args, *self.extra_args]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The server's environment: ``base`` (default ours) plus the KV-cache size."""
        env = dict(os.environ if base is None else base)
        env["VLLM_CPU_KVCACHE_SPACE"] = f"{self.kv_cache_gib:g}"
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        if Path(self.model).is_dir():
            env.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs nothing from the Hub
        return env


class Engine:
    """A vLLM server process for one ``EngineSpec``; the log goes to ``log_path``."""

    def __init__(self, spec: EngineSpec, log_path: Path, *, python: Path | None = None) -> None:
        self.spec = spec
        self.log_path = Path(log_path)
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """Whether the server process exists (started and not exited)."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server process (returns at once; ``wait_ready`` waits for it)."""
        if self.running:
            return
        python = self._python or llm_python()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.spec.argv(python),
                env=self.spec.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches the workers
            )
        self.started_at = time.monotonic()

    def answers(self, timeout: float = 1.0) -> bool:
        """Whether ``GET /health`` answers 200 now."""
        try:
            return httpx.get(f"{self.url}/health", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def check_alive(self) -> None:
        """Raise when the process has exited (with the log's tail)."""
        if self._proc is not None and self._proc.poll() is not None:
            raise LlmEngineError(
                f"The vLLM server for {self.spec.served_name!r} exited with status "
                f"{self._proc.returncode} before it answered.",
                f"Read its log: {self.log_path}",
                log=log_tail(self.log_path),
            )

    def wait_ready(
        self,
        timeout: float = 600.0,
        *,
        poll: float = 0.5,
        on_wait: Callable[[float], None] | None = None,
    ) -> float:
        """Wait until the server answers; returns the seconds waited.

        Raises:
            LlmEngineError: the process exited, or it did not answer within ``timeout`` (then
                it is stopped).
        """
        begin = time.monotonic()
        while True:
            self.check_alive()
            if self.answers():
                return time.monotonic() - begin
            waited = time.monotonic() - begin
            if waited > timeout:
                self.stop()
                raise LlmEngineError(
                    f"The vLLM server for {self.spec.served_name!r} did not answer within "
                    f"{timeout:.0f} s; it was stopped.",
                    f"Read its log ({self.log_path}); on a slow machine pass a longer "
                    "--start-timeout.",
                    log=log_tail(self.log_path),
                )
            if on_wait:
                on_wait(waited)
            time.sleep(poll)

    def stop(self, grace: float = _STOP_GRACE_S) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
        _signal_group(proc.pid, signal.SIGKILL)  # workers that outlived the server

    def memory_bytes(self) -> int:
        """Resident memory of the server and its workers (its process group), from /proc."""
        if not self.running or self.pid is None:
            return 0
        return _group_rss(self.pid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_rss(pgid: int) -> int:
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            fields = (entry / "statm").read_text().split()
        except (OSError, ProcessLookupError):
            continue
        total += int(fields[1]) * page
    return total
