"""`mlp models approve|reject|stage|archive|delete|semver` and `promote --stage`, through the
real CLI on the local profile (MLflow on SQLite and the audit log under .mlplatform/).

GIVEN churn v1, registered by ada with an owner, a semantic version, a run and a passed gate
(ready for production but for an approval), and churn v2 with no governance facts, WHEN ada
and bob (MLPLATFORM_USER) work through approval to production and deletion, THEN each refusal
names its rules and leaves the registry as it was, and `mlp audit verify` finds the chain
intact at the end. Every command a hint names is accepted by the CLI's parser.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from mlflow import MlflowClient
from typer.core import TyperGroup
from typer.exceptions import TyperException

from mlplatform.cli.app import app
from mlplatform.governance.audit import HEAD_TAG
from mlplatform.governance.rules import (
    AUTHOR_TAG,
    GATE_TAG,
    OWNER_TAG,
    RULES,
    SEMVER_TAG,
)

READY = {OWNER_TAG: "risk-team", AUTHOR_TAG: "ada", GATE_TAG: "passed", SEMVER_TAG: "1.0.0"}
HINT = re.compile(r"`(mlp [^`]+)`")
PLACEHOLDERS = {
    "NAME": "churn",
    "VERSION": "1",
    "X.Y.Z": "1.2.3",
    "TEXT": "why",
    "TICKET": "MLOPS-1",
}


@pytest.fixture
def uri(project: Path) -> str:
    """The local profile's registry (.mlplatform/mlflow.db) with churn v1 and v2."""
    (project / ".mlplatform").mkdir()
    uri = f"sqlite:///{project / '.mlplatform' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("gov", artifact_location=(project / "art").as_uri())
    client.create_registered_model("churn")
    for tags in (READY, {}):
        run = client.create_run(exp).info.run_id
        client.create_model_version("churn", f"runs:/{run}/model", run_id=run, tags=tags)
    return uri


def mlp(runner: Any, user: str, *args: str) -> tuple[int, str]:
    """Run `mlp ARGS` as ``user``: the exit status and the output, whitespace collapsed."""
    result = runner.invoke(app, list(args), env={"MLPLATFORM_USER": user})
    return result.exit_code, " ".join(result.output.split())


def snapshot(uri: str) -> dict[str, Any]:
    """Version tags, aliases and model tags (but the audit head, the log's bookkeeping)."""
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    model = client.get_registered_model("churn")
    return {
        "versions": {v.version: dict(v.tags) for v in client.search_model_versions("name='churn'")},
        "aliases": dict(model.aliases),
        "model_tags": {k: v for k, v in model.tags.items() if k != HEAD_TAG},
    }


def audit_log(runner: Any) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["audit", "list", "--model", "churn", "--format", "json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def show(runner: Any, ref: str) -> dict[str, Any]:
    result = runner.invoke(app, ["models", "show", ref, "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout)[0])


def parses(argv: list[str]) -> str:
    """The command ``argv`` (after `mlp`) resolves to, parsed as the CLI parses it, without
    running it: a missing argument, an unknown option or command raises a usage error."""
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("mlp", list(argv))
    while isinstance(command, TyperGroup):
        # what TyperGroup.invoke hands on to the subcommand (typer's vendored click)
        name, found, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert found is not None
        assert name is not None
        command, ctx = found, found.make_context(name, rest, parent=ctx)
    return str(command.name)


def hint_commands(text: str) -> list[list[str]]:
    """Every `mlp ...` command quoted in ``text``, placeholders filled in."""
    found = []
    for quoted in HINT.findall(text):
        words = [PLACEHOLDERS.get(word, word) for word in shlex.split(quoted)]
        found.append(words[1:])
    return found


# ---- the walk from registration to deletion -------------------------------------------------
def test_approval_to_production_and_deletion_through_the_cli(uri, runner):
    before = snapshot(uri)
    # WHEN the author approves her own version THEN four eyes refuses it
    status, out = mlp(runner, "ada", "models", "approve", "churn", "1", "--ticket", "MLOPS-1")
    assert status == 2, out
    assert "approval.four_eyes" in out
    # WHEN bob approves with a malformed ticket THEN the ticket rule refuses it
    status, out = mlp(runner, "bob", "models", "approve", "churn", "1", "--ticket", "mlops-1")
    assert status == 2, out
    assert "approval.ticket" in out
    # WHEN v1 is promoted to production without an approval THEN refused, naming the approval
    status, out = mlp(runner, "ada", "models", "promote", "churn", "--version", "1", "--stage",
                      "production")  # fmt: skip
    assert status == 2, out
    assert "production.approval" in out
    # WHEN v2 (no facts) is moved to production THEN every missing condition is named
    status, out = mlp(runner, "ada", "models", "stage", "churn", "2", "--to", "production")
    assert status == 2, out
    for rule in ("metadata.owner", "metadata.semver", "production.gate", "production.approval"):
        assert rule in out
    assert "Nothing was changed in the registry" in out
    # THEN nothing in the registry changed, and each refusal is in the audit log
    assert snapshot(uri) == before
    records = audit_log(runner)
    assert [r["what"] for r in records] == ["refused"] * 4
    assert [r["who"] for r in records] == ["ada", "bob", "ada", "ada"]

    # WHEN bob approves under a good ticket THEN ada can promote v1 to production
    status, out = mlp(runner, "bob", "models", "approve", "churn", "1", "--ticket", "MLOPS-7",
                      "--note", "eval ok")  # fmt: skip
    assert status == 0, out
    status, out = mlp(runner, "ada", "models", "promote", "churn/1", "--stage", "production")
    assert status == 0, out
    v1 = show(runner, "churn/1")
    assert (v1["semver"], v1["stage"]) == ("1.0.0", "production")
    assert v1["approval"] == "approved by bob (MLOPS-7)"
    assert [(a["decision"], a["by"], a["ticket"]) for a in v1["approvals"]] == [
        ("approved", "bob", "MLOPS-7")
    ]
    # AND the production alias moved with it
    assert MlflowClient(uri).get_registered_model("churn").aliases == {"production": 1}
    assert mlp(runner, "ada", "models", "show", "churn")[0] == 0  # the table renders

    # WHEN the production version is deleted THEN refused (with or without --yes)
    status, out = mlp(runner, "bob", "models", "delete", "churn", "1", "--yes")
    assert status == 2, out
    assert "delete.protected" in out
    status, out = mlp(runner, "bob", "models", "delete", "churn")
    assert status == 2, out
    assert "delete.protected" in out
    # WHEN archived THEN it loses the production alias, and it can be deleted
    assert mlp(runner, "bob", "models", "archive", "churn", "1")[0] == 0
    assert MlflowClient(uri).get_registered_model("churn").aliases == {}
    status, out = mlp(runner, "bob", "models", "delete", "churn", "1")
    assert status == 0, out
    assert "would delete churn v1 (archived)" in out
    assert show(runner, "churn/1")["stage"] == "archived"  # without --yes nothing went
    status, out = mlp(runner, "bob", "models", "delete", "churn", "1", "--yes")
    assert status == 0, out
    assert [v["version"] for v in json.loads(
        runner.invoke(app, ["models", "show", "churn", "-f", "json"]).stdout)] == [2]  # fmt: skip
    # WHEN v2's semver is set by hand THEN show has it
    status, out = mlp(runner, "bob", "models", "semver", "churn", "2", "2.0.0", "--reason", "x")
    assert status == 0, out
    assert show(runner, "churn/2")["semver"] == "2.0.0"

    # THEN the audit log holds every step, and verifies clean
    kinds = [r["what"] for r in audit_log(runner)]
    assert kinds[4:] == [
        "approve", "promote", "alias", "refused", "archive", "alias", "delete", "semver"
    ]  # fmt: skip
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_reject_withdraws_and_refused_production_follows(uri, runner):
    assert mlp(runner, "bob", "models", "approve", "churn", "1", "--ticket", "MLOPS-7")[0] == 0
    status, out = mlp(runner, "ada", "models", "reject", "churn", "1", "--ticket", "MLOPS-8")
    assert status == 0, out
    assert show(runner, "churn/1")["approval"] == "rejected by ada (MLOPS-8)"
    status, out = mlp(runner, "ada", "models", "stage", "churn", "1", "--to", "production")
    assert status == 2, out
    assert "'rejected' by ada" in out


def test_an_unknown_stage_is_refused_by_the_rule(uri, runner):
    status, out = mlp(runner, "bob", "models", "stage", "churn", "1", "--to", "live")
    assert status == 2, out
    assert "stage.known" in out


def test_help_says_the_local_identity_is_self_asserted(runner):
    for command in ("approve", "reject", "stage", "archive", "delete", "semver"):
        result = runner.invoke(app, ["models", command, "--help"])
        assert result.exit_code == 0, result.output
        assert "self-asserted" in " ".join(result.output.split())


# ---- hints name commands that exist ---------------------------------------------------------
def test_every_rule_hint_names_a_command_the_cli_accepts():
    commands = [c for rule in RULES.describe() for c in hint_commands(rule.hint)]
    assert ["models", "archive", "churn", "1"] in commands  # the extraction works
    for argv in commands:
        parses(argv)


def test_every_hint_printed_by_a_refusal_is_accepted(uri, runner):
    outputs = [
        mlp(runner, "ada", "models", "approve", "churn", "1", "--ticket", "x")[1],
        mlp(runner, "ada", "models", "stage", "churn", "2", "--to", "production")[1],
        mlp(runner, "ada", "models", "semver", "churn", "2", "1.0.0", "--reason", " ")[1],
        mlp(runner, "ada", "models", "promote", "churn", "--stage", "production")[1],
    ]
    assert mlp(runner, "bob", "models", "approve", "churn", "1", "--ticket", "MLOPS-7")[0] == 0
    assert mlp(runner, "ada", "models", "stage", "churn", "1", "--to", "production")[0] == 0
    outputs.append(mlp(runner, "ada", "models", "delete", "churn", "1", "--yes")[1])
    commands = [c for text in outputs for c in hint_commands(text)]
    named = {parses(argv) for argv in commands}
    assert {"approve", "semver", "archive", "show", "promote"} <= named


def test_the_parser_check_can_fail():
    with pytest.raises(TyperException, match="Missing"):
        parses(["models", "archive", "churn"])  # no VERSION
    with pytest.raises(TyperException, match="Missing"):
        parses(["models", "approve", "churn", "1"])  # no --ticket


def test_production_aliases_point_only_at_production_versions(uri, runner, monkeypatch):
    # GIVEN a project that ties champion to production
    monkeypatch.setenv("MLPLATFORM_PRODUCTION_ALIASES", '["champion"]')
    before = snapshot(uri)
    # WHEN champion or production is moved to v1, which is not in production
    for alias in ("champion", "production"):
        status, out = mlp(runner, "ada", "models", "promote", "churn/1", "--alias", alias)
        # THEN refused, naming the rule and how to get there; nothing changed
        assert status == 2, out
        assert "production.alias" in out
        assert "--stage production" in out
    assert snapshot(uri) == before
    # WHEN a plain alias is moved THEN it is allowed and recorded
    status, out = mlp(runner, "ada", "models", "promote", "churn/2", "--alias", "shadow")
    assert status == 0, out
    # WHEN v1 is approved and promoted to production THEN champion and production follow it
    assert mlp(runner, "bob", "models", "approve", "churn", "1", "--ticket", "MLOPS-9")[0] == 0
    status, out = mlp(runner, "ada", "models", "promote", "churn/1", "--stage", "production")
    assert status == 0, out
    aliases = MlflowClient(uri).get_registered_model("churn").aliases
    assert aliases == {"champion": 1, "production": 1, "shadow": 2}
    kinds = [(r["what"], r["after"]) for r in audit_log(runner) if r["what"] != "refused"]
    assert kinds == [
        ("alias", {"alias": "shadow", "version": 2}),
        ("approve", "approved"),
        ("promote", "production"),
        ("alias", {"alias": "production", "version": 1}),
        ("alias", {"alias": "champion", "version": 1}),
    ]
