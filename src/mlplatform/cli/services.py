"""`mlp up | down | status | logs`: the team services as local processes (no Docker)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlplatform._exit import ExitCode
from mlplatform.cli._console import Format, FormatOpt, as_dict, console, print_json, print_table
from mlplatform.cli._console import settings as _settings
from mlplatform.errors import ServiceError

if TYPE_CHECKING:
    from mlplatform.services import ServicesConfig, ServiceStatus, Supervisor
    from mlplatform.settings import Settings

__all__ = ["down", "logs", "services_config", "status", "up"]

_STYLES = {"running": "green", "unhealthy": "yellow", "dead": "red", "failed": "red"}


class Store(StrEnum):
    """Where the MLflow server keeps artifacts."""

    s3 = "s3"
    azure = "azure"
    gcs = "gcs"


ServicesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Services (default: all): postgres, seaweedfs, mlflow, prometheus, ..."),
]


def services_config(settings: Settings) -> ServicesConfig:
    """The services' config from the settings (``[services]`` ports, the state folder)."""
    from mlplatform.services import Port, ServicesConfig

    s = settings.services
    numbers = {
        "postgres": s.postgres_port,
        "s3": s.s3_port,
        "seaweedfs_base": s.seaweedfs_base_port,
        "mlflow": s.mlflow_port,
        "prometheus": s.prometheus_port,
        "alertmanager": s.alertmanager_port,
        "azurite": s.azurite_port,
        "gcs": s.gcs_port,
        "audit_receiver": s.audit_receiver_port,
    }
    ports = {name: Port(n, f"services.{name}_port") for name, n in numbers.items()}
    return ServicesConfig(
        home=settings.home_dir / "services",
        ports=ports,
        bucket=s.bucket,
        users=tuple(s.users),
        production_aliases=tuple(settings.production_aliases),
    )


def _supervisor(ctx: typer.Context) -> Supervisor:
    """The services as started (their recorded config), else as the settings say."""
    from mlplatform.services import Supervisor

    cfg = services_config(_settings(ctx))
    return Supervisor.from_home(cfg.home) or Supervisor(cfg)


def up(
    ctx: typer.Context,
    services: ServicesArg = None,
    artifacts: Annotated[
        Store, typer.Option(help="Object store of MLflow's artifacts: s3, azure or gcs.")
    ] = Store.s3,
    watch: Annotated[
        bool, typer.Option("--watch/--no-watch", help="Restart services that die.")
    ] = True,
    output: FormatOpt = Format.table,
) -> None:
    """Start the team services on loopback: PostgreSQL, SeaweedFS, MLflow, Prometheus,
    Alertmanager. Idempotent; data stays across `mlp down` / `mlp up`.

    The MLflow server asks every client to log in (its basic-auth app). `mlp up` makes one
    account per name in the `users` setting ([services] users = ["alice", "bob"] in
    mlplatform.toml, or MLPLATFORM_SERVICES__USERS='["alice","bob"]'; default: the OS user),
    each with a random password kept in .mlplatform/services/credentials.json (0600); a
    restart keeps them. On the team profile the CLI logs in as the `user` setting
    (MLPLATFORM_USER, else the OS user) with MLFLOW_TRACKING_PASSWORD, else the password in
    that file, and the server's answer is who approves (four eyes: two accounts).

    Example: mlp up && mlp --profile team pipeline run standard-training
    """
    from mlplatform.services import Supervisor

    cfg = services_config(_settings(ctx)).with_changes(artifacts=artifacts.value)
    supervisor = Supervisor(cfg)
    quiet = output is Format.json

    def say(name: str, message: str) -> None:
        if not quiet:
            console.print(f"  {name:<13} {message}", highlight=False)

    began = time.monotonic()
    statuses = supervisor.up(services or (), progress=say)
    if watch:
        supervisor.start_watcher()
    _show(statuses, output, title=f"services up in {time.monotonic() - began:.1f}s")
    if not quiet:
        console.print(
            "Use them with [bold]--profile team[/] (or MLPLATFORM_PROFILE=team); "
            "`mlp status` checks them, `mlp down` stops them."
        )


def down(ctx: typer.Context, services: ServicesArg = None) -> None:
    """Stop the services `mlp up` started (by PID); their data stays for the next `mlp up`.

    Example: mlp down
    """
    supervisor = _supervisor(ctx)
    began = time.monotonic()
    stopped = supervisor.down(services or ())
    if not stopped:
        console.print("No services were running.")
        return
    for name, how in stopped:
        console.print(f"  {name:<13} {how}", highlight=False)
    console.print(f"stopped in {time.monotonic() - began:.1f}s")


def status(ctx: typer.Context, output: FormatOpt = Format.table) -> None:
    """Show each service: running, dead or failed, its URL, PID, restarts and last exit.
    Exits with status 1 (a check found something) when a service is not running.

    Example: mlp status --format json
    """
    supervisor = _supervisor(ctx)
    statuses = supervisor.status()
    if not statuses and output is Format.table:
        console.print("No services. Start them with `mlp up`.")
        return
    _show(statuses, output, title="services")
    if output is Format.table:
        watcher = "running" if supervisor.watcher_running() else "not running"
        console.print(f"watcher (restarts dead services): {watcher}")
    if any(s.state != "running" for s in statuses):
        raise typer.Exit(ExitCode.FOUND)


def logs(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="postgres, seaweedfs, mlflow, prometheus, ...")],
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep printing new lines (-f is --format everywhere).")
    ] = False,
) -> None:
    """Print the end of a service's log (`.mlplatform/services/logs/SERVICE.log`).

    Example: mlp logs mlflow -n 100 --follow
    """
    from mlplatform.services._process import tail

    path = _supervisor(ctx).cfg.log(service)
    if not path.is_file():
        raise ServiceError(f"no log for {service!r} at {path}", "Start it with `mlp up`.")
    typer.echo(tail(path, lines))
    if follow:
        _follow(path)


def _follow(path: Path) -> None:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        while True:
            chunk = fh.read()
            if chunk:
                typer.echo(chunk.decode(errors="replace"), nl=False)
            else:
                time.sleep(0.5)


def _show(statuses: list[ServiceStatus], output: Format, title: str) -> None:
    if output is Format.json:
        print_json([as_dict(s) for s in statuses])
        return
    rows = [{**as_dict(s), "state": _styled(s.state)} for s in statuses]
    print_table(rows, ["name", "state", "url", "pid", "restarts", "last_exit"], title=title)


def _styled(state: str) -> str:
    style = _STYLES.get(state)
    return f"[{style}]{state}[/]" if style else state
