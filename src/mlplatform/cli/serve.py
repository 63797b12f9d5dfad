"""`mlp serve`: serve a registered model on localhost over the KServe V1/V2 REST protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlplatform.cli._console import console, workspace
from mlplatform.retention import SAMPLE_FRACTION, SAMPLE_RETENTION_DAYS

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A model reference: NAME (its champion), NAME@ALIAS, NAME@VERSION, "
            "NAME/VERSION, models:/NAME@ALIAS or models:/NAME/VERSION "
            "(docs/model-references.md); or an MLflow model folder.",
        ),
    ],
    canary: Annotated[
        list[str] | None,
        typer.Option(
            "--canary",
            metavar="ALIAS=PCT",
            help="Also serve NAME@ALIAS (or NAME@VERSION) with PCT % of the traffic: a whole "
            "number 1 to 99 (repeatable).",
        ),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: serving.port, 8080).")] = None,
    host: Annotated[str | None, typer.Option(help="Address (default: 127.0.0.1).")] = None,
    max_batch_size: Annotated[int | None, typer.Option(help="Rows per micro-batch.")] = None,
    max_batch_wait_ms: Annotated[
        float | None, typer.Option(help="How long a batch may wait to fill when busy.")
    ] = None,
    max_queue: Annotated[
        int | None, typer.Option(help="Queued requests before 429 Too Many Requests.")
    ] = None,
    sample_fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of requests whose payloads are kept for drift, 0 to 1 (default: "
            f"serving.sample_fraction, {SAMPLE_FRACTION:g}: off). Payloads are personal data "
            "(docs/serving.md)."
        ),
    ] = None,
    sample_retention_days: Annotated[
        int | None,
        typer.Option(
            help="Days of sampled payloads kept; older days are deleted (default: "
            f"serving.sample_retention_days, {SAMPLE_RETENTION_DAYS})."
        ),
    ] = None,
    reload_interval_s: Annotated[
        float | None, typer.Option(help="Seconds between alias checks (hot reload).")
    ] = None,
) -> None:
    """Serve a model: KServe V1 and V2 REST, health, /metrics, micro-batching, canary.

    Aliases are followed: when `mlp models promote` moves the alias, the new version loads
    in the background and takes over with no failed request. With --canary, requests go to
    the canary with its weight; a client that sends the sticky header (x-session-id) always
    lands on the same variant. The chosen variant and version come back in the
    x-mlp-variant and x-mlp-model-version response headers.

    Example: mlp serve churn --canary challenger=10 --port 8080

    Example: mlp serve churn/3   (or churn@3, models:/churn/3: version 3, not followed)

    Then: curl -s localhost:8080/v1/models/churn:predict -d '{"instances": [[...]]}'
    """
    from mlplatform.serving import build_app
    from mlplatform.serving import serve as run
    from mlplatform.serving.tracing import server_tracing

    ws = workspace(ctx)
    config = ws.server_config(
        model,
        canaries=canary or (),
        port=port,
        host=host,
        max_batch_size=max_batch_size,
        max_batch_wait_ms=max_batch_wait_ms,
        max_queue=max_queue,
        sample_fraction=sample_fraction,
        sample_retention_days=sample_retention_days,
        reload_interval_s=reload_interval_s,
    )
    with console.status(f"loading {', '.join(v.model_uri for v in config.variants)} ..."):
        app = build_app(config, monitors=ws.drift_monitors(), tracing=server_tracing(config.name))
    targets = _targets_dir(ctx)
    target = f"{config.name}-{config.variants[0].name}"

    def started(address: str) -> None:
        url = f"http://{address}"
        for variant in app.service.variants:
            share = f"{variant.config.weight:g} %" if variant is not app.service.primary else ""
            console.print(
                f"[green]serving[/] {config.name} [bold]{variant.name}[/] v{variant.version} "
                f"{share}".rstrip(),
                highlight=False,
            )
        console.print(f"  V1  POST {url}/v1/models/{config.name}:predict", highlight=False)
        console.print(f"  V2  POST {url}/v2/models/{config.name}/infer", highlight=False)
        console.print(f"  metadata {url}/v2/models/{config.name}   metrics {url}/metrics")
        console.print("  Ctrl-C stops the server.")
        if targets is not None:
            from mlplatform.services.targets import register_target

            register_target(targets, target, address, {"model": config.name})

    try:
        run(app, config.host, config.port, on_started=started)
    finally:
        if targets is not None:
            from mlplatform.services.targets import unregister_target

            unregister_target(targets, target)


def _targets_dir(ctx: typer.Context) -> Path | None:
    """The Prometheus file-SD folder when `mlp up` services exist (so Prometheus scrapes this
    server), else None."""
    from mlplatform.cli.services import services_config

    services = services_config(workspace(ctx).settings)
    return services.targets_dir if services.home.is_dir() else None
