"""The `mlp` command: one Typer app, one module per command group.

Errors from mlplatform print as a one-line headline plus what to do, without a traceback
(``--verbose`` shows it); anything else is a bug and prints its traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from mlplatform import __version__
from mlplatform.cli import demo, deploy, drift, models, pipeline, runs, serve, services, ui
from mlplatform.cli._console import err_console
from mlplatform.errors import MlplatformError
from mlplatform.settings import load_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="mlp",
    help="mlplatform: pipelines, tracking, registry and serving, "
    "the same locally and on a cluster.\n\n"
    "Example: mlp demo",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(drift.app, name="drift")
app.add_typer(deploy.app, name="deploy")
app.command(name="demo")(demo.demo)
app.command(name="ui")(ui.ui)
app.command(name="serve")(serve.serve)
app.command(name="up")(services.up)
app.command(name="down")(services.down)
app.command(name="status")(services.status)
app.command(name="logs")(services.logs)

_state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlp {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option("--profile", envvar=None, help="local (default), team, aws, azure or gcp."),
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
    artifact_store: Annotated[str | None, typer.Option(help="Artifact store URL.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Settings: flag > MLPLATFORM_* environment > mlplatform.toml > defaults."""
    _state["verbose"] = verbose
    if not verbose:
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = load_settings(
        profile=profile, tracking_uri=tracking_uri, artifact_store=artifact_store
    )


def main() -> None:
    """Console-script entry point: our errors as headline + hint, exit status 1."""
    try:
        app(prog_name="mlp")
    except MlplatformError as exc:
        err_console.print(f"[bold red]error:[/] {exc.headline}", highlight=False)
        err_console.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)
        if exc.details:
            err_console.print(exc.details, highlight=False, markup=False)
        if _state["verbose"]:
            step_traceback = getattr(exc, "traceback", "")
            if step_traceback:
                err_console.print(step_traceback, highlight=False, markup=False)
            err_console.print_exception()
        sys.exit(1)
