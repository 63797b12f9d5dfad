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


ModelArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="NAME for the whole model, or a model reference for one version: NAME@ALIAS, "
        "NAME@VERSION, NAME/VERSION (docs/model-references.md).",
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
    model: ModelArg,
    output: FormatOpt = Format.table,
) -> None:
    """Show a model's versions (or the one a reference names): aliases, metrics, lineage.

    Examples:

      mlp models show standard-model

      mlp models show standard-model@champion --format json
    """
    from mlplatform.tracking import get_version, list_versions

    uri = workspace(ctx).tracking_uri
    name, selected = _split_model(model)
    if selected is None:
        found = list_versions(name, tracking_uri=uri)
    else:
        found = [get_version(name, selected, tracking_uri=uri)]
    versions = [as_dict(v) for v in found]
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
    print_table(rows, ["version", "aliases", "metrics", "pipeline_run", "created"], title=model)


def _split_model(model: str) -> tuple[str, str | int | None]:
    """(name, alias or version) of a reference; (name, None) for a bare NAME (the whole model)."""
    from mlplatform.grammar import parse_model_name, parse_model_ref

    if "@" in model or "/" in model:
        ref = parse_model_ref(model)
        return ref.name, ref.alias if ref.alias is not None else ref.version
    return parse_model_name(model), None


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

    name, selected = _split_model(model)
    if selected is not None and version is not None:
        raise ModelReferenceError(
            f"{model!r} already names a version, and --version {version} names another",
            f"Pass one of them: `mlp models promote {model}` or "
            f"`mlp models promote {name} --version {version}`.",
        )
    selected = selected if selected is not None else version
    if selected is None:
        raise ModelReferenceError(
            f"{model!r} does not say which version to promote",
            f"Name it: `mlp models promote {name}@challenger`, `mlp models promote {name}/3`, "
            f"or `mlp models promote {name} --version 3`.",
        )
    return name, selected


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="NAME (with --alias, champion by default) or NAME@ALIAS: the alias to move back.",
        ),
    ],
    alias: Annotated[
        str | None, typer.Option("--alias", help="Alias to move back (default champion).")
    ] = None,
    reason: ReasonOpt = "",
) -> None:
    """Move an alias back to the version that held it before.

    Examples:

      mlp models rollback standard-model --reason "latency regression"

      mlp models rollback standard-model@challenger
    """
    from mlplatform.tracking import rollback as do_rollback

    name, moved = _alias_to_roll_back(model, alias)
    ws = workspace(ctx)
    info = do_rollback(
        name, alias=moved, tracking_uri=ws.tracking_uri, user=ws.settings.user, reason=reason
    )
    console.print(f"[yellow]{name}@{moved}[/] rolled back to version {info.version}")


def _alias_to_roll_back(model: str, alias: str | None) -> tuple[str, str]:
    """(name, alias): from NAME@ALIAS, or NAME and ``--alias`` (champion by default)."""
    from mlplatform.errors import ModelReferenceError

    name, selected = _split_model(model)
    if isinstance(selected, int):
        raise ModelReferenceError(
            f"{model!r} names version {selected}; a rollback moves an alias back",
            f"Name the alias: `mlp models rollback {name}@champion`.",
        )
    if selected is not None and alias is not None and alias != selected:
        raise ModelReferenceError(
            f"{model!r} names the alias {selected!r}, and --alias names {alias!r}",
            f"Pass one of them: `mlp models rollback {model}`.",
        )
    return name, selected or alias or "champion"
