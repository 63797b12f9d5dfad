"""Run a model server: load the variants, then serve the ASGI app with uvicorn (uvloop and
httptools, no access log: per-request log lines cost about a third of a Python server's CPU).

``serve`` blocks (the CLI and the container entrypoint); ``start_background`` runs the same
server on a thread and returns a handle (tests, ``mlp demo``). Predictions run off the event
loop on one thread per variant; ``OMP_NUM_THREADS`` defaults to 1 so a tree model does not
burn every core for the same throughput.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlplatform.errors import ServingError
from mlplatform.serving.app import ServingApp
from mlplatform.serving.config import ServerConfig
from mlplatform.serving.sampler import MonitorFactory, sampler_for
from mlplatform.serving.service import ModelService

if TYPE_CHECKING:
    from mlplatform.telemetry import Tracing

__all__ = ["BackgroundServer", "build_app", "serve", "start_background"]

os.environ.setdefault("OMP_NUM_THREADS", "1")


def build_app(
    config: ServerConfig,
    *,
    monitors: MonitorFactory | None = None,
    tracing: Tracing | None = None,
) -> ServingApp:
    """Load every variant of ``config`` and return the app serving them (traced by
    ``tracing``'s tracer when it has one: ``serving.tracing``)."""
    tracer = tracing.tracer if tracing is not None else None
    service = ModelService(config, sampler_for(config, monitors), tracer)
    service.load()
    # Everything loaded so far (MLflow, scikit-learn, the model) lives as long as the server:
    # moved out of the collector's reach, a full collection no longer walks a million
    # objects and stalls every in-flight request for ~150 ms.
    gc.collect()
    gc.freeze()
    return ServingApp(service, max_body_bytes=config.max_body_bytes)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServingError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            "Pick a free port with --port (or serving.port in mlplatform.toml).",
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn(app: ServingApp) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=65,
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)


def serve(
    app: ServingApp,
    host: str,
    port: int,
    *,
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT/SIGTERM; ``on_started`` gets the address."""
    sock = _bind(host, port)
    server = _uvicorn(app)
    address = "{}:{}".format(*sock.getsockname()[:2])

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started and on_started is not None:
            on_started(address)
        await task

    import uvloop

    # uvicorn shuts down gracefully on SIGTERM, then re-raises it; exiting by SystemExit
    # (not the default handler's instant death) lets callers' cleanup run (`mlp serve`
    # removes its Prometheus scrape target).
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run())
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@dataclass
class BackgroundServer:
    """A server running on a thread: ``url`` to call it, ``stop()`` to end it."""

    app: ServingApp
    url: str
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_background(app: ServingApp, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Start ``app`` on a thread (port 0: a free port) and wait until it accepts requests."""
    sock = _bind(host, port)
    server = _uvicorn(app)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below
            failed.append(exc)

    thread = threading.Thread(target=run, name=f"serve-{app.name}", daemon=True)
    thread.start()
    while not server.started:
        if failed or not thread.is_alive():
            raise ServingError(f"the model server of {app.name!r} did not start: {failed}")
        threading.Event().wait(0.02)
    bound_host, bound_port = sock.getsockname()[:2]
    return BackgroundServer(app, f"http://{bound_host}:{bound_port}", server, thread)
