"""`mlp mcp`: MLflow's MCP server on the project's store, driven by the MCP Python client over
stdio. The trace it fetches is a real one: a chat call to the tiny model through the client
helper, traced into the project's store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from typer.testing import CliRunner

from mlplatform.cli.app import app
from mlplatform.cli.mcp import CLIENT_CONFIG_EXAMPLE
from mlplatform.llm.client import chat, enable_tracing, openai_client

from ._genai import tracing_restored

MLP = Path(sys.executable).with_name("mlp")


@pytest.fixture(scope="module")
def traced_project(tmp_path_factory, llm_endpoint):
    """A project folder whose local store holds one chat trace; (home, experiment id, reply)."""
    home = tmp_path_factory.mktemp("mcp-project")
    uri = f"sqlite:///{home / '.mlplatform' / 'mlflow.db'}"
    with tracing_restored():
        experiment_id = enable_tracing(uri, "mlplatform")  # the settings' default experiment
        client = openai_client(llm_endpoint.openai_base)
        reply = chat(client, [{"role": "user", "content": "Hello MCP"}], model=llm_endpoint.model)
    return home, experiment_id, reply


async def session_calls(home: Path, calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """Start `mlp mcp` in ``home`` as an MCP client does; list its tools, make ``calls``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLPLATFORM_"))}
    server = StdioServerParameters(command=str(MLP), args=["mcp"], env=env, cwd=str(home))
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(name, args) for name, args in calls]
    return {t.name for t in tools.tools}, results


def test_an_mcp_client_lists_the_tools_and_fetches_the_trace(traced_project):
    home, experiment_id, reply = traced_project
    calls = [
        ("get_trace", {"trace_id": reply.trace_id}),
        ("search_traces", {"experiment_id": experiment_id}),
    ]
    # WHEN an MCP client starts `mlp mcp` in the project folder (no MLflow variables set)
    tools, (got, searched) = asyncio.run(session_calls(home, calls))
    # THEN it offers MLflow's trace tools
    assert {"get_trace", "search_traces", "log_trace_feedback", "search_experiments"} <= tools
    # AND get_trace returns that trace from the project's store, with its token usage
    assert not got.isError, got.content
    trace = json.loads(got.content[0].text)
    assert trace["info"]["trace_id"] == reply.trace_id
    usage = json.loads(trace["info"]["trace_metadata"]["mlflow.trace.tokenUsage"])
    assert usage["total_tokens"] == reply.usage.total_tokens
    assert "Hello MCP" in got.content[0].text
    # AND search_traces in the settings' experiment finds it
    assert not searched.isError, searched.content
    assert reply.trace_id in searched.content[0].text


def test_the_documented_client_configuration_runs_mlp_mcp():
    # GIVEN the client configuration `mlp mcp --help` shows
    help_text = CliRunner().invoke(app, ["mcp", "--help"], terminal_width=100).output
    help_lines = [line.strip() for line in help_text.splitlines()]
    example = [line.strip() for line in CLIENT_CONFIG_EXAMPLE.splitlines()]
    start = help_lines.index(example[0])
    assert help_lines[start : start + len(example)] == example
    # THEN it is JSON that starts `mlp mcp` with mlplatform's settings variables only
    config = json.loads(CLIENT_CONFIG_EXAMPLE)
    (entry,) = config["mcpServers"].values()
    assert (entry["command"], entry["args"]) == ("mlp", ["mcp"])
    assert set(entry["env"]) <= {"MLPLATFORM_HOME", "MLPLATFORM_PROFILE", "MLPLATFORM_TRACKING_URI"}
