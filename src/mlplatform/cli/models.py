"""`mlp models list|show|promote|rollback|card`: the MLflow registry with aliases, and each
version's model card; and the governed operations (`approve`, `reject`, `stage`, `archive`,
`delete`, `semver`, and `promote --stage`), checked against the rule set and recorded in the
audit log (``mlplatform.governance.operations``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlplatform.cli._console import (
    Format,
    FormatOpt,
    as_dict,
    console,
    err_console,
    print_json,
    print_table,
    workspace,
)
from mlplatform.cli._governance import actor, audit_log, rules

if TYPE_CHECKING:
    from mlplatform.governance.operations import Outcome
    from mlplatform.workspace import Workspace

app = typer.Typer(
    help="Registered models, versions and aliases.\n\nExample: mlp models show standard-model",
    no_args_is_help=True,
)


ModelArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="NAME for the whole model, or a model reference for one version: NAME@ALIAS, "
        "NAME@VERSION, NAME/VERSION (docs/model-references.md).",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded in the version's tags).")]


@app.command("list")
def list_(ctx: typer.Context, output: FormatOpt = Format.table) -> None:
    """List registered models with their latest version and aliases.

    Example: mlp models list --format json
    """
    from mlplatform.tracking import list_models

    rows = [as_dict(m) for m in list_models(workspace(ctx).tracking_uri)]
    if output is Format.json:
        print_json(rows)
    else:
        print_table(
            rows, ["name", "latest_version", "aliases", "updated"], title="registered models"
        )


@app.command("show")
def show(
    ctx: typer.Context,
    model: ModelArg,
    output: FormatOpt = Format.table,
) -> None:
    """Show a model's versions (or the one a reference names): aliases, metrics, lineage.

    Examples:

      mlp models show standard-model

      mlp models show standard-model@champion --format json
    """
    from mlplatform.tracking import get_version, list_versions

    uri = workspace(ctx).tracking_uri
    name, selected = _split_model(model)
    if selected is None:
        found = list_versions(name, tracking_uri=uri)
    else:
        found = [get_version(name, selected, tracking_uri=uri)]
    versions = [{**as_dict(v), **_governance(v)} for v in found]
    if output is Format.json:
        print_json(versions)
        return
    rows = [
        {
            **v,
            "metrics": {
                k: round(m, 4)
                for k, m in v["metrics"].items()
                if k in ("accuracy", "f1_macro", "roc_auc")
            },
            "pipeline_run": v["tags"].get("mlplatform.pipeline_run_id"),
        }
        for v in versions
    ]
    columns = ["version", "semver", "stage", "approval", "aliases", "metrics", "pipeline_run"]
    print_table(rows, [*columns, "created"], title=model)


def _governance(info: Any) -> dict[str, Any]:
    """The governance facts of a version for `show`: semver, stage, owner, author, approvals
    (every decision, oldest first) and the current one in words."""
    from dataclasses import asdict

    from mlplatform.governance.check import facts_from_version

    facts = facts_from_version(info)
    current = facts.approval
    approval = None
    if current is not None:
        approval = f"{current.decision or '?'} by {current.by or '?'} ({current.ticket or '-'})"
    return {
        "semver": facts.semver,
        "stage": facts.stage,
        "owner": facts.owner,
        "author": facts.author,
        "approvals": [asdict(a) for a in facts.approvals],
        "approval": approval,
    }


def _split_model(model: str) -> tuple[str, str | int | None]:
    """(name, alias or version) of a reference; (name, None) for a bare NAME (the whole model)."""
    from mlplatform.grammar import parse_model_name, parse_model_ref

    if "@" in model or "/" in model:
        ref = parse_model_ref(model)
        return ref.name, ref.alias if ref.alias is not None else ref.version
    return parse_model_name(model), None


VersionArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="The version to promote, as a model reference: NAME@ALIAS (its current version), "
        "NAME@VERSION or NAME/VERSION; or NAME with --version (docs/model-references.md).",
    ),
]


@app.command("promote")
def promote(
    ctx: typer.Context,
    model: VersionArg,
    version: Annotated[
        int | None, typer.Option("--version", help="Version to promote, with a bare NAME.")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            "--alias", help="Alias to move (default champion; with --stage, only if given)."
        ),
    ] = None,
    reason: ReasonOpt = "",
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            help="Move the version to this governance stage (staging, production, archived) "
            "if the rules allow it; refused, naming every missing condition, otherwise.",
        ),
    ] = None,
) -> None:
    """Move an alias to a version; records who, when and why in the version's tags and the
    audit log. A production alias (`production`, and `champion` where the project's
    `production_aliases` setting ties it to production) only moves to a version in the
    production stage. With --stage, move the version to a governance stage instead: checked
    against the rules and recorded; --stage production also moves the production aliases to
    it (and --alias, if given).

    Examples:

      mlp models promote standard-model@challenger --reason "beats v1 on f1"

      mlp models promote standard-model/3 --alias champion --reason "better f1"

      mlp models promote standard-model --version 3 --stage production
    """
    from mlplatform.governance.operations import move_alias

    name, selected = _version_to_promote(model, version, stage)
    ws = workspace(ctx)
    moves = [alias or "champion"]
    if stage is not None:
        target = selected if isinstance(selected, int) else _version_number(ws, name, selected)
        _move_stage(ws, name, target, stage, reason)
        production = rules(ws).production_aliases if stage == "production" else ()
        moves = list(dict.fromkeys([*production, *([alias] if alias else [])]))
        selected = target
    for moved in moves:
        done = move_alias(
            name,
            moved,
            selected,
            tracking_uri=ws.tracking_uri,
            actor=actor(ws),
            reason=reason,
            log=audit_log(ws),
            rules=rules(ws),
        )
        assert done is not None  # a log was given
        _done(done, f"[green]{name}@{moved}[/] -> version {done.version}")


def _version_number(ws: Workspace, name: str, alias: str) -> int:
    from mlplatform.tracking import get_version

    return get_version(name, alias, tracking_uri=ws.tracking_uri).version


def _version_to_promote(
    model: str, version: int | None, stage: str | None = None
) -> tuple[str, str | int]:
    """(name, alias or version number) from a reference, or from NAME and ``--version``."""
    from mlplatform.errors import ModelReferenceError

    tail = f" --stage {stage}" if stage is not None else ""
    name, selected = _split_model(model)
    if selected is not None and version is not None:
        raise ModelReferenceError(
            f"{model!r} already names a version, and --version {version} names another",
            f"Pass one of them: `mlp models promote {model}` or "
            f"`mlp models promote {name} --version {version}`.",
        )
    selected = selected if selected is not None else version
    if selected is None:
        raise ModelReferenceError(
            f"{model!r} does not say which version to promote",
            f"Name it: `mlp models promote {name}@challenger{tail}`, "
            f"`mlp models promote {name}/3{tail}`, "
            f"or `mlp models promote {name} --version 3{tail}`.",
        )
    return name, selected


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="NAME (with --alias, champion by default) or NAME@ALIAS: the alias to move back.",
        ),
    ],
    alias: Annotated[
        str | None, typer.Option("--alias", help="Alias to move back (default champion).")
    ] = None,
    reason: ReasonOpt = "",
) -> None:
    """Move an alias back to the version that held it before.

    Examples:

      mlp models rollback standard-model --reason "latency regression"

      mlp models rollback standard-model@challenger
    """
    from mlplatform.governance.operations import rollback_alias

    name, moved = _alias_to_roll_back(model, alias)
    ws = workspace(ctx)
    done = rollback_alias(
        name,
        moved,
        tracking_uri=ws.tracking_uri,
        actor=actor(ws),
        reason=reason,
        log=audit_log(ws),
        rules=rules(ws),
    )
    _done(done, f"[yellow]{name}@{moved}[/] rolled back to version {done.version}")


def _alias_to_roll_back(model: str, alias: str | None) -> tuple[str, str]:
    """(name, alias): from NAME@ALIAS, or NAME and ``--alias`` (champion by default)."""
    from mlplatform.errors import ModelReferenceError

    name, selected = _split_model(model)
    if isinstance(selected, int):
        raise ModelReferenceError(
            f"{model!r} names version {selected}; a rollback moves an alias back",
            f"Name the alias: `mlp models rollback {name}@champion`.",
        )
    if selected is not None and alias is not None and alias != selected:
        raise ModelReferenceError(
            f"{model!r} names the alias {selected!r}, and --alias names {alias!r}",
            f"Pass one of them: `mlp models rollback {model}`.",
        )
    return name, selected or alias or "champion"


# ---- governed operations (mlplatform.governance.operations) ------------------------------
_IDENTITY = (
    "Who acts is the `user` setting (MLPLATFORM_USER, else the OS user). On the team profile "
    "the `mlp up` MLflow server checks it (its password: MLFLOW_TRACKING_PASSWORD, or the "
    "credentials `mlp up` keeps). On the local profile that identity is self-asserted: anyone "
    "can set MLPLATFORM_USER, so four eyes is only as strong as the people using the project "
    "(docs/governance.md)."
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Registered model name.")]
NumberArg = Annotated[int, typer.Argument(metavar="VERSION", help="Version number.", min=1)]
TicketOpt = Annotated[
    str,
    typer.Option(
        "--ticket", help="The change ticket's key, e.g. MLOPS-123 (rule approval.ticket)."
    ),
]
NoteOpt = Annotated[str, typer.Option("--note", help="A note kept with the decision.")]


@app.command("approve", epilog=_IDENTITY)
def approve(
    ctx: typer.Context, name: NameArg, version: NumberArg, ticket: TicketOpt, note: NoteOpt = ""
) -> None:
    """Approve a version for production, under a change ticket.

    Records the approver, the time, the ticket and the note on the version, and in the audit
    log. The author of a version cannot approve it (four eyes).

    Example: mlp models approve churn 3 --ticket MLOPS-123 --note "reviewed eval report"
    """
    from mlplatform.governance.operations import approve as do_approve

    _decide(ctx, do_approve, "approved", name, version, ticket, note)


@app.command("reject", epilog=_IDENTITY)
def reject(
    ctx: typer.Context, name: NameArg, version: NumberArg, ticket: TicketOpt, note: NoteOpt = ""
) -> None:
    """Reject a version (withdraws a current approval).

    Records who, when, the ticket and the note on the version, and in the audit log. An author
    may reject their own version.

    Example: mlp models reject churn 3 --ticket MLOPS-123 --note "drift on segment B"
    """
    from mlplatform.governance.operations import reject as do_reject

    _decide(ctx, do_reject, "rejected", name, version, ticket, note)


def _decide(
    ctx: typer.Context,
    decide: Callable[..., Outcome],
    verb: str,
    name: str,
    version: int,
    ticket: str,
    note: str,
) -> None:
    """Record an approval or a rejection (``governance.operations``) as the workspace's actor."""
    ws = workspace(ctx)
    done = decide(
        _name(name),
        version,
        tracking_uri=ws.tracking_uri,
        actor=actor(ws),
        ticket=ticket,
        note=note,
        log=audit_log(ws),
        rules=rules(ws),
    )
    _done(done, f"{verb} by {done.record.who} ({ticket})")


@app.command("stage", epilog=_IDENTITY)
def stage(
    ctx: typer.Context,
    name: NameArg,
    version: NumberArg,
    to: Annotated[
        str,
        typer.Option("--to", "--stage", help="The stage: staging, production or archived."),
    ],
    note: NoteOpt = "",
) -> None:
    """Move a version to a governance stage: staging, production or archived.

    Refused, naming every rule not met, unless the version meets what the stage requires
    (docs/governance.md); a refusal changes nothing in the registry and is recorded in the audit
    log. Archiving is always allowed and lifts deletion protection.

    Example: mlp models stage churn 3 --to production
    """
    _move_stage(workspace(ctx), _name(name), version, to, note)


@app.command("archive", epilog=_IDENTITY)
def archive(ctx: typer.Context, name: NameArg, version: NumberArg, note: NoteOpt = "") -> None:
    """Archive a version (always allowed): it leaves production and can be deleted.

    Example: mlp models archive churn 3
    """
    _move_stage(workspace(ctx), _name(name), version, "archived", note)


@app.command("delete", epilog=_IDENTITY)
def delete(
    ctx: typer.Context,
    name: NameArg,
    version: Annotated[
        int | None,
        typer.Argument(metavar="[VERSION]", help="Version number; without it the whole model."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete. Without it, only print what would be deleted.")
    ] = False,
    note: NoteOpt = "",
) -> None:
    """Delete a version, or the whole registered model.

    A version in production, and a model holding one, cannot be deleted until archived
    (`mlp models archive NAME VERSION`). Without --yes nothing is deleted: what would be
    deleted is listed, and a protected version is reported. The deletion is recorded in the
    audit log.

    Example: mlp models delete churn 3 --yes

    Example: mlp models delete churn --yes      (every version)
    """
    from mlplatform.governance.check import refused
    from mlplatform.governance.operations import delete_model, delete_plan, delete_version

    ws = workspace(ctx)
    model = _name(name)
    if not yes:
        targets, violations = delete_plan(model, version, tracking_uri=ws.tracking_uri)
        what = f"delete {model}" + (f" v{version}" if version is not None else "")
        if violations:
            raise refused(what, violations, changed="Nothing was deleted.")
        for facts in targets:
            console.print(f"would delete {model} v{facts.version} ({facts.stage})", highlight=False)
        err_console.print("nothing deleted: pass --yes to delete", highlight=False)
        return
    kwargs: dict[str, Any] = {
        "tracking_uri": ws.tracking_uri,
        "actor": actor(ws),
        "note": note,
        "log": audit_log(ws),
    }
    if version is None:
        done = delete_model(model, **kwargs)
    else:
        done = delete_version(model, version, **kwargs)
    _done(done, "[red]deleted[/]")


@app.command("semver", epilog=_IDENTITY)
def semver(
    ctx: typer.Context,
    name: NameArg,
    version: NumberArg,
    value: Annotated[str, typer.Argument(metavar="X.Y.Z", help="The semantic version.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on the version).")],
) -> None:
    """Set a version's semantic version by hand, with a reason.

    Versions get one at registration (derived from what changed); this overrides it. It must be
    X.Y.Z and not the semantic version of another version of the model (rule semver.override).

    Example: mlp models semver churn 3 2.0.0 --reason "new feature set, same columns"
    """
    from mlplatform.governance.operations import set_semver

    ws = workspace(ctx)
    done = set_semver(
        _name(name),
        version,
        value,
        reason=reason,
        tracking_uri=ws.tracking_uri,
        actor=actor(ws),
        log=audit_log(ws),
    )
    _done(done, f"semver {value}")


def _move_stage(ws: Workspace, name: str, version: int, stage: str, note: str) -> None:
    from mlplatform.governance.operations import set_stage

    done = set_stage(
        name,
        version,
        stage,
        tracking_uri=ws.tracking_uri,
        actor=actor(ws),
        note=note,
        log=audit_log(ws),
        rules=rules(ws),
    )
    _done(done, f"{done.before} -> [green]{stage}[/]")


def _name(name: str) -> str:
    from mlplatform.grammar import parse_model_name

    return parse_model_name(name)


def _done(done: Outcome, what: str) -> None:
    version = f" v{done.version}" if done.version is not None else ""
    console.print(f"{done.name}{version}: {what} (audit record {done.record.seq})", highlight=False)


# ---- model card (mlplatform.components.model_card) --------------------------------------
@app.command("card")
def card(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="NAME (its champion), NAME@ALIAS, NAME@VERSION or NAME/VERSION "
            "(docs/model-references.md).",
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="Where to write the card (default NAME-vVERSION-card.html)."
        ),
    ] = None,
) -> None:
    """Write the HTML model card logged with a version (metrics, plots, data, lineage).

    Examples:

      mlp models card standard-model@champion

      mlp models card standard-model/3 -o card.html
    """
    from pathlib import Path

    from mlplatform.atomicfile import atomic_write_text
    from mlplatform.components.model_card import load_card

    name, selected = _split_model(model)
    ws = workspace(ctx)
    version, html = load_card(name, selected or "champion", tracking_uri=ws.tracking_uri)
    path = Path(output or f"{name}-v{version}-card.html")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, html)
    console.print(f"{name} v{version}: model card written to {path}", highlight=False)
