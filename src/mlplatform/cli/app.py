"""The `mlp` command: one Typer app, one module per command group.

Every command's errors go through one printer (``mlplatform._exit.print_error``) and one
exit-status table (``mlplatform._exit``, docs/cli.md): 0 ok, 1 a check found something, 2 an
error. Our errors print a headline and a hint without a traceback (``--verbose`` shows it);
anything else is a bug and prints its traceback.

Command modules import only Typer and Rich at start-up; MLflow, pandas, the drift engine and
the demo load inside the command that needs them, so ``mlp --help`` answers at once.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from mlplatform import __version__
from mlplatform._exit import ExitCode, print_error
from mlplatform.cli import (
    audit,
    cost,
    demo,
    deploy,
    drift,
    features,
    llm,
    models,
    pipeline,
    runs,
    serve,
    services,
    ui,
)
from mlplatform.cli import features_skew as _features_skew  # noqa: F401  (`mlp features skew`)
from mlplatform.cli import llm_bench as _llm_bench  # noqa: F401  (registers `mlp llm bench`)
from mlplatform.cli import llm_demo as _llm_demo  # noqa: F401  (registers `mlp llm demo`)
from mlplatform.cli import llm_genai as _llm_genai  # noqa: F401  (registers `mlp llm evaluate`)
from mlplatform.cli import llm_serve as _llm_serve  # noqa: F401  (registers `mlp llm serve`)
from mlplatform.cli import mcp as _mcp

if TYPE_CHECKING:
    from typer._click import Context as ClickContext  # what TyperGroup.invoke is typed with

    from mlplatform.settings import Settings

__all__ = ["EXIT_STATUS_HELP", "app", "main"]

EXIT_STATUS_HELP = (
    "[bold]Exit status[/] (every command; docs/cli.md):\n\n"
    f"  {ExitCode.OK:<4}ok\n\n"
    f"  {ExitCode.FOUND:<4}a check found something: drift (mlp drift check, monitor), "
    "a service not running (mlp status), a broken audit chain (mlp audit verify)\n\n"
    f"  {ExitCode.ERROR:<4}an error: headline and hint; bad usage; a bug (with its traceback)\n\n"
    f"  {ExitCode.INTERRUPTED:<4}interrupted (Ctrl-C)"
)


class RootGroup(TyperGroup):
    """`mlp` itself: every command's errors end here, in the one printer."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # exit statuses, usage errors
            raise
        except Exception as exc:
            raise typer.Exit(print_error(exc, verbose=bool(ctx.params.get("verbose")))) from exc


app = typer.Typer(
    name="mlp",
    help="mlplatform: pipelines, tracking, registry and serving, "
    "the same locally and on a cluster.\n\n"
    "Example: mlp demo",
    cls=RootGroup,
    epilog=EXIT_STATUS_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(drift.app, name="drift")
app.add_typer(features.app, name="features")
app.add_typer(deploy.app, name="deploy")
app.add_typer(deploy.undeploy_app, name="undeploy")
app.add_typer(llm.app, name="llm")
app.add_typer(audit.app, name="audit")
app.add_typer(cost.app, name="cost")
app.command(name="demo")(demo.demo)
app.command(name="ui")(ui.ui)
app.command(name="serve")(serve.serve)
app.command(name="up")(services.up)
app.command(name="down")(services.down)
app.command(name="status")(services.status)
app.command(name="logs")(services.logs)
app.command(name="mcp")(_mcp.mcp)


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
    if not verbose:
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)

    def load() -> Settings:  # on first use (`_console.settings`), so `--help` never reads them
        from mlplatform.settings import load_settings

        return load_settings(
            profile=profile, tracking_uri=tracking_uri, artifact_store=artifact_store
        )

    ctx.obj = load


def main() -> None:
    """Console-script entry point (``mlp``, ``python -m mlplatform``)."""
    try:
        app(prog_name="mlp")
    except Exception as exc:  # a bug outside any command (building the command tree)
        sys.exit(print_error(exc))
