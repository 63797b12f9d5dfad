"""One local OpenAI endpoint for several models: route by the body's ``model``, wake on demand.

The router does no OpenAI work of its own: it reads the request's ``model`` field, makes sure
that model's vLLM server runs (``EnginePool``: started on first request, stopped when idle) and
passes the request's bytes to it and the response's bytes back, streaming included. vLLM does
the API, batching and metrics.

A request for a stopped model waits for its engine instead of failing: a plain request is
answered when the engine is up, with the wait in the ``x-mlplatform-engine-wait-seconds``
header; a streaming request gets its ``200`` at once and SSE comment lines
(``: mlplatform: starting ...``), which OpenAI clients ignore, until the engine's own events
follow. Errors are OpenAI-shaped (``{"error": {"message", "type", "code", "hint"}}``):
400 not JSON or no ``model``, 404 unknown model or path, 413 body too large, 502 the engine
went away, 503 it could not start. The router itself never falls over on a bad request.

Routes: ``POST /v1/...`` (proxied), ``GET /v1/models`` (every configured model, running or
not), ``GET /health``, ``GET /status`` (engines, memory), ``GET /metrics`` (the router's own
counters), ``GET /engines/NAME/metrics`` (that engine's vLLM metrics, when running).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlplatform.errors import LlmEngineError
from mlplatform.llm.local.pool import EnginePool

__all__ = ["MAX_BODY_BYTES", "WAIT_HEADER", "RouterApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024 * 1024
WAIT_HEADER = "x-mlplatform-engine-wait-seconds"
_COMMENT_EVERY_S = 2.0
_REAP_EVERY_S = 1.0
# Headers that describe one hop, not the message (RFC 9110 7.6.1), and the body's framing,
# which the server sets again for the bytes it sends.
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"te",
        b"trailer",
        b"host",
        b"content-length",
        b"date",  # uvicorn sets its own date and server headers
        b"server",
    }
)


class _Reject(Exception):
    """An OpenAI-shaped error answer."""

    def __init__(self, status: int, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint

    def body(self) -> bytes:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return orjson.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": kind,
                    "param": "model" if self.code == "model_not_found" else None,
                    "code": self.code,
                    "hint": self.hint,
                }
            }
        )


class RouterApp:
    """The ASGI application (run it with uvicorn; ``mlplatform.llm.local.serve`` does)."""

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool
        self._session: aiohttp.ClientSession | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlp_llm_router_requests",
            "Requests the local LLM router answered, by model and status code.",
            ["model", "code"],
            registry=self.registry,
        )
        self.starts = Counter(
            "mlp_llm_engine_starts",
            "Engine starts (cold starts) by model.",
            ["model"],
            registry=self.registry,
        )
        self.start_seconds = Histogram(
            "mlp_llm_engine_start_seconds",
            "Seconds from an engine's start to its first answer.",
            ["model"],
            buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
            registry=self.registry,
        )
        self.running = Gauge(
            "mlp_llm_engine_running",
            "1 while the model's engine runs, 0 while it is stopped.",
            ["model"],
            registry=self.registry,
        )
        for name in pool.names():
            self.running.labels(name).set(0)

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        try:
            if path.startswith("/v1/") and method == "POST":
                await self._proxy(scope, receive, send)
            elif method == "GET" and path == "/v1/models":
                await _json(send, 200, self._models())
            elif method == "GET" and path == "/health":
                await _json(send, 200, {"status": "ok"})
            elif method == "GET" and path == "/status":
                await _json(send, 200, {"models": self.pool.status()})
            elif method == "GET" and path == "/metrics":
                await _respond(send, 200, generate_latest(self.registry), b"text/plain")
            elif method == "GET" and path.startswith("/engines/") and path.endswith("/metrics"):
                await self._engine_metrics(path.split("/")[2], send)
            else:
                raise _Reject(
                    404,
                    "not_found",
                    f"No route {method} {path}.",
                    "The router answers POST /v1/chat/completions, /v1/completions (any "
                    "POST /v1/...), GET /v1/models, /health, /status and /metrics.",
                )
        except _Reject as reject:
            await _respond(send, reject.status, reject.body(), b"application/json")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._session = aiohttp.ClientSession(
                    auto_decompress=False,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
                    connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
                )
                self._reaper = asyncio.create_task(self._reap_forever())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._reaper:
                    self._reaper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._reaper
                await self.pool.stop_all()
                if self._session:
                    await self._session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(_REAP_EVERY_S)
            for name in await self.pool.reap_idle():
                self.running.labels(name).set(0)
            for name in self.pool.names():
                if self.pool.forget_if_dead(name):
                    self.running.labels(name).set(0)

    # -- routes ----------------------------------------------------------------------------

    def _models(self) -> dict[str, Any]:
        rows = {row["model"]: row for row in self.pool.status()}
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "owned_by": "mlplatform",
                    "created": 0,
                    "status": rows[name]["state"],
                }
                for name in self.pool.names()
            ],
        }

    async def _engine_metrics(self, name: str, send: Send) -> None:
        self._known(name)
        engine = self.pool.running_engine(name)
        if engine is None:
            raise _Reject(
                404,
                "engine_stopped",
                f"The engine for {name!r} is not running; it has no metrics now.",
                "Send it a request (it starts on the first one), then ask again.",
            )
        assert self._session is not None
        async with self._session.get(f"{engine.url}/metrics") as resp:
            await _respond(send, resp.status, await resp.read(), b"text/plain")

    def _known(self, name: str) -> None:
        if name not in self.pool.states:
            raise _Reject(
                404,
                "model_not_found",
                f"The model {name!r} is not served here.",
                f"Served models: {', '.join(self.pool.names())} (GET /v1/models).",
            )

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        name, stream = _route_of(body, self.pool.names())
        self._known(name)
        self.pool.begin(name)
        status = 500
        try:
            if self.pool.running_engine(name) is not None:
                status = await self._forward(scope, body, name, send, wait=None)
            elif stream:
                status = await self._cold_stream(scope, body, name, send)
            else:
                wait = await self._wake(name)
                status = await self._forward(scope, body, name, send, wait=wait)
        except _Reject as reject:
            status = reject.status
            raise
        finally:
            self.pool.end(name)
            self.requests.labels(name, str(status)).inc()

    async def _wake(self, name: str) -> float:
        assert self._session is not None
        begin = time.monotonic()
        starts = self.pool.states[name].starts
        try:
            waited = await self.pool.ready(name, self._session)
        except LlmEngineError as exc:
            raise _Reject(
                503, "engine_failed", exc.headline, f"{exc.hint} Then retry the request."
            ) from exc
        if self.pool.states[name].starts != starts:  # this call (or a peer's) started it
            self.starts.labels(name).inc()
            self.start_seconds.labels(name).observe(time.monotonic() - begin)
        self.running.labels(name).set(1)
        return waited

    async def _cold_stream(self, scope: Scope, body: bytes, name: str, send: Send) -> int:
        """Answer 200 at once, keep the client informed while the engine starts, then relay."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        waking = asyncio.create_task(self._wake(name))
        begin = time.monotonic()
        while not waking.done():
            done, _ = await asyncio.wait({waking}, timeout=_COMMENT_EVERY_S)
            if not done:
                waited = time.monotonic() - begin
                note = f": mlplatform: starting the engine for {name!r} ({waited:.0f} s)\n\n"
                await send({"type": "http.response.body", "body": note.encode(), "more_body": True})
        try:
            waking.result()
        except _Reject as reject:
            await _sse_error(send, reject)
            return reject.status
        return await self._forward(scope, body, name, send, wait=None, started=True)

    async def _forward(
        self,
        scope: Scope,
        body: bytes,
        name: str,
        send: Send,
        *,
        wait: float | None,
        started: bool = False,
    ) -> int:
        """Send ``body`` to the engine and its answer back (bytes as they come)."""
        engine = self.pool.running_engine(name)
        assert self._session is not None
        gone = _Reject(
            502,
            "engine_unreachable",
            f"The engine for {name!r} stopped answering.",
            "Retry: the next request starts it again; if it keeps failing read its log "
            f"({self.pool.log_dir / (name + '.log')}).",
        )
        if engine is None:
            raise gone
        url = f"{engine.url}{scope['path']}"
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in _HOP
        ]
        try:
            async with self._session.post(url, data=body, headers=headers) as resp:
                if started:  # the 200 and the stream's headers are already sent
                    if resp.status != 200:
                        await _sse_error(send, _upstream_error(resp.status, await resp.read()))
                        return resp.status
                else:
                    out = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in _HOP]
                    if resp.content_length is not None:
                        out.append((b"content-length", str(resp.content_length).encode()))
                    if wait is not None:
                        out.append((WAIT_HEADER.encode(), f"{wait:.2f}".encode()))
                    await send(
                        {"type": "http.response.start", "status": resp.status, "headers": out}
                    )
                async for chunk in resp.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return resp.status
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
            self.pool.forget_if_dead(name)
            if started:
                await _sse_error(send, gone)
                return 502
            raise gone from None


def _route_of(body: bytes, names: list[str]) -> tuple[str, bool]:
    """The request's ``model`` and ``stream`` fields, or a 400 naming what is wrong."""
    example = '{"model": "%s", "messages": [{"role": "user", "content": "Hi"}]}' % (
        names[0] if names else "NAME"
    )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Reject(
            400,
            "invalid_json",
            f"The request body is not JSON ({exc}).",
            f"Send an OpenAI request body, for example {example}.",
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), str):
        raise _Reject(
            400,
            "missing_model",
            'The request has no "model" field naming the model to use.',
            f'Put one of {", ".join(names)} in "model": {example}.',
        )
    return payload["model"], payload.get("stream") is True


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _Reject(
                413,
                "body_too_large",
                f"The request body is larger than {MAX_BODY_BYTES // 2**20} MiB.",
                "Send a shorter prompt; the model's context is far smaller than that anyway.",
            )
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _upstream_error(status: int, raw: bytes) -> _Reject:
    try:
        message = str(orjson.loads(raw)["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = raw.decode(errors="replace")[:500]
    return _Reject(status, "engine_error", message, "Fix the request as the message says.")


async def _sse_error(send: Send, reject: _Reject) -> None:
    event = b"data: " + reject.body() + b"\n\ndata: [DONE]\n\n"
    await send({"type": "http.response.body", "body": event})


async def _json(send: Send, status: int, payload: Any) -> None:
    await _respond(send, status, orjson.dumps(payload), b"application/json")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
