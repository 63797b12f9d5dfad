"""`mlp deploy model`: a registered model as a KServe InferenceService (render, then apply)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform.cli._console import console, err_console, workspace

if TYPE_CHECKING:
    from mlplatform.serving.deploy import DeployOptions
    from mlplatform.settings import Settings

app = typer.Typer(
    help="Deploy registered models to Kubernetes (KServe Standard mode).\n\n"
    "Example: mlp deploy model churn-model@champion --cloud gcp --canary challenger=10 --dry-run",
    no_args_is_help=True,
)


class DocFormat(StrEnum):
    """How the rendered documents are written."""

    yaml = "yaml"
    json = "json"


class Autoscaler(StrEnum):
    hpa = "hpa"
    keda = "keda"


class Stage(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


@app.command("model")
def model(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A model reference: NAME (its champion), NAME@ALIAS, NAME@VERSION, "
            "NAME/VERSION, models:/NAME@ALIAS or models:/NAME/VERSION "
            "(docs/model-references.md).",
        ),
    ],
    cloud: Annotated[str, typer.Option("--cloud", help="aws, azure or gcp.")],
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary",
            metavar="ALIAS=PCT",
            help="Canary alias (or version) and its % of the traffic: a whole number 1 to 99.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the documents; contact no cluster.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the documents to this file.")
    ] = None,
    doc_format: Annotated[
        DocFormat,
        typer.Option("--format", "-f", help="yaml (multi-document) or json (a v1 List)."),
    ] = DocFormat.yaml,
    namespace: Annotated[str | None, typer.Option(help="Namespace (deploy.namespace).")] = None,
    min_replicas: Annotated[int | None, typer.Option(help="Fewest replicas.")] = None,
    max_replicas: Annotated[int | None, typer.Option(help="Most replicas.")] = None,
    autoscaler: Annotated[
        Autoscaler | None, typer.Option(help="hpa (CPU) or keda (request rate).")
    ] = None,
    storage_uri: Annotated[
        list[str] | None,
        typer.Option(
            "--storage-uri",
            metavar="[ALIAS=]URI",
            help="Where the cluster reads the model: URI for the primary, ALIAS=URI for a canary.",
        ),
    ] = None,
    stage: Annotated[Stage | None, typer.Option(help="Governance stage (deploy.stage).")] = None,
    approved_by: Annotated[
        str | None, typer.Option(help="Approver (default: who promoted the alias).")
    ] = None,
    approval_ticket: Annotated[
        str | None, typer.Option(help="Change ticket (production needs one).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="InferenceService name (default: from the model name).")
    ] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context to apply to.")] = None,
) -> None:
    """Render a model as a KServe InferenceService (+ HTTPRoute, PodMonitor) and apply it.

    Canaries become spec.canary[] entries; the HTTPRoute carries the traffic split.

    With --dry-run nothing is applied: the documents go to stdout, or to -o FILE.

    Example: mlp deploy model churn-model@champion --cloud gcp --canary challenger=10 --dry-run

    Example: mlp deploy model churn-model/3 --cloud aws --dry-run   (or churn-model@3)
    """
    from mlplatform.atomicfile import atomic_write_text
    from mlplatform.serving.deploy import (
        KubernetesApplier,
        apply_all,
        parse_storage_uris,
        render,
        resolve,
        to_json,
        to_yaml,
    )

    ws = workspace(ctx)
    options = deploy_options(
        ws.settings,
        cloud,
        namespace=namespace,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        autoscaler=autoscaler.value if autoscaler else None,
        stage=stage.value if stage else None,
        approved_by=approved_by,
        approval_ticket=approval_ticket,
        name=name,
    )
    spec = resolve(
        ref,
        options,
        tracking_uri=ws.tracking_uri,
        canaries=canary or (),
        storage_uris=parse_storage_uris(storage_uri or ()),
        azure_account=ws.settings.storage_options.get("account_name"),
    )
    documents = render(spec)
    text = to_json(documents) if doc_format is DocFormat.json else to_yaml(documents)
    if ws.settings.deploy.hostname is None:
        route = documents[2]["spec"]["hostnames"][0]
        err_console.print(f"[yellow]note:[/] deploy.hostname is not set; the route uses {route}")
    if output is not None:
        atomic_write_text(output, text)
        err_console.print(f"wrote {len(documents)} documents to {output}", highlight=False)
    if dry_run:
        if output is None:
            typer.echo(text, nl=False)
        return
    for applied in apply_all(documents, KubernetesApplier(context)):
        console.print(f"[green]applied[/] {applied}", highlight=False)


def deploy_options(settings: Settings, cloud: str, **flags: Any) -> DeployOptions:
    """``[deploy]`` settings, the platform image and owner, overridden by flags not ``None``."""
    from mlplatform.serving.deploy import DeployOptions, Resources

    d = settings.deploy
    options = DeployOptions(
        cloud=cloud,
        image=settings.image,
        image_digest=settings.image_digest,
        namespace=d.namespace,
        owner=settings.owner,
        stage=d.stage,
        service_account=d.service_account,
        min_replicas=d.min_replicas,
        max_replicas=d.max_replicas,
        autoscaler=d.autoscaler,
        resources=Resources(d.cpu_request, d.cpu_limit, d.memory_request, d.memory_limit),
        gateway_name=d.gateway_name,
        gateway_namespace=d.gateway_namespace,
        hostname=d.hostname,
    )
    return dataclasses.replace(options, **{k: v for k, v in flags.items() if v is not None})
