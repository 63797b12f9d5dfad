"""A Rich progress display for pipeline runs: one line per step plus an overall bar."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from mlplatform.pipelines.graph import PipelineGraph
from mlplatform.pipelines.local import ProgressEvent

__all__ = ["STATUS_STYLE", "StepProgress"]

STATUS_STYLE = {
    "waiting": "[dim]waiting[/]",
    "running": "[cyan]running[/]",
    "retrying": "[yellow]retrying[/]",
    "ran": "[green]done[/]",
    "cached": "[blue]cached[/]",
    "failed": "[bold red]failed[/]",
    "skipped": "[dim]skipped[/]",
    "interrupted": "[bold yellow]interrupted[/]",
    "corrupt": "[yellow]corrupt cache object, recomputing[/]",
}


class StepProgress:
    """Use as a context manager and pass ``update`` as the executor's progress callback."""

    def __init__(self, graph: PipelineGraph, console: Console, title: str) -> None:
        self.graph = graph
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.overall = self.progress.add_task(f"[bold]{title}", total=len(graph.order), status="")
        self.tasks: dict[str, TaskID] = {
            n: self.progress.add_task(
                f"  {n}", total=1, status=STATUS_STYLE["waiting"], start=False
            )
            for n in graph.order
        }
        self.started: dict[str, float] = {}

    def __enter__(self) -> StepProgress:
        self.progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def update(self, event: ProgressEvent) -> None:
        task = self.tasks[event.node]
        status = STATUS_STYLE.get(event.status, event.status)
        if event.status == "running":
            self.started[event.node] = time.perf_counter()
            self.progress.start_task(task)
        elif event.status == "retrying":
            status = f"{status} [dim]{event.message}[/]"
        if event.status == "ran" and event.node in self.started:
            status = f"{status} [dim]{time.perf_counter() - self.started[event.node]:.1f}s[/]"
        if event.status in ("ran", "cached", "failed", "skipped", "interrupted"):
            self.progress.start_task(task)
            self.progress.update(task, completed=1)
            self.progress.stop_task(task)
            self.progress.advance(self.overall)
        self.progress.update(task, status=status)
