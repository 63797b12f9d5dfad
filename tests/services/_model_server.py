"""A tiny model server for the live alert test: answers inference requests, fails a share of
them with 500, and exports the serving metrics at /metrics, as issue #5's server will
(``mlplatform_inference_requests_total{model,code}`` and KServe's ``request_predict_seconds``).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


class TinyModelServer:
    """``POST /v2/models/<model>/infer`` and ``GET /metrics`` on 127.0.0.1:``port``."""

    def __init__(self, model: str, error_share: float) -> None:
        self.model = model
        self.error_share = error_share
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlplatform_inference_requests",
            "Inference requests by HTTP status.",
            ["model", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "request_predict_seconds", "predict latency", ["model_name"], registry=self.registry
        )
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = generate_latest(server.registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                with server.latency.labels(server.model).time():
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    failed = random.random() < server.error_share
                code = 500 if failed else 200
                server.requests.labels(server.model, str(code)).inc()
                body = json.dumps({"error": "boom"} if failed else {"outputs": []}).encode()
                self.send_response(code)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> TinyModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Load:
    """Requests to a model server from a thread: ``rate`` a second, stopped by ``stop`` or
    after ``limit_s`` seconds (bounded, loopback only)."""

    def __init__(self, port: int, model: str, rate: float = 20, limit_s: float = 90) -> None:
        self.url = f"http://127.0.0.1:{port}/v2/models/{model}/infer"
        self.rate, self.limit_s = rate, limit_s
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            request = urllib.request.Request(self.url, data=b'{"inputs": []}', method="POST")
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=5).close()
            self.sent += 1
            self._stop.wait(1 / self.rate)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
