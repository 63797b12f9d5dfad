"""A local stand-in for the Argo server REST API, strict about what it accepts.

No Argo server can run here, so this emulates the endpoints that Hera's ``WorkflowsService``
and our client call, at the paths and body keys Hera uses (hera 7.1 ``workflows/service.py``):

=======================================================  =========================================
``POST {base}/api/v1/workflows/{ns}``                    ``{"workflow": Workflow}``
``POST {base}/api/v1/workflow-templates/{ns}``           ``{"template": WorkflowTemplate}``
``POST {base}/api/v1/cron-workflows/{ns}``               ``{"cronWorkflow": CronWorkflow}``
``GET  {base}/api/v1/workflows/{ns}/{name}``             the workflow with a status
``GET  {base}/api/v1/workflows/{ns}/{name}/log``         newline-delimited ``{"result": {...}}``
=======================================================  =========================================

Every request must carry ``Authorization: Bearer <token>`` (else 401). A body that is not
JSON, has the wrong key, names another namespace or fails the strict Argo v4 schema gets a 400.
Errors have Argo's (grpc-gateway) shape: ``{"code": N, "message": "..."}``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CREATE = {
    "workflows": ("workflow", "Workflow"),
    "workflow-templates": ("template", "WorkflowTemplate"),
    "cron-workflows": ("cronWorkflow", "CronWorkflow"),
}
UNAUTHENTICATED = {
    "code": 16,
    "message": "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/",
}


class Reject(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.body = status, {"code": code, "message": message}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None


@dataclass
class ArgoEmulator:
    """State of the fake server: what it accepts, and everything it was sent."""

    token: str
    namespace: str
    schema_errors: Callable[[Mapping[str, Any]], list[str]]
    base: str = ""
    created: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    # ---- create ---------------------------------------------------------------------------
    def create(self, resource: str, namespace: str, raw: bytes) -> dict[str, Any]:
        key, kind = CREATE[resource]
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise Reject(400, 3, f"body is not JSON: {exc}") from exc
        extra = set(body) - {key, "namespace", "createOptions", "serverDryRun"}
        if not isinstance(body.get(key), dict) or extra:
            raise Reject(400, 3, f"body needs the key {key!r} (and no {sorted(extra)})")
        doc = body[key]
        if doc.get("kind") != kind:
            raise Reject(400, 3, f"expected a {kind}, got {doc.get('kind')!r}")
        if doc.get("metadata", {}).get("namespace", namespace) != namespace:
            raise Reject(400, 3, f"the {kind}'s namespace is not {namespace!r}")
        errors = self.schema_errors(doc)
        if errors:
            raise Reject(400, 3, f"{kind}.argoproj.io is invalid: " + "; ".join(errors[:5]))
        meta = dict(doc["metadata"])
        name = meta.get("name") or f"{meta['generateName']}{len(self.created):05d}"
        meta |= {"name": name, "namespace": namespace, "uid": f"uid-{len(self.created)}"}
        meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
        created = {**doc, "metadata": meta}
        self.created[(kind, name)] = created
        return created

    # ---- read -----------------------------------------------------------------------------
    def workflow(self, name: str) -> dict[str, Any]:
        doc = self.created.get(("Workflow", name))
        if doc is None:
            raise Reject(404, 5, f'workflows.argoproj.io "{name}" not found')
        return {**doc, "status": self.status(doc)}

    def status(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A finished run: one DAG node, one pod per step; memoized steps hit every other time."""
        name = doc["metadata"]["name"]
        nodes: dict[str, Any] = {
            name: {"id": name, "name": name, "displayName": name, "type": "DAG"}
            | {"phase": "Succeeded", "templateName": "main"}
        }
        for i, t in enumerate(t for t in doc["spec"]["templates"] if "container" in t):
            node_id = f"{name}-{1000 + i}"
            node = {
                "id": node_id,
                "name": f"{name}.{t['name'].removeprefix('step-')}",
                "displayName": t["name"].removeprefix("step-"),
                "type": "Pod",
                "phase": "Succeeded",
                "templateName": t["name"],
                "boundaryID": name,
            }
            if "memoize" in t:
                memo = t["memoize"]
                node["memoizationStatus"] = {
                    "hit": i % 2 == 0,
                    "key": memo["key"] if not memo["key"].startswith("{{") else "k" * 64,
                    "cacheName": memo["cache"]["configMap"]["name"],
                }
            nodes[node_id] = node
        return {
            "phase": "Succeeded",
            "startedAt": "2026-01-01T00:00:00Z",
            "finishedAt": "2026-01-01T00:05:00Z",
            "progress": f"{len(nodes) - 1}/{len(nodes) - 1}",
            "nodes": nodes,
        }

    def log_lines(self, name: str, query: Mapping[str, list[str]]) -> list[dict[str, Any]]:
        if query.get("logOptions.container") != ["main"]:
            raise Reject(400, 3, "logOptions.container must be 'main'")
        step = (query.get("selector") or [""])[0].removeprefix("mlplatform.io/step=")
        wf = self.workflow(name)
        pods = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
        return [
            {"result": {"podName": n["id"], "content": f"step {n['displayName']}: ok"}}
            for n in pods
            if not step or n["displayName"] == step
        ]

    # ---- routing --------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> Any:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        self.requests.append(Request(method, url.path, query, raw or None))
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise Reject(401, 16, UNAUTHENTICATED["message"])
        api = re.escape(self.base) + r"/api/v1/"
        ns = r"(?P<ns>[^/]+)"
        create = api + rf"(?P<res>{'|'.join(CREATE)})/{ns}"
        if method == "POST" and (m := re.fullmatch(create, url.path)):
            self.check_namespace(m["ns"])
            return self.create(m["res"], m["ns"], raw)
        if method == "GET" and (
            m := re.fullmatch(api + rf"workflows/{ns}/(?P<name>[^/]+)(?P<log>/log)?", url.path)
        ):
            self.check_namespace(m["ns"])
            if m["log"]:
                return self.log_lines(m["name"], query)
            return self.workflow(m["name"])
        raise Reject(404, 5, f"no route for {method} {url.path}")

    def check_namespace(self, namespace: str) -> None:
        if namespace != self.namespace:
            raise Reject(403, 7, f"the token cannot use namespace {namespace!r}")


def _handler(emulator: ArgoEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                result = emulator.handle(method, self.path, self.headers, raw)
                status = 200
            except Reject as exc:
                result, status = exc.body, exc.status
            if isinstance(result, list):  # a log stream: newline-delimited JSON
                payload = "".join(json.dumps(line) + "\n" for line in result).encode()
            else:
                payload = json.dumps(result).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


class Server:
    """The emulator on 127.0.0.1 (port chosen by the OS), in a daemon thread."""

    def __init__(self, emulator: ArgoEmulator) -> None:
        self.emulator = emulator
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(emulator))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{self.emulator.base}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
