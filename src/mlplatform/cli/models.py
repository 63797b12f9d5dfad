"""`mlp models list|show|promote|rollback`: the MLflow registry with aliases."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplatform.cli._console import (
    Format,
    FormatOpt,
    as_dict,
    console,
    print_json,
    print_table,
    workspace,
)

app = typer.Typer(
    help="Registered models, versions and aliases.\n\nExample: mlp models show standard-model",
    no_args_is_help=True,
)

ReasonOpt = Annotated[
    str, typer.Option("--reason", "-r", help="Why (recorded in the version's tags).")
]


@app.command("list")
def list_(ctx: typer.Context, output: FormatOpt = Format.table) -> None:
    """List registered models with their latest version and aliases.

    Example: mlp models list --format json
    """
    from mlplatform.tracking import list_models

    rows = [as_dict(m) for m in list_models(workspace(ctx).tracking_uri)]
    if output is Format.json:
        print_json(rows)
    else:
        print_table(
            rows, ["name", "latest_version", "aliases", "updated"], title="registered models"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    output: FormatOpt = Format.table,
) -> None:
    """Show every version of a model: aliases, metrics and lineage tags.

    Example: mlp models show standard-model
    """
    from mlplatform.tracking import list_versions

    versions = [as_dict(v) for v in list_versions(name, tracking_uri=workspace(ctx).tracking_uri)]
    if output is Format.json:
        print_json(versions)
        return
    rows = [
        {
            **v,
            "metrics": {
                k: round(m, 4)
                for k, m in v["metrics"].items()
                if k in ("accuracy", "f1_macro", "roc_auc")
            },
            "pipeline_run": v["tags"].get("mlplatform.pipeline_run_id"),
        }
        for v in versions
    ]
    print_table(rows, ["version", "aliases", "metrics", "pipeline_run", "created"], title=name)


@app.command("promote")
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Option("--version", help="Version to promote.")],
    alias: Annotated[str, typer.Option("--alias", help="Alias to move.")] = "champion",
    reason: ReasonOpt = "",
) -> None:
    """Move an alias to a version; records who, when and why in the version's tags.

    Example: mlp models promote standard-model --alias champion --version 3 --reason "better f1"
    """
    from mlplatform.tracking import promote as do_promote

    ws = workspace(ctx)
    info = do_promote(
        name, alias, version, tracking_uri=ws.tracking_uri, user=ws.settings.user, reason=reason
    )
    console.print(f"[green]{name}@{alias}[/] -> version {info.version}")


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Option("--alias", help="Alias to move back.")] = "champion",
    reason: ReasonOpt = "",
) -> None:
    """Move an alias back to the version that held it before.

    Example: mlp models rollback standard-model --reason "latency regression"
    """
    from mlplatform.tracking import rollback as do_rollback

    ws = workspace(ctx)
    info = do_rollback(
        name, alias=alias, tracking_uri=ws.tracking_uri, user=ws.settings.user, reason=reason
    )
    console.print(f"[yellow]{name}@{alias}[/] rolled back to version {info.version}")
