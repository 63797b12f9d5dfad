"""`mlp features ...`: the feature store (Feast) of this project, on this profile."""

from __future__ import annotations

from datetime import datetime
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
    help=(
        "The feature store (Feast): definitions, offline tables, online store, feature server."
        "\n\nThe definitions live in the project's feature repository ([features] repo, default"
        " ./features); the stores come from the profile: Parquet in the artifact store with"
        " SQLite on one machine, the S3 store with PostgreSQL on `mlp up`.\n\n"
        "Example:\n\n"
        "  mlp features ingest synthetic://churn-activity --path customer_activity.parquet\n\n"
        "  mlp features apply\n\n"
        "  mlp features materialize --incremental\n\n"
        "  mlp features serve --port 6566"
    ),
    no_args_is_help=True,
)


@app.command("apply")
def apply_(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
) -> None:
    """Register the feature repository's definitions (Feast's apply).

    What the repository no longer defines is removed from the registry.

    Example: mlp features apply --dry-run
    """
    from mlplatform.features import apply

    layout = workspace(ctx).feature_store()
    diff = apply(layout, dry_run=dry_run)
    console.print(diff if dry_run else f"applied {layout.repo} to project {layout.project}")


@app.command("materialize")
def materialize_(
    ctx: typer.Context,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental", help="From each view's last materialization (Feast's default)."
        ),
    ] = False,
    start: Annotated[
        datetime | None, typer.Option("--start", help="Start of the interval (ISO 8601).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option("--end", help="End of the interval (default: now).")
    ] = None,
    view: Annotated[
        list[str] | None, typer.Option("--view", help="Only this feature view (repeatable).")
    ] = None,
) -> None:
    """Load feature values from the offline store into the online store.

    Examples:

      mlp features materialize --incremental

      mlp features materialize --start 2026-01-01 --end 2026-12-01 --view customer_activity
    """
    from mlplatform.errors import ConfigError
    from mlplatform.features import materialize

    if incremental == (start is not None):
        raise ConfigError(
            "give either --incremental or --start (and optionally --end)",
            "mlp features materialize --incremental, or "
            "mlp features materialize --start 2026-01-01",
        )
    done = materialize(
        workspace(ctx).feature_store(),
        start=_aware(start) if start else None,
        end=_aware(end) if end else None,
        views=view or None,
    )
    console.print(f"materialized {', '.join(done)}")


@app.command("list")
def list_(ctx: typer.Context, output: FormatOpt = Format.table) -> None:
    """List the registry's entities, sources, feature views and feature services.

    Example: mlp features list --format json
    """
    from mlplatform.features import describe

    layout = workspace(ctx).feature_store()
    rows = [as_dict(r) for r in describe(layout)]
    if output is Format.json:
        print_json(rows)
    else:
        print_table(rows, ["kind", "name", "detail"], title=f"feature store {layout.project}")


@app.command("ingest")
def ingest_(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A CSV or Parquet path or URL, or synthetic://churn-activity (the example)."
        ),
    ],
    path: Annotated[
        str, typer.Option("--path", help="Where in the offline store, as the source's path.")
    ],
    timestamp_field: Annotated[
        str, typer.Option("--timestamp-field", help="The column holding each row's event time.")
    ] = "event_timestamp",
    rows: Annotated[int, typer.Option("--rows", help="synthetic:// only: entities.")] = 600,
    seed: Annotated[int, typer.Option("--seed", help="synthetic:// only: random seed.")] = 7,
) -> None:
    """Land a table in the offline store (one Parquet file, written atomically).

    Example: mlp features ingest data/activity.csv --path customer_activity.parquet
    """
    from mlplatform.components import ingest
    from mlplatform.features import write_table

    frame = ingest(source, rows=rows, seed=seed)
    written = write_table(
        workspace(ctx).feature_store(), frame, path, timestamp_field=timestamp_field
    )
    console.print(f"wrote {len(frame)} rows to {written}")


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 6566,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Also start Feast's metrics server.")
    ] = False,
) -> None:
    """Run Feast's feature server (`feast serve`) on this profile's stores.

    Example: mlp features serve --port 6566, then
    curl -X POST localhost:6566/get-online-features
    -d '{"feature_service": "churn", "entities": {"customer_id": [1000]}}'
    """
    import subprocess

    from mlplatform.features.serve import serve_command

    argv, env = serve_command(
        workspace(ctx).feature_store(), host=host, port=port, workers=workers, metrics=metrics
    )
    console.print(f"feast serve on http://{host}:{port} (Ctrl-C stops it)")
    try:
        raise typer.Exit(subprocess.call(argv, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
