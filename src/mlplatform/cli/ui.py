"""`mlp ui`: the MLflow UI on the configured tracking store."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from mlplatform.cli._console import console, workspace


def ui(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port for the local UI.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the command instead of running it.")
    ] = False,
) -> None:
    """Open the MLflow UI for this project's runs and models.

    Example: mlp ui --port 5001
    """
    ws = workspace(ctx)
    uri = ws.tracking_uri
    if uri.startswith(("http://", "https://")):
        console.print(f"The tracking server's UI is at [link={uri}]{uri}[/link]")
        return
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
    ]
    if ws.settings.profile == "local":
        cmd += ["--default-artifact-root", ws.settings.mlflow_artifact_root()]
    if dry_run:
        typer.echo(" ".join(cmd))
        return
    console.print(f"MLflow UI on http://{host}:{port} (Ctrl+C to stop)")
    os.execv(cmd[0], cmd)
