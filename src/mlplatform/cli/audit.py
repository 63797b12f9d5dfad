"""`mlp audit list|verify|reconcile`: the tamper-evident audit log of registry changes
(``mlplatform.governance.audit``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform._exit import ExitCode
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
    from mlplatform.workspace import Workspace

app = typer.Typer(
    help="The audit log of registry changes: who changed what, when, and whether anyone "
    "tampered with the record.\n\nExample: mlp audit verify",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="One registered model's chain only.")
]
_COLUMNS = ("when", "model", "seq", "what", "version", "who", "ticket", "change", "note")


@app.command("list")
def list_(ctx: typer.Context, model: ModelOpt = None, output: FormatOpt = Format.table) -> None:
    """List the audit records, oldest first (one model's, or every chain's).

    Example: mlp audit list --model churn --format json
    """
    from mlplatform.governance.audit import records

    ws = workspace(ctx)
    found = records(store_root=ws.store.root, storage_options=ws.store.storage_options, model=model)
    rows = [as_dict(r) for r in found]
    if output is Format.json:
        print_json(rows)
        return
    if not rows:
        console.print("No audit records" + (f" for {model!r}." if model else "."))
        return
    print_table([_row(r) for r in rows], _COLUMNS, title=f"audit log in {ws.store.root}")


@app.command("verify")
def verify(ctx: typer.Context, model: ModelOpt = None) -> None:
    """Check every record's hash, HMAC and place in its chain, and each chain's end against
    the head kept in the registry. Exits with status 1 when a record was edited, removed,
    reordered or truncated (each problem is listed).

    Example: mlp audit verify --model churn
    """
    from mlplatform.governance.audit import verify as verify_log

    ws = workspace(ctx)
    problems = verify_log(
        store_root=ws.store.root,
        storage_options=ws.store.storage_options,
        key=_key(ws),
        tracking_uri=ws.tracking_uri,
        model=model,
    )
    if not problems:
        console.print("audit log intact" + (f" for {model!r}." if model else "."))
        return
    print_table([as_dict(p) for p in problems], ["kind", "message"], title="audit log problems")
    raise typer.Exit(ExitCode.FOUND)


@app.command("reconcile")
def reconcile_(
    ctx: typer.Context, model: ModelOpt = None, output: FormatOpt = Format.table
) -> None:
    """Record registry changes that no event recorded: compare the registry with the last
    recorded state (deletions, and changes made while the audit receiver was down), append
    one record per change, save the new state. A second run with no change records nothing;
    the first run only saves the state it starts from.

    Example: mlp audit reconcile --model churn
    """
    from mlplatform.cli._governance import audit_log
    from mlplatform.governance.reconcile import reconcile

    ws = workspace(ctx)
    log = audit_log(ws)
    done = reconcile(
        tracking_uri=ws.tracking_uri,
        store_root=log.store_root,
        storage_options=log.storage_options,
        key=log.key,
        model=model,
    )
    rows = [as_dict(r) for r in done.records]
    if output is Format.json:
        print_json({"baseline": done.baseline, "records": rows})
    elif done.baseline:
        console.print("No recorded state yet: saved the registry as it is now (nothing recorded).")
    elif not rows:
        console.print(
            "Nothing changed outside the platform" + (f" for {model!r}." if model else ".")
        )
    else:
        print_table([_row(r) for r in rows], _COLUMNS, title="recorded by reconciliation")


def _key(ws: Workspace) -> str:
    from mlplatform.errors import ConfigError

    key = ws.cache_key(create=False)
    if key is None:
        raise ConfigError(
            "no platform key to verify the audit log with",
            "Set MLPLATFORM_CACHE_KEY to the key the platform signs with (the team's shared "
            "key), or run on the machine whose .mlplatform/cache.key wrote the log.",
        )
    return key


def _row(record: dict[str, Any]) -> dict[str, Any]:
    change = None
    if record["before"] is not None or record["after"] is not None:
        change = f"{_short(record['before'])} -> {_short(record['after'])}"
    return {**record, "model": record["model"] or "(platform)", "change": change}


def _short(value: Any) -> str:
    return "-" if value is None else str(value)
