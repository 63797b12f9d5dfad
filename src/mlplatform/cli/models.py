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


def _model_name(text: str) -> str:
    from mlplatform.grammar import parse_model_name

    return parse_model_name(text)


NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="Registered model name: the NAME of a model reference (docs/model-references.md).",
        callback=_model_name,
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the version's tags).")]


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
    name: NameArg,
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


VersionArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="The version to promote, as a model reference: NAME@ALIAS (its current version), "
        "NAME@VERSION or NAME/VERSION; or NAME with --version (docs/model-references.md).",
    ),
]


@app.command("promote")
def promote(
    ctx: typer.Context,
    model: VersionArg,
    version: Annotated[
        int | None, typer.Option("--version", help="Version to promote, with a bare NAME.")
    ] = None,
    alias: Annotated[str, typer.Option("--alias", help="Alias to move.")] = "champion",
    reason: ReasonOpt = "",
) -> None:
    """Move an alias to a version; records who, when and why in the version's tags.

    Examples:

      mlp models promote standard-model@challenger --reason "beats v1 on f1"

      mlp models promote standard-model/3 --alias champion --reason "better f1"

      mlp models promote standard-model --version 3
    """
    from mlplatform.tracking import promote as do_promote

    name, selected = _version_to_promote(model, version)
    ws = workspace(ctx)
    info = do_promote(
        name, alias, selected, tracking_uri=ws.tracking_uri, user=ws.settings.user, reason=reason
    )
    console.print(f"[green]{name}@{alias}[/] -> version {info.version}")


def _version_to_promote(model: str, version: int | None) -> tuple[str, str | int]:
    """(name, alias or version number) from a reference, or from NAME and ``--version``."""
    from mlplatform.errors import ModelReferenceError
    from mlplatform.grammar import parse_model_name, parse_model_ref

    if "@" in model or "/" in model:
        if version is not None:
            raise ModelReferenceError(
                f"{model!r} already names a version, and --version {version} names another",
                f"Pass one of them: `mlp models promote {model}` or "
                f"`mlp models promote NAME --version {version}`.",
            )
        ref = parse_model_ref(model)
        return ref.name, ref.alias_or_version
    name = parse_model_name(model)
    if version is None:
        raise ModelReferenceError(
            f"{model!r} does not say which version to promote",
            f"Name it: `mlp models promote {name}@challenger`, `mlp models promote {name}/3`, "
            f"or `mlp models promote {name} --version 3`.",
        )
    return name, version


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: NameArg,
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
