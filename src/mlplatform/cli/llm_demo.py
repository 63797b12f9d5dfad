"""`mlp llm demo`: build, register, serve, chat, trace: the LLM lifecycle on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplatform.cli._console import console, print_table, settings, workspace
from mlplatform.cli.llm import app

__all__ = ["demo"]


@app.command("demo")
def demo(
    ctx: typer.Context,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Use a running `mlp llm serve` that serves tiny-chat (its base URL) instead "
            "of starting one."
        ),
    ] = None,
) -> None:
    """Build a tiny chat model, register it, serve it on vLLM, chat through the OpenAI client.

    Nothing is downloaded: the model (random weights, ~3 MB) and its tokenizer are made here,
    so the answers are noise; the path is real. Shows the answers, vLLM's metrics and the
    MLflow traces of the calls. Needs .venv-llm (`make install-llm`; `make demo-llm` does both).

    Example: mlp llm demo

    Example: mlp llm demo --endpoint http://127.0.0.1:8000
    """
    from rich.panel import Panel

    from mlplatform.llm.demo import run_llm_demo

    ws = workspace(ctx)
    home = settings(ctx).home_dir
    console.print(
        Panel.fit(
            "[bold]mlplatform LLM demo[/]: a tiny chat model on vLLM's CPU build.\n"
            f"Tracking: {ws.tracking_uri}"
        )
    )
    with console.status("working...") as status:

        def say(line: str) -> None:
            console.print(line)
            status.update(line)

        report = run_llm_demo(home, ws.tracking_uri, endpoint=endpoint, say=say)
    print_table(
        report.answers,
        ["question", "answer", "tokens", "latency_ms", "trace"],
        title="Answers (random tokens: the model is noise)",
    )
    print_table(
        [{"metric": k, "value": f"{v:g}"} for k, v in report.metrics.items()],
        ["metric", "value"],
        title="vLLM's own metrics (GET /engines/tiny-chat/metrics)",
    )
    print_table(report.traces, ["trace", "state", "tokens", "ms"], title="MLflow traces")
    console.print(
        f"Registered {report.registered}; prompt {report.prompt}. See them with "
        "`mlp ui` (Models, Prompts and Traces tabs), or serve the model yourself: "
        f"`mlp llm serve {report.registered}`."
    )
