"""`mlp mcp`: MLflow's Model Context Protocol server on the project's tracking store."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from mlplatform.cli._console import settings

__all__ = ["CLIENT_CONFIG_EXAMPLE", "ToolSet", "mcp"]

CLIENT_CONFIG_EXAMPLE = """{
  "mcpServers": {
    "mlflow": {
      "command": "mlp",
      "args": ["mcp"],
      "env": {"MLPLATFORM_HOME": "/path/to/project/.mlplatform"}
    }
  }
}"""


class ToolSet(StrEnum):
    """MLflow's tool groups (``MLFLOW_MCP_TOOLS``)."""

    genai = "genai"
    ml = "ml"
    all = "all"


def mcp(
    ctx: typer.Context,
    tools: Annotated[
        ToolSet,
        typer.Option(
            help="genai: traces, scorers, experiments, runs; ml: experiments, runs, models, "
            "deployments; all: both."
        ),
    ] = ToolSet.genai,
) -> None:
    """Run MLflow's MCP server (`mlflow mcp run`) on this project's tracking store.

    It speaks MCP over stdio: an MCP client starts it and lists its tools
    (search_traces, get_trace, log_trace_feedback, list_runs...).

    MLFLOW_TRACKING_URI is set to the settings' tracking URI (--tracking-uri,
    MLPLATFORM_TRACKING_URI, or the profile's store), MLFLOW_EXPERIMENT_NAME to
    the settings' experiment.

    Client configuration, for Claude Desktop (claude_desktop_config.json);
    VS Code's .vscode/mcp.json takes the same entry under "servers".
    MLPLATFORM_HOME names the local store; "MLPLATFORM_PROFILE": "team" picks
    the `mlp up` server instead:

    {
      "mcpServers": {
        "mlflow": {
          "command": "mlp",
          "args": ["mcp"],
          "env": {"MLPLATFORM_HOME": "/path/to/project/.mlplatform"}
        }
      }
    }

    Example: mlp mcp

    Example: mlp --profile team mcp --tools all
    """
    cfg = settings(ctx)
    os.environ["MLFLOW_TRACKING_URI"] = cfg.resolved_tracking_uri()
    os.environ["MLFLOW_EXPERIMENT_NAME"] = cfg.experiment
    os.environ["MLFLOW_MCP_TOOLS"] = tools.value  # read when MLflow's server module loads
    from mlflow.mcp.server import run_server

    run_server()
