"""The router's HTTP/1.1 plumbing on asyncio protocols: parse with httptools, splice bytes.

Why not uvicorn + an HTTP client: on the warm path the router only has to pick an engine and
pass bytes, and every layer costs time the issue budgets at 5 % of vLLM's own latency (a few
milliseconds on the tiny model). So a request is parsed once (httptools, C), re-sent to the
engine on a kept-alive connection, and the engine's response bytes (status line, headers,
chunks, as vLLM framed them) are written to the client as they arrive, with no re-framing;
httptools only watches them to know where the response ends. Other answers (errors, the
router's own routes, a response held while an engine starts) are framed here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import httptools

__all__ = [
    "HOP_HEADERS",
    "Request",
    "UpstreamClosed",
    "UpstreamPool",
    "UpstreamResponse",
    "chunk",
    "response_bytes",
]

# Headers that describe one hop (RFC 9110 7.6.1) or the body's framing: not forwarded as is.
HOP_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"te",
        b"trailer",
        b"content-length",
    }
)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class Request:
    """One parsed client request."""

    method: str
    target: str  # path and query, as sent
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def to_upstream(self, host: str) -> bytes:
        """The request re-sent to an engine: same method, target, headers and body."""
        lines = [f"{self.method} {self.target} HTTP/1.1\r\n".encode(), b"host: ", host.encode()]
        lines.append(b"\r\n")
        for name, value in self.headers:
            lower = name.lower()
            if lower in HOP_HEADERS or lower == b"host":
                continue
            lines += [name, b": ", value, b"\r\n"]
        lines += [b"content-length: ", str(len(self.body)).encode(), b"\r\n\r\n", self.body]
        return b"".join(lines)


def response_bytes(
    status: int, body: bytes, content_type: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
) -> bytes:
    """A whole response with a Content-Length."""
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode()]
    head += [b"content-type: ", content_type, b"\r\ncontent-length: ", str(len(body)).encode()]
    for name, value in extra:
        head += [b"\r\n", name, b": ", value]
    head.append(b"\r\n\r\n")
    return b"".join(head) + body


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body (b"" is the last chunk)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class UpstreamClosed(Exception):
    """The engine closed the connection before its response was complete."""

    def __init__(self, sent_anything: bool) -> None:
        super().__init__("the engine closed the connection")
        self.sent_anything = sent_anything


@dataclass
class UpstreamResponse:
    """What the engine answered (filled as the response arrives)."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class _Upstream(asyncio.Protocol):
    """One kept-alive connection to an engine. Its response goes to ``sink`` as raw bytes
    (``passthrough``) or is parsed into ``response`` (``on_body`` per body piece)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[UpstreamResponse] | None = None
        self.response = UpstreamResponse()
        self.sink: Callable[[bytes], None] | None = None  # raw passthrough
        self.on_body_piece: Callable[[bytes], None] | None = None
        self.on_head: Callable[[UpstreamResponse], None] | None = None
        self.sent = False
        self.reusable = False
        self._header: bytes = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.sink is not None:
            self.sink(data)
            self.sent = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(UpstreamClosed(self.sent))

    def pause(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.response = UpstreamResponse()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.response.status = self.parser.get_status_code()
        if self.on_head is not None:
            self.on_head(self.response)

    def on_body(self, body: bytes) -> None:
        if self.on_body_piece is not None:
            self.on_body_piece(body)
        elif self.sink is None:
            self.response.body += body

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        if self.done is not None and not self.done.done():
            self.done.set_result(self.response)

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)


class UpstreamPool:
    """Kept-alive connections per engine address (``host:port``)."""

    def __init__(self) -> None:
        self._idle: dict[str, list[_Upstream]] = {}

    async def send(
        self,
        address: str,
        request: bytes,
        *,
        sink: Callable[[bytes], None] | None = None,
        on_head: Callable[[UpstreamResponse], None] | None = None,
        on_body: Callable[[bytes], None] | None = None,
        flow: Callable[[_Upstream | None], None] | None = None,
    ) -> UpstreamResponse:
        """Send ``request`` to ``address`` and wait for the whole response.

        With ``sink`` every response byte goes there as it arrives; with ``on_body`` each
        de-chunked body piece does; otherwise the body is collected. ``flow`` is told the
        connection while the response streams (for back-pressure) and None after.

        Raises:
            OSError: the engine cannot be reached.
            UpstreamClosed: it closed the connection before the response was complete.
        """
        conn = await self._acquire(address)
        loop = asyncio.get_running_loop()
        conn.done = loop.create_future()
        conn.sink, conn.on_head, conn.on_body_piece, conn.sent = sink, on_head, on_body, False
        if flow is not None:
            flow(conn)
        try:
            assert conn.transport is not None
            conn.transport.write(request)
            response = await conn.done
        except BaseException:
            if conn.transport is not None:
                conn.transport.close()
            raise
        finally:
            if flow is not None:
                flow(None)
            conn.sink = conn.on_head = conn.on_body_piece = None
        if conn.reusable and conn.transport is not None and not conn.transport.is_closing():
            self._idle.setdefault(address, []).append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        return response

    async def _acquire(self, address: str) -> _Upstream:
        idle = self._idle.get(address, [])
        while idle:
            conn = idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                conn.parser = httptools.HttpResponseParser(conn)
                return conn
        host, _, port = address.rpartition(":")
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Upstream, host, int(port))
        return protocol

    def forget(self, address: str) -> None:
        """Close the idle connections to an engine that stopped."""
        for conn in self._idle.pop(address, []):
            if conn.transport is not None:
                conn.transport.close()

    def close(self) -> None:
        for address in list(self._idle):
            self.forget(address)
