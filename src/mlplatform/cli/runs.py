"""`mlp runs list|show`: pipeline runs recorded in MLflow."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplatform.cli._console import Format, FormatOpt, as_dict, print_json, print_table, workspace

app = typer.Typer(
    help="Pipeline runs recorded in MLflow.\n\nExample: mlp runs list --max 5", no_args_is_help=True
)


@app.command("list")
def list_(
    ctx: typer.Context,
    max_results: Annotated[int, typer.Option("--max", help="How many runs, newest first.")] = 20,
    output: FormatOpt = Format.table,
) -> None:
    """List pipeline runs (MLflow parent runs), newest first, with their estimated cost
    (cost_usd: requests x durations at the [cost] price table's list prices).

    Example: mlp runs list --format json
    """
    from mlplatform.tracking import list_runs

    ws = workspace(ctx)
    rows = [as_dict(r) for r in list_runs(ws.tracking_uri, ws.settings.experiment, max_results)]
    if output is Format.json:
        print_json(rows)
    else:
        columns = [
            c
            for c in (
                *("run_id", "name", "pipeline", "status", "start_time", "duration_s"),
                "cost_usd",
            )
            if not rows or c in rows[0]
        ]
        print_table(rows, columns, title=f"runs in experiment {ws.settings.experiment}")


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="MLflow run id (see `mlp runs list`).")],
    output: FormatOpt = Format.table,
) -> None:
    """Show one run: params, metrics, tags and its step runs with their estimated cost.

    Example: mlp runs show 3f2a9c...
    """
    from mlplatform.tracking import get_run

    run = as_dict(get_run(run_id, tracking_uri=workspace(ctx).tracking_uri))
    if output is Format.json:
        print_json(run)
        return
    flat = [{"field": k, "value": v} for k, v in run.items() if not isinstance(v, list | dict)]
    print_table(flat, ["field", "value"], title=f"run {run_id}")
    for section in ("params", "metrics"):
        if run.get(section):
            print_table(
                [{"name": k, "value": v} for k, v in run[section].items()],
                ["name", "value"],
                title=section,
            )
    steps = run.get("steps") or []
    if steps:
        columns = ["run_id", "name", "status", "outcome", "duration_s", "cost_usd"]
        print_table([as_dict(s) for s in steps], columns, title="steps")
