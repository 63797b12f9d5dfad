"""Shared CLI plumbing: the console, output formats, and settings from the Typer context.

Imported by every command module when ``mlp`` starts, so it imports nothing heavy: the
settings and the workspace load when a command first asks for them (``mlp --help`` never
does).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
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
    "settings",
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


def settings(ctx: typer.Context) -> Settings:
    """This invocation's settings, loaded on first use.

    The root callback leaves a loader in ``ctx.obj`` (or a test leaves ``Settings``); the
    first command that asks replaces the loader with what it returns.
    """
    from mlplatform.settings import Settings

    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = root.obj()
        assert isinstance(root.obj, Settings)
        root.call_on_close(_log_in(root.obj))
    assert isinstance(root.obj, Settings)
    return root.obj


def _log_in(s: Settings) -> Callable[[], None]:
    """Team profile: MLflow clients, and the pipeline steps they start, log in to the `mlp up`
    server as the settings' user (``mlflow_auth.client_credentials``); returns what restores
    the environment when the command ends."""
    import os

    if s.profile != "team":
        return lambda: None

    from mlplatform.services.mlflow_auth import PASSWORD_ENV, USERNAME_ENV, client_credentials

    user, password = client_credentials(s.user, s.home_dir / "services", os.environ)
    saved = {name: os.environ.get(name) for name in (USERNAME_ENV, PASSWORD_ENV)}
    os.environ[USERNAME_ENV] = user
    if password:
        os.environ[PASSWORD_ENV] = password
    else:  # someone else's password would only be refused
        os.environ.pop(PASSWORD_ENV, None)

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return restore


def workspace(ctx: typer.Context) -> Workspace:
    from mlplatform.workspace import Workspace

    return Workspace(settings(ctx))


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else (so scripts can parse it)."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    title: str | None = None,
    styles: Mapping[str, str] | None = None,
) -> None:
    from rich.table import Table

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
