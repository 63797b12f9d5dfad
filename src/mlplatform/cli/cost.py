"""`mlp cost estimate pipeline|deploy`, `mlp cost prices`: what a pipeline run or a deployed
model costs at the price tables' list prices (mlplatform.cost; docs/cost.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

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

if TYPE_CHECKING:
    from mlplatform.cost import PriceBasis

app = typer.Typer(
    help="Cost estimates at list prices (the price tables: `mlp cost prices`).\n\n"
    "Example: mlp cost estimate pipeline standard-training --cloud aws --region us-east-1\n\n"
    "Example: mlp cost estimate deploy churn-model@champion --cloud gcp --gpu 1",
    no_args_is_help=True,
)
estimate_app = typer.Typer(
    help="Estimate what a pipeline run or a deployment costs.\n\n"
    "Example: mlp cost estimate deploy churn-model@champion --cloud aws --replicas 3",
    no_args_is_help=True,
)
app.add_typer(estimate_app, name="estimate")

CloudOpt = Annotated[
    str | None,
    typer.Option("--cloud", help="aws, azure or gcp (default: cost.cloud, the profile's, aws)."),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(help="The cloud's region (default: cost.region, else the table's first)."),
]


@estimate_app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name (see `mlp pipeline list`).")],
    file: Annotated[
        str | None,
        typer.Option("--file", help="A pipeline module (.py) outside the project's list."),
    ] = None,
    cloud: CloudOpt = None,
    region: RegionOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """Estimate one run of a pipeline: each step's requested resources x the median of its
    past durations (its successful runs recorded in MLflow; cache hits left out) x the
    region's per-unit rates. A step with no recorded run shows "unknown" and is left out of
    the total; a pipeline with no recorded run at all is an error (run it once first).

    Example: mlp cost estimate pipeline standard-training --cloud gcp --region europe-west4

    Example: mlp cost estimate pipeline tiny --file flow.py -f json
    """
    from mlplatform.cost import Request, estimate_pipeline
    from mlplatform.errors import RegistryError
    from mlplatform.tracking.runs import step_durations

    ws = workspace(ctx)
    basis = ws.cost_basis(cloud, region)
    graph = ws.pipeline(name, file).graph
    requests = {
        n: Request.of(r.cpu, r.memory, r.gpu)
        for n in graph.order
        for r in [graph.nodes[n].step.resources]
    }
    durations = step_durations(ws.tracking_uri, ws.settings.experiment, graph.name)
    if not durations:
        rerun = f"mlp pipeline run {name}" + (f" --file {file}" if file else "")
        raise RegistryError(
            f"pipeline {graph.name!r} has no recorded step runs in experiment "
            f"{ws.settings.experiment!r} to take durations from",
            f"Run it once with `{rerun}` (tracked, the default), then estimate again.",
        )
    result = estimate_pipeline(graph.name, requests, durations, basis)
    if output is Format.json:
        print_json(as_dict(result))
        return
    rows = [_step_row(s) for s in as_dict(result)["steps"]]
    columns = ["node", "cpu", "memory_gb", "gpu", "usd_per_hour", "runs", "median_s", "cost_usd"]
    print_table(rows, columns, title=f"{graph.name}: one run on {_where(basis)}")
    console.print(f"total: [bold]${result.total_usd:.6f}[/] per run")
    if result.unknown:
        console.print(f"unknown (no recorded run, not in the total): {', '.join(result.unknown)}")
    _footer(basis)


@estimate_app.command("deploy")
def deploy(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="A model reference: NAME, NAME@ALIAS, NAME/VERSION, models:/NAME@ALIAS "
            "(docs/model-references.md).",
        ),
    ],
    cloud: CloudOpt = None,
    region: RegionOpt = None,
    instance_type: Annotated[
        list[str] | None,
        typer.Option(
            "--instance-type",
            help="Show the node view for this instance type only (repeatable; default: all).",
        ),
    ] = None,
    replicas: Annotated[
        int | None, typer.Option(min=0, help="Replicas (default: deploy.min_replicas).")
    ] = None,
    hours: Annotated[float, typer.Option(min=0, help="Hours (730: a month).")] = 730.0,
    cpu: Annotated[
        str | None, typer.Option(help="CPU request per replica (default: deploy.cpu_request).")
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(help="Memory request per replica (default: deploy.memory_request)."),
    ] = None,
    gpu: Annotated[int, typer.Option(min=0, help="GPUs per replica.")] = 0,
    output: FormatOpt = Format.table,
) -> None:
    """Estimate a deployed model: replicas x requests x hours x the region's per-unit
    rates, and per instance type how many replicas a node holds and what the nodes cost.
    The requests are those `mlp deploy model` renders (the deploy settings of mlplatform.toml)
    unless given.

    Example: mlp cost estimate deploy churn-model@champion --cloud aws --replicas 2

    Example: mlp cost estimate deploy churn-model/3 --cloud gcp --gpu 1 --hours 24

    Example: mlp cost estimate deploy churn-model --cloud azure --instance-type Standard_D4s_v5
    """
    from mlplatform.cost import Request, estimate_deploy
    from mlplatform.grammar import parse_model_ref

    model = parse_model_ref(ref)
    ws = workspace(ctx)
    d = ws.settings.deploy
    basis = ws.cost_basis(cloud, region)
    request = Request.of(cpu or d.cpu_request, memory or d.memory_request, gpu)
    count = d.min_replicas if replicas is None else replicas
    result = estimate_deploy(
        str(model),
        request,
        replicas=count,
        hours=hours,
        basis=basis,
        instance_types=instance_type or (),
    )
    if output is Format.json:
        print_json(as_dict(result))
        return
    console.print(
        f"{result.model}: {count} replica(s) x ({_request_text(request)}) x {hours:g} h "
        f"on {_where(basis)}"
    )
    console.print(
        f"at the per-unit rates: ${result.hourly_per_replica_usd:.6f} per replica-hour, "
        f"[bold]${result.cost_usd:.2f}[/] in all"
    )
    rows = [as_dict(f) for f in result.instances]
    columns = ["instance_type", "node_hourly_usd", "pods_per_node", "nodes", "cost_usd"]
    print_table(rows, columns, title="whole nodes per instance type (- : a replica does not fit)")
    _footer(basis)


@app.command("prices")
def prices(
    ctx: typer.Context,
    cloud: CloudOpt = None,
    region: RegionOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """Show a price table: each instance type's hourly list price and the derived rates.

    Example: mlp cost prices --cloud azure --region westeurope
    """
    from mlplatform.cost import load_prices

    basis = workspace(ctx).cost_basis(cloud, region)
    book = load_prices()
    table = book.cloud(basis.cloud)
    rows = [
        {
            "instance_type": i.name,
            "vcpu": i.shape.vcpu,
            "memory_gib": i.shape.memory_gib,
            "gpu": i.shape.gpu,
            "gpu_model": i.shape.gpu_model,
            "usd_per_hour": i.hourly,
        }
        for i in basis.instances
    ]
    data = {**as_dict(basis), "instances": rows, "source": table.source, "method": book.method}
    if output is Format.json:
        print_json(data)
        return
    print_table(rows, list(rows[0]), title=f"{_where(basis)}: list prices")
    r = basis.rates
    console.print(
        f"per-unit rates: ${r.cpu_core_hour:.6f}/vCPU-h, ${r.memory_gb_hour:.6f}/GB-h, "
        f"${r.gpu_hour:.6f}/GPU-h"
    )
    console.print(f"source: {table.source}")
    _footer(basis)


def _step_row(step: dict[str, Any]) -> dict[str, Any]:
    row = {**step, "usd_per_hour": step["hourly_usd"]}
    if step["cost_usd"] is None:
        row["cost_usd"] = "unknown"
    return row


def _request_text(request: Any) -> str:
    return f"{request.cpu:g} cpu, {request.memory_gb:.4g} GB, {request.gpu} gpu"


def _where(basis: PriceBasis) -> str:
    return f"{basis.cloud} {basis.region}"


def _footer(basis: PriceBasis) -> None:
    approx = " (approximate figures)" if basis.approximate else ""
    console.print(
        f"[dim]List prices as of {basis.as_of}{approx}; what you pay may differ "
        "(spot, discounts, taxes). `mlp cost prices` shows the table.[/]"
    )
