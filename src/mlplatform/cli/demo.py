"""`mlp demo`: the stages of ``mlplatform.demo`` (train twice, drift, serve) and a summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlplatform.cli._console import console, print_table, workspace

if TYPE_CHECKING:
    from mlplatform.demo import DemoReport
    from mlplatform.pipelines.local import ProgressEvent


def demo(ctx: typer.Context) -> None:
    """Run the whole lifecycle on the embedded default and show what happened.

    Example: mlp demo
    """
    from rich.panel import Panel

    from mlplatform.cli._progress import StepProgress
    from mlplatform.demo import DEMO_PIPELINE, run_demo

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
    from rich.table import Table

    from mlplatform.demo import NEXT_STEPS

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
    _print_governance(report)
    _print_serving(report)
    _print_drift(report)
    grid = Table.grid(padding=(0, 2))
    for what, cmd in NEXT_STEPS:
        grid.add_row(what, f"[cyan]{cmd}[/]")
    console.print("\n[bold]Try next:[/]")
    console.print(grid, soft_wrap=True)


def _print_governance(report: DemoReport) -> None:
    gov = report.governance
    if gov is None:
        return
    refused = (
        f"refused without an approval ({', '.join(gov.refused_rules)}); nothing changed"
        if gov.refused_rules
        else "approved by an earlier demo run"
    )
    rows = [
        ("version", f"v{gov.version} = {gov.semver}, registered by {gov.author}"),
        ("promote to production", refused),
        ("approval", f"{gov.approved_by} under {gov.ticket} (four eyes: not the author)"),
        ("stage", f"{gov.stage}; aliases {', '.join(gov.aliases)}"),
        ("audit log", f"{gov.audit_records} records, {'intact' if gov.audit_intact else 'BROKEN'}"),
    ]
    print_table(
        [{"what": what, "value": value} for what, value in rows],
        ["what", "value"],
        title="governance: the way to production",
    )


def _print_serving(report: DemoReport) -> None:
    served = report.serving
    if served is None:
        return
    codes = ", ".join(f"{n:g} x {code}" for code, n in sorted(served.codes.items()))
    rows = [
        ("served", f"v{served.version} at {served.url} (KServe V1 and V2 REST)"),
        ("requests", f"{served.requests} single-row, {served.concurrency} at a time"),
        ("throughput", f"{served.requests / served.seconds:.0f} requests/s"),
        ("latency (client)", f"p50 {served.p50_ms:.1f} ms, p99 {served.p99_ms:.1f} ms"),
        ("answers (server)", codes),
        ("micro-batches", f"{served.mean_batch_rows:.1f} rows on average"),
        ("sampled for drift", f"{served.sampled_rows} rows -> {served.samples_key}"),
    ]
    print_table(
        [{"what": what, "value": value} for what, value in rows],
        ["what", "value"],
        title="serving the champion",
    )


def _print_drift(report: DemoReport) -> None:
    rows = [
        {
            "batch": batch.name,
            "rows": batch.result.current_rows,
            "verdict": "DRIFT" if batch.result.drifted else "no drift",
            "drifted": f"{len(batch.result.drifted_columns)} of {len(batch.result.columns)}",
            "share": f"{batch.result.drift_share:.2f}",
            "report": _near(batch.report),
        }
        for batch in report.drift
    ]
    if rows:
        columns = ["batch", "rows", "verdict", "drifted", "share", "report"]
        print_table(rows, columns, title="drift against the registered model's profile")


def _near(path: str) -> str:
    """A path relative to the working directory when it lies below it."""
    full = Path(path).resolve()
    return str(full.relative_to(Path.cwd())) if full.is_relative_to(Path.cwd()) else path
