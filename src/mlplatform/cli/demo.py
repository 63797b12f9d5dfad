"""`mlp demo`: the standard pipeline twice (the second run fully cached) and a summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import typer
from rich.panel import Panel
from rich.table import Table

from mlplatform.cli._console import console, print_table, workspace
from mlplatform.cli._progress import StepProgress
from mlplatform.demo import DEMO_PIPELINE, NEXT_STEPS, DemoReport, run_demo
from mlplatform.pipelines.local import ProgressEvent


def demo(ctx: typer.Context) -> None:
    """Run the whole lifecycle on the embedded default and show what happened.

    Example: mlp demo
    """
    ws = workspace(ctx)
    console.print(
        Panel.fit(
            "[bold]mlplatform demo[/]: the standard pipeline on scikit-learn's bundled "
            "breast-cancer "
            f"data.\nTracking: {ws.tracking_uri}\nArtifacts: {ws.store.root}"
        )
    )
    graph = ws.pipeline(DEMO_PIPELINE).graph
    with ExitStack() as stack:

        def progress(title: str) -> Callable[[ProgressEvent], None]:
            stack.close()
            bar = stack.enter_context(StepProgress(graph, console, title))
            return bar.update

        report = run_demo(ws, progress)
    summarize(report)


def _runs(report: DemoReport) -> Iterator[dict[str, object]]:
    for result in report.runs:
        yield {
            "run": result.run_id,
            "ran": sum(o.status == "ran" for o in result.steps.values()),
            "cached": len(result.cached),
            "seconds": f"{result.duration_s:.2f}",
        }


def summarize(report: DemoReport) -> None:
    print_table(list(_runs(report)), ["run", "ran", "cached", "seconds"], title="runs")
    metrics = report.evaluation.get("metrics", report.evaluation)
    rows = [{"metric": k, "value": v} for k, v in metrics.items() if isinstance(v, int | float)]
    print_table(rows, ["metric", "value"], title="holdout metrics")
    reg = report.registration
    print_table(
        [
            {
                "model": reg.get("name"),
                "version": reg.get("version"),
                "aliases": reg.get("aliases"),
                "promoted": reg.get("promoted"),
                "why": reg.get("reason"),
            }
        ],
        ["model", "version", "aliases", "promoted", "why"],
        title="registry",
    )
    grid = Table.grid(padding=(0, 2))
    for what, cmd in NEXT_STEPS:
        grid.add_row(what, f"[cyan]{cmd}[/]")
    console.print("\n[bold]Try next:[/]")
    console.print(grid, soft_wrap=True)
