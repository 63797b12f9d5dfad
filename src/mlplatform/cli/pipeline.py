"""`mlp pipeline run|plan|list|show` locally, `compile|submit|status|logs` on Argo Workflows."""

from __future__ import annotations

from contextlib import ExitStack
from enum import StrEnum
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
    workspace,
)
from mlplatform.errors import ConfigError, StepFailedError

if TYPE_CHECKING:
    from mlplatform.pipelines.local import PipelineInterrupted, PipelineRunResult

app = typer.Typer(
    help="Run, plan and inspect pipelines.\n\n"
    "Example: mlp pipeline run standard-training -p model=logreg",
    no_args_is_help=True,
)

FileOpt = Annotated[
    str | None, typer.Option("--file", help="A pipeline module (.py) outside the project's list.")
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Parameter override NAME=VALUE (repeatable)."),
]


def parse_params(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"parameter {item!r} is not NAME=VALUE", "Write -p model=logreg.")
        out[name.strip()] = value
    return out


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name (see `mlp pipeline list`).")],
    param: ParamOpt = None,
    file: FileOpt = None,
    force: Annotated[
        list[str] | None,
        typer.Option("--force", help="Re-run this step even if cached (repeatable)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Steps to run in parallel.")] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Run steps in this process (for debugging).")
    ] = False,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
    stop_grace: Annotated[
        float,
        typer.Option(
            "--stop-grace",
            min=0,
            help="On Ctrl-C or SIGTERM, seconds running steps get between SIGTERM and SIGKILL.",
        ),
    ] = 10.0,
    output: FormatOpt = Format.table,
) -> None:
    """Run a pipeline locally: cached, resumable, steps in parallel.

    Ctrl-C or SIGTERM stops the running steps (SIGTERM, then SIGKILL after --stop-grace
    seconds), ends the MLflow runs as KILLED and exits 130; a re-run resumes from the
    completed steps.

    Example: mlp pipeline run standard-training -p model=logreg -p source=sklearn://wine
    """
    from mlplatform._exit import ExitCode
    from mlplatform.cli._progress import StepProgress
    from mlplatform.pipelines.local import PipelineInterrupted
    from mlplatform.workspace import resume_command

    ws = workspace(ctx)
    params = parse_params(param)
    pipe = ws.pipeline(name, file)
    graph = pipe.graph
    quiet = output is Format.json
    with ExitStack() as stack:
        bar = None if quiet else stack.enter_context(StepProgress(graph, console, graph.name))
        executor = ws.executor(
            workers=workers,
            in_process=in_process,
            force=force or (),
            progress=bar.update if bar else None,
            resume=resume_command(name, params, file),
            track=not no_track,
        )
        executor.options.stop_grace_s = stop_grace
        try:
            result = executor.run(graph, params)
        except StepFailedError as exc:
            stack.close()
            if not quiet:
                show_result(exc.result)
            raise
        except PipelineInterrupted as exc:
            stack.close()
            show_interrupted(exc, quiet)
            raise typer.Exit(ExitCode.INTERRUPTED) from None
    if quiet:
        print_json(result_dict(result))
    else:
        show_result(result)


def show_interrupted(exc: PipelineInterrupted, quiet: bool) -> None:
    """The interrupted run: its table (or JSON), then what was stopped and how to resume."""
    from rich.text import Text

    from mlplatform.cli._console import err_console

    if quiet:
        print_json(result_dict(exc.result))
    else:
        show_result(exc.result)
    err_console.print(
        Text.assemble(("interrupted:", "bold yellow"), " ", exc.message), soft_wrap=True
    )


def result_dict(result: PipelineRunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "pipeline": result.pipeline,
        "status": result.status,
        "params": result.params,
        "duration_s": round(result.duration_s, 3),
        "problems": result.problems,
        "unrecorded": result.unrecorded,
        "steps": {
            n: {
                "status": o.status,
                "cache_key": o.cache_key,
                "duration_s": round(o.duration_s, 3),
                "outputs": dict(o.outputs),
                "metrics": dict(o.metrics),
                "error": o.error,
            }
            for n, o in result.steps.items()
        },
    }


def show_result(result: PipelineRunResult) -> None:
    from rich.text import Text

    rows = [
        {
            "step": n,
            "status": o.status,
            "time": f"{o.duration_s:.2f}s" if o.status == "ran" else "-",
            "key": o.cache_key[:12] or "-",
            "metrics": {k: round(v, 4) for k, v in list(o.metrics.items())[:3]} or None,
        }
        for n, o in result.steps.items()
    ]
    print_table(
        rows,
        ["step", "status", "time", "key", "metrics"],
        title=f"run {result.run_id}: {result.status} in {result.duration_s:.2f}s",
    )
    for problem in result.problems:
        console.print(f"[yellow]recomputed:[/] {problem}")
    for line in result.unrecorded:
        console.print(Text.assemble(("tracking:", "yellow"), " ", line), highlight=False)


@app.command("plan")
def plan(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    param: ParamOpt = None,
    file: FileOpt = None,
    force: Annotated[
        list[str] | None, typer.Option("--force", help="Plan as if this step were forced.")
    ] = None,
    output: FormatOpt = Format.table,
) -> None:
    """Show, per step, cache hit or miss and which key part changed since the last run.

    Example: mlp pipeline plan standard-training -p model=logreg
    """
    from mlplatform.pipelines.plan import plan as make_plan

    ws = workspace(ctx)
    pipe = ws.pipeline(name, file)
    executor = ws.executor(track=False, read_only=True)
    entries = make_plan(executor, pipe.graph, parse_params(param), force=force or ())
    if output is Format.json:
        print_json([e.to_dict() for e in entries])
        return
    rows = [
        {
            "step": e.node,
            "status": e.status,
            "key": (e.key or "")[:12] or "-",
            "why": "; ".join(e.changed) or "-",
        }
        for e in entries
    ]
    print_table(rows, ["step", "status", "key", "why"], title=f"plan for {pipe.name}")
    for e in entries:
        for data_param, fp in e.data.items():
            if fp["method"] not in ("value", "absent"):
                size = f", {fp['size']} bytes" if fp["size"] is not None else ""
                console.print(
                    f"data {e.node}.{data_param}: {fp['source']} {fp['method']} "
                    f"{str(fp['digest'])[:12]}… ({fp['objects']} object(s){size})",
                    markup=False,
                    highlight=False,
                )
        for note in e.notes:
            console.print(f"note: {e.node}: {note}", markup=False, highlight=False)


@app.command("list")
def list_(
    ctx: typer.Context,
    file: FileOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """List the pipelines this project defines.

    Example: mlp pipeline list --format json
    """
    pipes = workspace(ctx).pipelines(file)
    rows = [
        {
            "name": p.name,
            "steps": len(p.graph.order),
            "module": p.fn.__module__,
            "description": p.description.splitlines()[0] if p.description else "",
        }
        for p in sorted(pipes.values(), key=lambda p: p.name)
    ]
    if output is Format.json:
        print_json(rows)
    else:
        print_table(rows, ["name", "steps", "module", "description"], title="pipelines")


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    file: FileOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """Show a pipeline's parameters and steps (the graph IR).

    Example: mlp pipeline show standard-training --format json
    """
    graph = workspace(ctx).pipeline(name, file).graph
    data = graph.to_dict()
    if output is Format.json:
        print_json(data)
        return
    print_table(
        [{"parameter": k, **v} for k, v in data["params"].items()],
        ["parameter", "type", "default"],
        title=f"{graph.name}: parameters",
    )
    rows = [
        {
            "step": n["name"],
            "after": n["upstream"] or None,
            "inputs": {k: next(iter(v.values())) for k, v in n["inputs"].items()},
            "outputs": list(n["outputs"]) or None,
            "resources": "cpu={cpu:g} mem={memory} gpu={gpu}".format(**n["resources"]),
            "retries": n["retries"]["count"],
            "timeout": n["timeout"],
        }
        for n in data["nodes"]
    ]
    print_table(
        rows,
        ["step", "after", "inputs", "outputs", "resources", "retries", "timeout"],
        title=f"{graph.name}: steps",
    )


class Target(StrEnum):
    """Where a pipeline compiles to."""

    argo = "argo"


class CloudName(StrEnum):
    """Clouds the platform deploys to."""

    aws = "aws"
    azure = "azure"
    gcp = "gcp"


CloudOpt = Annotated[CloudName, typer.Option("--cloud", help="Node pools, identity and store.")]
ScheduleOpt = Annotated[
    str | None,
    typer.Option("--schedule", help="Cron schedule: a WorkflowTemplate plus a CronWorkflow."),
]


def _compiled(
    ctx: typer.Context,
    name: str,
    param: list[str] | None,
    file: str | None,
    cloud: CloudName,
    schedule: str | None,
) -> list[dict[str, Any]]:
    from mlplatform.pipelines.argo import compile_pipeline

    ws = workspace(ctx)
    graph = ws.pipeline(name, file).graph
    return compile_pipeline(graph, parse_params(param), ws.compile_options(cloud.value, schedule))


@app.command("compile")
def compile_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    target: Annotated[Target, typer.Option("--target", help="What to compile to.")] = Target.argo,
    cloud: CloudOpt = CloudName.aws,
    schedule: ScheduleOpt = None,
    param: ParamOpt = None,
    file: FileOpt = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Compile a pipeline to Argo Workflows YAML, offline and deterministically.

    Example: mlp pipeline compile standard-training --target argo --cloud aws -o wf.yaml
    """
    from mlplatform.atomicfile import atomic_write_text
    from mlplatform.pipelines.argo import to_yaml

    text = to_yaml(_compiled(ctx, name, param, file, cloud, schedule))
    if out is None:
        typer.echo(text, nl=False)
        return
    atomic_write_text(out, text)
    console.print(f"wrote {out} ({'WorkflowTemplate + CronWorkflow' if schedule else 'Workflow'})")


@app.command("submit")
def submit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    cloud: CloudOpt = CloudName.aws,
    schedule: ScheduleOpt = None,
    param: ParamOpt = None,
    file: FileOpt = None,
) -> None:
    """Compile and submit a pipeline to the Argo server in the settings.

    Example: MLPLATFORM_ARGO_TOKEN=$(argo auth token) mlp pipeline submit standard-training

    The token comes from MLPLATFORM_ARGO_TOKEN, the server from argo_server in the settings.
    """
    client = workspace(ctx).argo_client()
    for doc in _compiled(ctx, name, param, file, cloud, schedule):
        created = client.submit(doc)
        console.print(f"submitted {doc['kind']} [bold]{created}[/] to {client.namespace}")


@app.command("status")
def status(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="Workflow name (from `mlp pipeline submit`).")],
    output: FormatOpt = Format.table,
) -> None:
    """Show an Argo workflow run: phase and, per step, phase and cache hit.

    Example: mlp pipeline status standard-training-x7k2p --format json
    """
    st = workspace(ctx).argo_client().status(workflow)
    if output is Format.json:
        print_json(as_dict(st))
        return
    rows = [as_dict(n) for n in st.nodes]
    print_table(rows, ["name", "phase", "cache_hit", "message"], title=f"{st.name}: {st.phase}")


@app.command("logs")
def logs(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="Workflow name.")],
    step: Annotated[str | None, typer.Option("--step", help="Only this step.")] = None,
) -> None:
    """Print the logs of an Argo workflow run's steps.

    Example: mlp pipeline logs standard-training-x7k2p --step train
    """
    for line in workspace(ctx).argo_client().logs(workflow, step):
        typer.echo(line)
