"""Run the local OpenAI endpoint: the router on uvicorn, engines started as requests need them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from mlplatform.llm.local.engine import EngineSpec
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
    """The ASGI router for ``specs`` (served names must be distinct); ``on_change`` as
    ``EnginePool``'s."""
    names = [spec.served_name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        from mlplatform.errors import ConfigError

        raise ConfigError(
            f"Two models would be served as {', '.join(duplicates)}.",
            "Give each model its own served name (--name NAME=MODEL).",
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


def _config(app: RouterApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=75,
    )


@contextmanager
def running_router(app: RouterApp, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread for the block; yields its base URL.

    Leaving the block shuts the server down, which stops every engine it started.
    """
    from mlplatform.llm.local.engine import free_port

    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name="llm-router", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        from mlplatform.errors import ServiceError

        raise ServiceError(
            f"The local LLM endpoint did not start on {host}:{port}.",
            "Is the port taken? Pass another one.",
        )
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=120)


def serve_router(
    app: RouterApp, *, host: str = "127.0.0.1", port: int = 8000, preload: bool = False
) -> None:
    """Serve ``app`` until interrupted; every engine it started is stopped on the way out."""
    server = uvicorn.Server(_config(app, host, port))

    async def main() -> None:
        if preload:
            serving = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.05)
            assert app._session is not None
            await asyncio.gather(*(app.pool.ready(n, app._session) for n in app.pool.names()))
            await serving
        else:
            await server.serve()

    asyncio.run(main())
