"""Shared CLI plumbing: the console, output formats, and settings from the Typer context."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mlplatform.settings import Settings
from mlplatform.workspace import Workspace

__all__ = [
    "Format",
    "FormatOpt",
    "as_dict",
    "console",
    "err_console",
    "print_json",
    "print_table",
    "workspace",
]

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    """Output format of list/show/plan commands."""

    table = "table"
    json = "json"


FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="table for people, json for scripts.")
]


def as_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance (or mapping) as a plain dict, for tables and JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(obj)


def workspace(ctx: typer.Context) -> Workspace:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return Workspace(settings)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else (so scripts can parse it)."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    title: str | None = None,
    styles: Mapping[str, str] | None = None,
) -> None:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col.replace("_", " "), style=(styles or {}).get(col))
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
