"""Run the local OpenAI endpoint: the router on uvicorn, engines started as requests need them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from mlplatform.llm.local.engine import EngineSpec
from mlplatform.llm.local.pool import EnginePool
from mlplatform.llm.local.router import RouterApp

__all__ = ["build_router", "serve_router"]


def build_router(
    specs: Sequence[EngineSpec],
    log_dir: Path,
    *,
    idle_timeout: float = 600.0,
    start_timeout: float = 600.0,
    python: Path | None = None,
) -> RouterApp:
    """The ASGI router for ``specs`` (served names must be distinct)."""
    names = [spec.served_name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        from mlplatform.errors import ConfigError

        raise ConfigError(
            f"Two models would be served as {', '.join(duplicates)}.",
            "Give each model its own served name (--name NAME=MODEL).",
        )
    pool = EnginePool(
        specs, log_dir, idle_timeout=idle_timeout, start_timeout=start_timeout, python=python
    )
    return RouterApp(pool)


def serve_router(
    app: RouterApp, *, host: str = "127.0.0.1", port: int = 8000, preload: bool = False
) -> None:
    """Serve ``app`` until interrupted; every engine it started is stopped on the way out."""
    config = uvicorn.Config(
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
    server = uvicorn.Server(config)

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
