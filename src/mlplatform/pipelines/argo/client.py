"""Talk to an Argo server: submit compiled documents, read status and logs.

Submission goes through Hera's ``WorkflowsService`` (the Argo server REST API). Rendering is
separate and pure (``compiler``); nothing here builds documents. Server errors are mapped to
``ArgoError`` at this boundary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import hera.workflows.models as m
from hera.exceptions import exception_from_server_response
from hera.workflows import WorkflowsService

from mlplatform.errors import ArgoError

__all__ = ["ArgoClient", "NodeStatus", "WorkflowStatus"]


@dataclass(frozen=True)
class NodeStatus:
    """One step of a workflow run."""

    name: str
    phase: str
    cache_hit: bool | None = None
    message: str = ""


@dataclass(frozen=True)
class WorkflowStatus:
    """A workflow run as the server reports it."""

    name: str
    phase: str
    started_at: str | None = None
    finished_at: str | None = None
    message: str = ""
    nodes: list[NodeStatus] = field(default_factory=list)


class ArgoClient:
    """A client for one Argo server and namespace."""

    def __init__(
        self, host: str, token: str | None, namespace: str, verify_ssl: bool = True
    ) -> None:
        self.namespace = namespace
        # Hera joins "api/v1/..." to the host with urljoin: without a trailing slash a path
        # prefix (an ingress path, ARGO_BASE_HREF) would be dropped
        self.service = WorkflowsService(
            host=host.rstrip("/") + "/", token=token, namespace=namespace, verify_ssl=verify_ssl
        )

    def submit(self, document: Mapping[str, Any]) -> str:
        """Create the workflow (or template, or cron workflow); returns its name."""
        kind = document.get("kind")
        try:
            if kind == "Workflow":
                created: Any = self.service.create_workflow(
                    m.WorkflowCreateRequest(workflow=m.Workflow.model_validate(document))
                )
            elif kind == "WorkflowTemplate":
                created = self.service.create_workflow_template(
                    m.WorkflowTemplateCreateRequest(
                        template=m.WorkflowTemplate.model_validate(document)
                    )
                )
            elif kind == "CronWorkflow":
                created = self.service.create_cron_workflow(
                    m.CreateCronWorkflowRequest(
                        cron_workflow=m.CronWorkflow.model_validate(document)
                    )
                )
            else:
                raise ArgoError(f"cannot submit a {kind!r}", "Compile with `mlp pipeline compile`.")
        except ArgoError:
            raise
        except Exception as exc:
            raise _server_error("submit", exc) from exc
        return str(created.metadata.name)

    def status(self, name: str) -> WorkflowStatus:
        try:
            wf = self.service.get_workflow(name)
        except Exception as exc:
            raise _server_error(f"read workflow {name!r}", exc) from exc
        status = wf.status
        nodes = (
            [
                NodeStatus(
                    name=node.display_name or node.name,
                    phase=str(node.phase or ""),
                    cache_hit=node.memoization_status.hit if node.memoization_status else None,
                    message=node.message or "",
                )
                for node in (status.nodes or {}).values()
                if node.type == "Pod"
            ]
            if status
            else []
        )
        return WorkflowStatus(
            name=name,
            phase=str(status.phase or "Unknown") if status else "Unknown",
            started_at=_time(status.started_at) if status else None,
            finished_at=_time(status.finished_at) if status else None,
            message=(status.message or "") if status else "",
            nodes=sorted(nodes, key=lambda n: n.name),
        )

    def logs(self, name: str, step: str | None = None) -> Iterator[str]:
        """Log lines of the run's main containers (``pod: line``), as the server streams them."""
        url = f"{self.service.host.rstrip('/')}/api/v1/workflows/{self.namespace}/{name}/log"
        params = {"logOptions.container": "main"}
        if step:
            params["grep"] = ""
            params["selector"] = f"mlplatform.io/step={step}"
        headers = {"Authorization": self.service.token} if self.service.token else {}
        try:
            import requests

            with requests.get(
                url,
                params=params,
                headers=headers,
                stream=True,
                timeout=30,
                verify=self.service.verify_ssl,
            ) as resp:
                if not resp.ok:
                    raise exception_from_server_response(resp)
                for raw in resp.iter_lines():
                    if raw:
                        entry = json.loads(raw).get("result", {})
                        yield f"{entry.get('podName', '?')}: {entry.get('content', '')}"
        except Exception as exc:
            raise _server_error(f"read logs of {name!r}", exc) from exc


def _time(value: Any) -> str | None:
    """ISO 8601 (``2026-01-01T00:00:00+00:00``), as the server sent it."""
    value = getattr(value, "root", value)
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _server_error(action: str, exc: Exception) -> ArgoError:
    return ArgoError(
        f"the Argo server refused to {action}: {exc}",
        "Check argo_server, argo_namespace and MLPLATFORM_ARGO_TOKEN (`argo auth token`).",
    )
