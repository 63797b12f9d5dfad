"""One local OpenAI endpoint for several models: route by the body's ``model``, wake on demand.

The router does no OpenAI work of its own: it reads the request's ``model`` field, makes sure
that model's vLLM server runs (``EnginePool``: started on first request, stopped when idle) and
passes the request to it and the response's bytes back as they come, streaming included
(``mlplatform.llm.local.wire``: asyncio protocols and httptools, no framework on the warm
path). vLLM does the API, batching and metrics.

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
from typing import Any, cast

import httptools
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mlplatform.errors import LlmEngineError
from mlplatform.llm.local.pool import EnginePool
from mlplatform.llm.local.wire import (
    Request,
    UpstreamClosed,
    UpstreamPool,
    UpstreamResponse,
    chunk,
    response_bytes,
)

__all__ = ["MAX_BODY_BYTES", "WAIT_HEADER", "RouterApp"]

MAX_BODY_BYTES = 16 * 1024 * 1024
WAIT_HEADER = "x-mlplatform-engine-wait-seconds"
_COMMENT_EVERY_S = 2.0
_REAP_EVERY_S = 1.0
_JSON = b"application/json"
_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
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
    """The router: engines (``pool``), upstream connections, counters. ``serve`` runs it."""

    def __init__(self, pool: EnginePool) -> None:
        self.pool = pool
        self.upstream = UpstreamPool()
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

    # -- life cycle ------------------------------------------------------------------------

    async def serve(self, host: str, port: int, started: asyncio.Event | None = None,
                    stop: asyncio.Event | None = None) -> None:  # fmt: skip
        """Listen on ``host:port`` until ``stop`` is set; then stop every engine."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Client(self), host, port, reuse_address=True)
        self._reaper = asyncio.create_task(self._reap_forever())
        if started is not None:
            started.set()
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            server.close()
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self.upstream.close()
            await self.pool.stop_all()
            for name in self.pool.names():
                self.running.labels(name).set(0)

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(_REAP_EVERY_S)
            for name in await self.pool.reap_idle():
                self.running.labels(name).set(0)
            for name in self.pool.names():
                if self.pool.forget_if_dead(name):
                    self.running.labels(name).set(0)

    # -- one request -----------------------------------------------------------------------

    async def handle(self, request: Request, client: _Client) -> None:
        """Answer ``request`` on ``client``'s connection (errors included)."""
        try:
            if request.method == "POST" and request.path.startswith("/v1/"):
                await self._proxy(request, client)
            elif request.method == "GET":
                client.write(self._get(request.path))
            else:
                raise _no_route(request)
        except _Reject as reject:
            client.write(response_bytes(reject.status, reject.body(), _JSON))

    def _get(self, path: str) -> bytes:
        if path == "/v1/models":
            return response_bytes(200, orjson.dumps(self._models()), _JSON)
        if path == "/health":
            return response_bytes(200, b'{"status":"ok"}', _JSON)
        if path == "/status":
            return response_bytes(200, orjson.dumps({"models": self.pool.status()}), _JSON)
        if path == "/metrics":
            return response_bytes(200, generate_latest(self.registry), b"text/plain")
        raise _no_route(Request("GET", path, [], b"", True))

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

    def known(self, name: str) -> None:
        if name not in self.pool.states:
            raise _Reject(
                404,
                "model_not_found",
                f"The model {name!r} is not served here.",
                f"Served models: {', '.join(self.pool.names())} (GET /v1/models).",
            )

    async def engine_metrics(self, name: str, client: _Client) -> None:
        self.known(name)
        engine = self.pool.running_engine(name)
        if engine is None:
            raise _Reject(
                404,
                "engine_stopped",
                f"The engine for {name!r} is not running; it has no metrics now.",
                "Send it a request (it starts on the first one), then ask again.",
            )
        address = _address(engine.url)
        got = await self.upstream.send(
            address, Request("GET", "/metrics", [], b"", True).to_upstream(address)
        )
        client.write(response_bytes(got.status, bytes(got.body), b"text/plain"))

    async def _proxy(self, request: Request, client: _Client) -> None:
        name, stream = _route_of(request.body, self.pool.names())
        self.known(name)
        self.pool.begin(name)
        status = 500
        try:
            if self.pool.running_engine(name) is not None:
                status = await self._forward(request, name, client)
            elif stream:
                status = await self._cold_stream(request, name, client)
            else:
                wait = await self._wake(name)
                status = await self._forward_held(request, name, client, wait)
        except _Reject as reject:
            status = reject.status
            raise
        finally:
            self.pool.end(name)
            self.requests.labels(name, str(status)).inc()

    async def _wake(self, name: str) -> float:
        begin = time.monotonic()
        starts = self.pool.states[name].starts
        try:
            waited = await self.pool.ready(name)
        except LlmEngineError as exc:
            raise _Reject(
                503, "engine_failed", exc.headline, f"{exc.hint} Then retry the request."
            ) from exc
        if self.pool.states[name].starts != starts:  # this call (or a peer's) started it
            self.starts.labels(name).inc()
            self.start_seconds.labels(name).observe(time.monotonic() - begin)
        self.running.labels(name).set(1)
        return waited

    def _gone(self, name: str) -> _Reject:
        return _Reject(
            502,
            "engine_unreachable",
            f"The engine for {name!r} stopped answering.",
            "Retry: the next request starts it again; if it keeps failing read its log "
            f"({self.pool.log_dir / (name + '.log')}).",
        )

    def _engine_address(self, name: str) -> str:
        engine = self.pool.running_engine(name)
        if engine is None:
            raise self._gone(name)
        return _address(engine.url)

    async def _forward(self, request: Request, name: str, client: _Client) -> int:
        """The warm path: the engine's response bytes go to the client as they arrive."""
        address = self._engine_address(name)
        try:
            got = await self.upstream.send(
                address, request.to_upstream(address), sink=client.write, flow=client.follow
            )
        except (OSError, UpstreamClosed) as exc:
            self.pool.forget_if_dead(name)
            if isinstance(exc, UpstreamClosed) and exc.sent_anything:
                client.abort()  # half a response: the client must see the cut
                return 502
            raise self._gone(name) from None
        if not got.status:
            return 502
        if _closes(got):
            client.keep_alive = False
        return got.status

    async def _forward_held(self, request: Request, name: str, client: _Client, wait: float) -> int:
        """After a cold start: the whole (non-streaming) answer, with the wait added."""
        address = self._engine_address(name)
        try:
            got = await self.upstream.send(address, request.to_upstream(address))
        except (OSError, UpstreamClosed):
            self.pool.forget_if_dead(name)
            raise self._gone(name) from None
        content_type = dict((k.lower(), v) for k, v in got.headers).get(b"content-type", _JSON)
        extra = [(WAIT_HEADER.encode(), f"{wait:.2f}".encode())]
        client.write(response_bytes(got.status, bytes(got.body), content_type, extra))
        return got.status

    async def _cold_stream(self, request: Request, name: str, client: _Client) -> int:
        """Answer 200 at once, keep the client informed while the engine starts, then relay."""
        client.write(_SSE_HEAD)
        client.keep_alive = False  # the stream's end is its connection's end
        waking = asyncio.ensure_future(self._wake(name))
        begin = time.monotonic()
        while not waking.done():
            done, _ = await asyncio.wait({waking}, timeout=_COMMENT_EVERY_S)
            if not done:
                waited = time.monotonic() - begin
                note = f": mlplatform: starting the engine for {name!r} ({waited:.0f} s)\n\n"
                client.write(chunk(note.encode()))
        try:
            waking.result()
            address = self._engine_address(name)
        except _Reject as reject:
            client.write(_sse_error(reject))
            return reject.status
        status = 0

        def head(response: UpstreamResponse) -> None:
            nonlocal status
            status = response.status

        def body(piece: bytes) -> None:
            if status == 200:
                client.write(chunk(piece))

        try:
            got = await self.upstream.send(
                address, request.to_upstream(address), on_head=head, on_body=body
            )
        except (OSError, UpstreamClosed):
            self.pool.forget_if_dead(name)
            client.write(_sse_error(self._gone(name)))
            return 502
        if got.status != 200:
            client.write(_sse_error(_upstream_error(got.status, bytes(got.body))))
        else:
            client.write(chunk(b""))
        return got.status


class _Client(asyncio.Protocol):
    """One client connection: parse requests, answer them one at a time (keep-alive)."""

    def __init__(self, router: RouterApp) -> None:
        self.router = router
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.keep_alive = True
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._too_large = False
        self._upstream: Any = None
        self._writable = True
        self._task: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "upgrade_refused", "Protocol upgrades are not served here.")
        except httptools.HttpParserError as exc:
            self._refuse(400, "bad_http", f"The request is not valid HTTP/1.1 ({exc}).")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.close()  # vLLM aborts a request whose client went away

    def pause_writing(self) -> None:  # the client reads slower than the engine writes
        self._writable = False
        if self._upstream is not None:
            self._upstream.pause()

    def resume_writing(self) -> None:
        self._writable = True
        if self._upstream is not None:
            self._upstream.resume()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body, self._size = b"", [], [], 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY_BYTES:
            self._too_large = True
        else:
            self._body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.pause_reading()  # one request at a time on a connection
        request = Request(
            self.parser.get_method().decode("latin-1"),
            self._url.decode("latin-1"),
            self._headers,
            b"".join(self._body),
            self.parser.should_keep_alive(),
        )
        self.keep_alive = request.keep_alive
        self._task = asyncio.ensure_future(self._answer(request))

    async def _answer(self, request: Request) -> None:
        try:
            if self._too_large:
                raise _Reject(
                    413,
                    "body_too_large",
                    f"The request body is larger than {MAX_BODY_BYTES // 2**20} MiB.",
                    "Send a shorter prompt; the model's context is far smaller than that anyway.",
                )
            path = request.path
            if (
                request.method == "GET"
                and path.startswith("/engines/")
                and path.endswith("/metrics")
            ):
                await self.router.engine_metrics(path.split("/")[2], self)
            else:
                await self.router.handle(request, self)
        except _Reject as reject:
            self.write(response_bytes(reject.status, reject.body(), _JSON))
        except Exception as exc:  # a bug: answer 500, keep serving
            body = _Reject(500, "router_error", repr(exc), "Report it with the request.").body()
            self.write(response_bytes(500, body, _JSON))
            self.keep_alive = False
        if self.transport is None:
            return
        if self.keep_alive:
            self.transport.resume_reading()
        else:
            self.transport.close()

    # what the router calls
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def follow(self, upstream: Any) -> None:
        """Back-pressure: pause the engine's connection while this client cannot keep up."""
        self._upstream = upstream
        if upstream is not None and not self._writable:
            upstream.pause()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _refuse(self, status: int, code: str, message: str) -> None:
        reject = _Reject(status, code, message, "Send an HTTP/1.1 request (an OpenAI client).")
        self.write(response_bytes(status, reject.body(), _JSON))
        if self.transport is not None:
            self.transport.close()


def _no_route(request: Request) -> _Reject:
    return _Reject(
        404,
        "not_found",
        f"No route {request.method} {request.path}.",
        "The router answers POST /v1/chat/completions, /v1/completions (any POST /v1/...), "
        "GET /v1/models, /health, /status and /metrics.",
    )


def _address(url: str) -> str:
    return url.removeprefix("http://").rstrip("/")


def _closes(response: UpstreamResponse) -> bool:
    return any(k.lower() == b"connection" and v.lower() == b"close" for k, v in response.headers)


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


def _upstream_error(status: int, raw: bytes) -> _Reject:
    try:
        message = str(orjson.loads(raw)["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        message = raw.decode(errors="replace")[:500]
    return _Reject(status, "engine_error", message, "Fix the request as the message says.")


def _sse_error(reject: _Reject) -> bytes:
    return chunk(b"data: " + reject.body() + b"\n\ndata: [DONE]\n\n") + chunk(b"")
