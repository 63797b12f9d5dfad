"""The model server's HTTP API: KServe V1 and V2 (Open Inference Protocol) REST, health,
``/metrics`` and ``/openapi.json``, as one plain ASGI application.

Routing is a dict lookup and one split per request, bodies are parsed with orjson, and every
answer is built from bytes: the framework cost per request stays near a hello-world ASGI app,
which is what the benchmark compares against. Errors are JSON ``{"error": "..."}`` with the
status the problem deserves (400 malformed, 404 unknown, 405 method, 413 too large, 422
does not fit the signature, 429/503 with ``Retry-After`` when overloaded); an unexpected
exception is a 500 for that request only, counted in ``mlplatform_inference_requests_total``
with ``code="500"`` like every other answer (the error-rate alert exists for exactly those).

Versioned routes (``/v2/models/NAME/versions/N``, ``.../ready``, ``.../infer``) answer with
version N when one of the variants serves it, else 404; the unversioned routes are routed by
weight (canary) as usual.

Inference requests (POST) are traced when the service has a tracer (``serving.tracing``: the
caller's ``traceparent`` continued, answered with the request span's ``traceparent``), and
logged one line each on ``mlplatform.serving.access`` when that logger is enabled for INFO
(method, path, status, milliseconds, ``trace_id``, ``span_id``): the entrypoint enables it
with tracing, so logs and traces join on the trace id. Neither costs an untraced request more
than two tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from opentelemetry.trace import use_span
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from mlplatform import __version__
from mlplatform.errors import InferenceInputError, MlplatformError, OverloadedError
from mlplatform.serving.batcher import BatchResult
from mlplatform.serving.metrics import RequestMetrics
from mlplatform.serving.openapi import openapi_document
from mlplatform.serving.outputs import (
    PROBABILITIES,
    metadata_outputs,
    requested_v2,
    v1_answer,
    v1_probabilities,
    v2_outputs,
)
from mlplatform.serving.service import ModelService
from mlplatform.serving.signature import InputSchema
from mlplatform.serving.tensors import split_binary
from mlplatform.serving.tracing import ACCESS_LOG, annotate_request, end_request, start_request
from mlplatform.telemetry import context_from_headers, ids_of, traceparent_of

__all__ = ["ServingApp"]

log = logging.getLogger(__name__)
access = logging.getLogger(ACCESS_LOG)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_BINARY_HEADER = b"inference-header-content-length"


class _Reply(Exception):
    """A finished answer raised from deep inside a handler."""

    def __init__(
        self, status: int, payload: dict[str, Any], headers: list[Any] | None = None
    ) -> None:
        self.status, self.payload, self.headers = status, payload, headers or []


class ServingApp:
    """ASGI app serving one ``ModelService`` under its model name."""

    def __init__(self, service: ModelService, *, max_body_bytes: int = 8 * 1024 * 1024) -> None:
        self.service = service
        self.name = service.name
        self.max_body_bytes = max_body_bytes
        self.metrics = RequestMetrics(service.name)
        self._sticky = service.config.sticky_header.lower().encode()
        n = service.name
        self._get: dict[str, Callable[[], tuple[int, Any]]] = {
            "/": lambda: (200, {"status": "alive"}),
            "/v2/health/live": lambda: (200, {"live": True}),
            "/v2/health/ready": self._server_ready,
            "/v1/models": lambda: (200, {"models": [n]}),
            f"/v1/models/{n}": self._model_ready,
            "/v2": lambda: (
                200,
                {
                    "name": "mlplatform",
                    "version": __version__,
                    "extensions": ["binary_tensor_data"],
                },
            ),
            f"/v2/models/{n}": self._metadata,
            f"/v2/models/{n}/ready": self._model_ready,
            "/openapi.json": lambda: (200, openapi_document(n, self._input_schema())),
        }
        self._post = {
            f"/v1/models/{n}:predict": self._predict_v1,
            f"/v2/models/{n}/infer": self._infer_v2,
        }
        self._meta = f"/v2/models/{n}"
        self._versioned = f"{self._meta}/versions/"
        self._tracer = service.tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["method"] == "POST" and (
                self._tracer is not None or access.isEnabledFor(logging.INFO)
            ):
                await self._observed(scope, receive, send)
            else:
                await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.service.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.service.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- dispatch -------------------------------------------------------------------------

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``_http``, traced (when there is a tracer) and access-logged."""
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        span = None
        if self._tracer is not None:
            parent = context_from_headers(scope["headers"])
            span = start_request(self._tracer, method, path, self._span_route(path), self.name,
                                 parent)  # fmt: skip
            reply_header = (b"traceparent", traceparent_of(span).encode())
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if span is not None:
                    message["headers"] = [*message["headers"], reply_header]
            await send(message)

        try:
            if span is None:
                await self._http(scope, receive, observed)
            else:
                with use_span(span, end_on_exit=False):
                    await self._http(scope, receive, observed)
        finally:
            if span is not None:
                end_request(span, status)
            _access_line(method, path, status, started, span)

    def _span_route(self, path: str) -> str | None:
        """The route of an inference path, for the span's name (None: not a route here)."""
        if path in self._post:
            return path
        if path.startswith(self._versioned) and path.endswith("/infer"):
            return f"{self._versioned}{{version}}/infer"
        return None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        started = time.perf_counter()
        try:
            route, version = self._route(path)
            if method == "POST" and (handler := self._post.get(route)):
                await handler(scope, receive, send, version)
                return
            if method in ("GET", "HEAD") and (getter := self._get.get(route)):
                if version is not None:
                    self._check_served(version)
                versioned = version is not None and route == self._meta
                status, payload = self._metadata(version) if versioned else getter()
                await _send_json(send, status, payload)
                return
            if path == "/metrics" and method == "GET":
                await _send(send, 200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST.encode())
                return
            raise self._not_found(path, method)
        except _Reply as reply:
            await _send_json(send, reply.status, reply.payload, reply.headers)
        except Exception:  # a bug in one request is a 500 for that request only
            log.exception("unexpected error on %s %s", method, path)
            if method == "POST":  # an inference request: counted, so the error rate sees it
                self.metrics.observe(self._version(), "", 500, time.perf_counter() - started)
            await _send_json(send, 500, {"error": "internal error; see the server log"})

    def _route(self, path: str) -> tuple[str, str | None]:
        """``(route, version)``: ``/v2/models/m/versions/3/infer`` -> ``(/v2/models/m/infer,
        "3")``; any other path is its own route (version None)."""
        if not path.startswith(self._versioned):
            return path, None
        version, _, tail = path[len(self._versioned) :].partition("/")
        if not version or tail not in ("", "ready", "infer"):
            raise _Reply(404, {"error": f"no route {path}"})
        return (f"{self._meta}/{tail}" if tail else self._meta), version

    def _check_served(self, version: str) -> None:
        try:
            self.service.served(version)
        except InferenceInputError as exc:
            raise _Reply(404, {"error": f"{exc.headline}. {exc.hint}"}) from None

    def _version(self) -> str:
        model = self.service.schema_model()
        return model.version if model else ""

    def _not_found(self, path: str, method: str) -> _Reply:
        known = set(self._get) | set(self._post) | {"/metrics"}
        route = self._route(path)[0]
        if route in known:
            allowed = "POST" if route in self._post else "GET"
            return _Reply(
                405,
                {"error": f"{method} is not allowed on {path}; use {allowed}"},
                [(b"allow", allowed.encode())],
            )
        if path.startswith(("/v1/models/", "/v2/models/")):
            return _Reply(
                404,
                {"error": f"no model at {path}; this server serves {self.name!r}"},
            )
        return _Reply(404, {"error": f"no route {path}"})

    # ---- health and metadata --------------------------------------------------------------

    def _server_ready(self) -> tuple[int, Any]:
        ready = self.service.ready
        return (200 if ready else 503), {"ready": ready}

    def _model_ready(self) -> tuple[int, Any]:  # V1 GET /v1/models/N and V2 .../ready
        ready = self.service.ready
        return (200 if ready else 503), {"name": self.name, "ready": ready}

    def _metadata(self, version: str | None = None) -> tuple[int, Any]:
        """The model's metadata; with ``version``, that version's inputs and outputs."""
        model = self.service.served(version).model if version else self.service.schema_model()
        if model is None:
            return 503, {"error": f"model {self.name!r} is not loaded yet"}
        variants = [
            {"name": v.name, "version": v.version, "uri": v.config.model_uri,
             "weight": v.config.weight if i else None}
            for i, v in enumerate(self.service.variants)
        ]  # fmt: skip
        return 200, {
            "name": self.name,
            "versions": [version] if version else self.service.versions(),
            "platform": f"mlflow_{model.flavor}",
            "inputs": model.schema.metadata(),
            "outputs": metadata_outputs(model),
            "parameters": {
                "variants": variants,
                "run_id": model.run_id,
                **_classes(model),
                **_features(model),
            },
        }

    def _input_schema(self) -> InputSchema | None:
        model = self.service.schema_model()
        return model.schema if model else None

    # ---- inference ------------------------------------------------------------------------

    async def _predict_v1(
        self, scope: Scope, receive: Receive, send: Send, version: str | None = None
    ) -> None:
        started = time.perf_counter()
        try:
            body = await self._body(scope, receive)
            payload = _loads(body)
            proba = v1_probabilities(payload)
            result, variant = await self._predict(
                scope, lambda s: s.from_v1(payload), version, proba
            )
        except MlplatformError as exc:
            await self._error(send, exc, started)
            return
        response = _dumps(v1_answer(result))
        self.metrics.observe(result.model.version, variant, 200, time.perf_counter() - started)
        await _send(send, 200, response, _JSON[1], _variant_headers(result, variant))

    async def _infer_v2(
        self, scope: Scope, receive: Receive, send: Send, version: str | None = None
    ) -> None:
        started = time.perf_counter()
        try:
            body = await self._body(scope, receive)
            payload, binary = split_binary(_header(scope, _BINARY_HEADER), body, _loads)
            if not isinstance(payload, dict):
                raise InferenceInputError('the request body must be a JSON object with "inputs"')
            requested = requested_v2(payload)
            proba = any(r.name == PROBABILITIES for r in requested)
            inputs = payload.get("inputs")
            result, variant = await self._predict(
                scope, lambda s: s.from_v2(inputs, binary), version, proba
            )
            tensors, raw = v2_outputs(result, requested)
        except MlplatformError as exc:
            await self._error(send, exc, started)
            return
        answer: dict[str, Any] = {
            "model_name": self.name,
            "model_version": result.model.version,
            "outputs": tensors,
        }
        if isinstance(payload.get("id"), str):
            answer["id"] = payload["id"]
        response = _dumps(answer)
        headers = _variant_headers(result, variant)
        content_type = _JSON[1]
        if any(r.binary for r in requested):
            headers.append((_BINARY_HEADER, str(len(response)).encode()))
            response, content_type = response + raw, b"application/octet-stream"
        self.metrics.observe(result.model.version, variant, 200, time.perf_counter() - started)
        await _send(send, 200, response, content_type, headers)

    async def _predict(
        self, scope: Scope, decode: Callable[[Any], Any], version: str | None, proba: bool
    ) -> tuple[BatchResult, str]:
        model = self.service.served(version).model if version else self.service.schema_model()
        if model is None:
            raise OverloadedError(f"model {self.name!r} is not loaded yet", status=503)
        features = model.features  # served from the feature store: entity keys suffice
        block = decode(model.schema) if features is None else features.decode(decode)
        sticky = _header(scope, self._sticky)
        result, variant = await self.service.predict(block, sticky, version, probabilities=proba)
        if self._tracer is not None:
            annotate_request(result.model, variant, len(result.outputs))
        return result, variant

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise InferenceInputError(
                f"the request body has {int(length)} bytes; the limit is {self.max_body_bytes}",
                "Send fewer rows per request (or raise serving.max_body_bytes).",
                status=413,
            )
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise InferenceInputError(
                    f"the request body exceeds {self.max_body_bytes} bytes",
                    "Send fewer rows per request (or raise serving.max_body_bytes).",
                    status=413,
                )
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _error(self, send: Send, exc: MlplatformError, started: float) -> None:
        headers: list[Any] = []
        if isinstance(exc, OverloadedError):
            status = exc.status
            headers.append((b"retry-after", str(exc.retry_after).encode()))
        elif isinstance(exc, InferenceInputError):
            status = exc.status
        else:
            status = 500
        hint = exc.hint.replace("/models/NAME", f"/models/{self.name}")
        message = exc.headline if status >= 500 else f"{exc.headline}. {hint}"
        model = self.service.schema_model()
        version = model.version if model else ""
        self.metrics.observe(version, "", status, time.perf_counter() - started)
        await _send_json(send, status, {"error": message}, headers)


def _access_line(method: str, path: str, status: int, started: float, span: Any) -> None:
    """One INFO line per inference request, with the trace and span ids when traced."""
    if not access.isEnabledFor(logging.INFO):
        return
    ms = (time.perf_counter() - started) * 1000
    trace_id, span_id = ids_of(span) if span is not None else ("", "")
    access.info(
        "%s %s %d %.1fms trace_id=%s span_id=%s", method, path, status, ms, trace_id, span_id,
        extra={"trace_id": trace_id, "span_id": span_id, "http_status": status},
    )  # fmt: skip


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _loads(body: bytes) -> Any:
    if not body:
        raise InferenceInputError(
            "the request body is empty", 'Send a JSON object such as {"instances": [[...]]}.'
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InferenceInputError(f"the request body is not valid JSON: {exc}") from None


def _classes(model: Any) -> dict[str, Any]:
    """A classifier's class labels (the columns of its ``probabilities``) for the metadata."""
    return {"classes": model.probabilities.labels} if model.probabilities is not None else {}


def _features(model: Any) -> dict[str, Any]:
    """The feature service a version is served from, and the inputs a request may send."""
    if model.features is None:
        return {}
    return {
        "feature_service": model.features.online.service,
        "entity_inputs": list(model.features.request.names),
    }


def _variant_headers(result: BatchResult, variant: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-mlp-variant", variant.encode()),
        (b"x-mlp-model-version", result.model.version.encode()),
    ]


def _dumps(payload: Any) -> bytes:
    try:
        return orjson.dumps(payload, option=_NUMPY)
    except TypeError:  # object arrays (string labels): plain lists
        return orjson.dumps(_plain(payload))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


async def _send_json(
    send: Send, status: int, payload: Any, headers: list[Any] | None = None
) -> None:
    await _send(send, status, _dumps(payload), _JSON[1], headers)


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[Any] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
