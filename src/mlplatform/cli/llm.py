"""`mlp llm`: LLMs in the registry (`register`, `list`, `show`); serving and benchmark
commands register into the same group from their own modules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform.cli._console import (
    Format,
    FormatOpt,
    as_dict,
    console,
    print_json,
    print_table,
    settings,
    workspace,
)
from mlplatform.cli._governance import actor, audit_log, rules

if TYPE_CHECKING:
    from mlplatform.llm.registry import RegisteredLLM

__all__ = ["app", "llm_cache_dir", "resolve"]

app = typer.Typer(
    help="LLMs: register them in the model registry, serve them on vLLM behind one local "
    "OpenAI endpoint, chat, evaluate and benchmark them (docs/llm.md).\n\n"
    "Example: mlp llm register --catalog tinyllama-1.1b --alias champion\n\n"
    "Example: mlp llm serve tiny-chat@champion\n\n"
    "Example: mlp llm register ./tiny-llama --name tiny-llama --alias challenger\n\n"
    "Example: mlp llm show tiny-llama@champion",
    no_args_is_help=True,
)


def llm_cache_dir(ctx: typer.Context) -> Path:
    """Where stored weights are downloaded to on this machine: ``<home>/llm-cache``."""
    return settings(ctx).home_dir / "llm-cache"


def resolve(ctx: typer.Context, ref: str) -> RegisteredLLM:
    """The LLM version ``ref`` names, stored weights downloaded to ``llm_cache_dir``."""
    from mlplatform.llm.registry import resolve_llm

    return resolve_llm(ref, tracking_uri=workspace(ctx).tracking_uri, cache_dir=llm_cache_dir(ctx))


@app.command("register")
def register(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="[SOURCE]",
            help="A checkpoint folder (stored in the registry) or a URI whose weights stay "
            "where they are: hf://ORG/NAME@COMMIT, s3://, gs://, abfs://.",
        ),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="A catalog key instead of SOURCE: tinyllama-1.1b, mistral-7b-instruct or "
            "codellama-7b-instruct.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Registered model name (default: catalog key or folder name)."),
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="Move this alias to the version (audited).")
    ] = None,
    served_name: Annotated[
        str | None, typer.Option(help="The OpenAI `model` name clients use (default: NAME).")
    ] = None,
    output: FormatOpt = Format.table,
) -> None:
    """Register an LLM version: its weights' place, shape and GPU memory as version tags.

    Registering the same weights again returns the existing version.

    Examples:

      mlp llm register --catalog tinyllama-1.1b --alias champion

      mlp llm register ./tiny-llama --name tiny-llama --alias challenger

      mlp llm register --name tinyllama \\
        hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@fe8a4ea1ffedaf415f4da2f062534de366a451e6

      mlp llm register s3://models/llama-7b --name llama-7b
    """
    from mlplatform.llm.registry import register_llm
    from mlplatform.llm.sources import parse_source

    ws = workspace(ctx)
    llm = register_llm(
        parse_source(source, catalog=catalog),
        tracking_uri=ws.tracking_uri,
        name=name,
        alias=alias,
        served_name=served_name,
        user=actor(ws),
        owner=ws.settings.owner,
        log=audit_log(ws),
        rules=rules(ws),
        storage_options=ws.settings.resolved_storage_options(),
    )
    if output is Format.json:
        print_json(as_dict(llm))
        return
    what = "registered" if llm.created else "already registered"
    at = f" ({alias} -> {llm.version})" if alias else ""
    console.print(f"[green]{llm.name}/{llm.version}[/] {what}{at}: {llm.weights_uri}")


@app.command("list")
def list_(ctx: typer.Context, output: FormatOpt = Format.table) -> None:
    """List every LLM version: aliases, served name, size, GPU memory, where the weights are.

    Example: mlp llm list --format json
    """
    from mlplatform.llm.registry import list_llms

    found = list_llms(workspace(ctx).tracking_uri)
    if output is Format.json:
        print_json([as_dict(llm) for llm in found])
        return
    rows = [_row(llm) for llm in found]
    columns = ["name", "version", "aliases", "served_name", "parameters", "dtype", "context"]
    print_table(rows, [*columns, "gpu_gib", "weights"], title="registered LLMs")


@app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="NAME for every version, or one version: NAME@ALIAS, NAME@VERSION, "
            "NAME/VERSION (docs/model-references.md).",
        ),
    ],
    output: FormatOpt = Format.table,
) -> None:
    """Show an LLM version's metadata (or every version of NAME).

    Examples:

      mlp llm show tiny-llama@champion

      mlp llm show tiny-llama/2 --format json

      mlp llm show tiny-llama
    """
    from mlplatform.grammar import parse_model_name
    from mlplatform.llm.registry import from_version, resolve_llm
    from mlplatform.tracking import list_versions

    uri = workspace(ctx).tracking_uri
    if "@" in model or "/" in model:
        found = [resolve_llm(model, tracking_uri=uri)]
    else:
        found = [from_version(v) for v in list_versions(parse_model_name(model), tracking_uri=uri)]
    if output is Format.json:
        print_json([as_dict(llm) for llm in found])
        return
    for llm in found:
        _print_metadata(llm)


def _row(llm: RegisteredLLM) -> dict[str, Any]:
    return {
        "name": llm.name,
        "version": llm.version,
        "aliases": list(llm.aliases),
        "served_name": llm.served_name,
        "parameters": f"{llm.shape.parameters:,}",
        "dtype": llm.shape.dtype,
        "context": llm.shape.context_length,
        "gpu_gib": f"{llm.gpu_memory_gib:.2f}",
        "weights": llm.weights_uri,
    }


def _print_metadata(llm: RegisteredLLM) -> None:
    from rich.table import Table

    s = llm.shape
    table = Table(title=f"{llm.name}/{llm.version}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = {
        "aliases": ", ".join(llm.aliases) or "-",
        "served name": llm.served_name,
        "architecture": s.architecture,
        "parameters": f"{s.parameters:,}",
        "dtype": s.dtype,
        "context length": f"{s.context_length:,}",
        "layers / KV heads / head dim": f"{s.num_layers} / {s.num_kv_heads} / {s.head_dim}",
        "GPU memory needed": f"{llm.gpu_memory_gib:.2f} GiB (one sequence at full context)",
        "weights": llm.weights_uri,
        "stored in registry": "yes" if llm.stored else "no (stays at its URI)",
        "catalog": llm.catalog_key or "-",
        "run": llm.run_id or "-",
        "created": str(llm.created_at or "-"),
    }
    for field, value in rows.items():
        table.add_row(field, value)
    console.print(table)
