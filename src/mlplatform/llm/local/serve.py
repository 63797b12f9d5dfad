"""Run the local OpenAI endpoint: the router on asyncio (uvloop), engines started on demand."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvloop

from mlplatform.errors import ConfigError, ServiceError
from mlplatform.llm.local.engine import EngineSpec, free_port
from mlplatform.llm.local.pool import EnginePool
from mlplatform.llm.local.router import RouterApp

__all__ = ["build_router", "running_router", "serve_router"]


def build_router(
    specs: Sequence[EngineSpec],
    log_dir: Path,
    *,
    idle_timeout: float = 600.0,
    start_timeout: float = 600.0,
    python: Path | None = None,
    on_change: Callable[[str, str | None], None] | None = None,
) -> RouterApp:
    """The router for ``specs`` (served names must be distinct); ``on_change`` as
    ``EnginePool``'s."""
    names = [spec.served_name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(
            f"Two models would be served as {', '.join(duplicates)}.",
            "Give each model its own served name (SERVED=MODEL).",
        )
    pool = EnginePool(
        specs,
        log_dir,
        idle_timeout=idle_timeout,
        start_timeout=start_timeout,
        python=python,
        on_change=on_change,
    )
    return RouterApp(pool)


async def _main(
    app: RouterApp,
    host: str,
    port: int,
    *,
    preload: bool,
    started: threading.Event | None = None,
    stop: list[asyncio.Event] | None = None,
    signals: bool = True,
) -> None:
    stopping = asyncio.Event()
    if stop is not None:
        stop.append(stopping)
    loop = asyncio.get_running_loop()
    if signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
    ready = asyncio.Event()
    serving = asyncio.ensure_future(app.serve(host, port, ready, stopping))
    waiting = asyncio.ensure_future(ready.wait())
    await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if serving.done():  # it could not listen
        waiting.cancel()
        serving.result()
        return
    if started is not None:
        started.set()
    if preload:
        await asyncio.gather(*(app.pool.ready(name) for name in app.pool.names()))
        for name in app.pool.names():
            app.running.labels(name).set(1)
    await serving


def serve_router(
    app: RouterApp, *, host: str = "127.0.0.1", port: int = 8000, preload: bool = False
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; every engine it started is stopped on the way out.

    Raises:
        ServiceError: the address cannot be listened on.
    """
    try:
        uvloop.run(_main(app, host, port, preload=preload))
    except OSError as exc:
        raise ServiceError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            "Pass another --port (or stop what listens there).",
        ) from exc


@contextmanager
def running_router(app: RouterApp, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread for the block; yields its base URL.

    Leaving the block stops the server and every engine it started.
    """
    port = port or free_port(host)
    started = threading.Event()
    stop: list[asyncio.Event] = []
    loops: list[asyncio.AbstractEventLoop] = []
    failure: list[BaseException] = []

    def run() -> None:
        loop = uvloop.new_event_loop()
        loops.append(loop)
        try:
            loop.run_until_complete(
                _main(app, host, port, preload=False, started=started, stop=stop, signals=False)
            )
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="llm-router", daemon=True)
    thread.start()
    while not started.wait(0.05):
        if not thread.is_alive():
            raise ServiceError(
                f"The local LLM endpoint did not start on {host}:{port}: {failure[0]!r}"
                if failure
                else f"The local LLM endpoint did not start on {host}:{port}.",
                "Is the port taken? Pass another one.",
            )
    try:
        yield f"http://{host}:{port}"
    finally:
        loops[0].call_soon_threadsafe(stop[0].set)
        thread.join(timeout=120)
