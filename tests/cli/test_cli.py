"""The `mlp` CLI: help with examples, JSON output for scripts, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer

from mlplatform.cli.app import app

FLOW = str(Path(__file__).with_name("tiny_flow.py"))
COMMAND = app
TREE = typer.main.get_command(app)


def _leaves(cmd, path: tuple[str, ...] = ()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


def run_mlp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlplatform", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_command_has_help_with_an_example(runner):
    leaves = list(_leaves(TREE))
    names = {" ".join(p) for p, _ in leaves}
    assert {
        "demo",
        "ui",
        "pipeline run",
        "pipeline plan",
        "pipeline list",
        "pipeline show",
        "runs list",
        "runs show",
        "models list",
        "models show",
        "models promote",
        "models rollback",
        "serve",
        "deploy model",
    } <= names
    for path, _ in leaves:
        result = runner.invoke(COMMAND, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"`mlp {' '.join(path)} --help` has no example"


def test_list_and_show_emit_json_for_scripts(runner, project):
    result = runner.invoke(COMMAND, ["pipeline", "list", "--file", FLOW, "--format", "json"])
    assert result.exit_code == 0, result.output
    names = {p["name"] for p in json.loads(result.output)}
    assert names == {"standard-training", "tiny"}

    result = runner.invoke(COMMAND, ["pipeline", "show", "standard-training", "--format", "json"])
    graph = json.loads(result.output)
    assert [n["name"] for n in graph["nodes"]] == [
        "ingest",
        "validate",
        "featurize",
        "train",
        "evaluate",
        "register",
    ]
    assert graph["nodes"][1]["inputs"]["data"] == {"artifact": "ingest.output"}


def test_run_then_plan_explains_what_changed(runner, project):
    # GIVEN a completed run
    args = ["pipeline", "run", "tiny", "--file", FLOW, "--no-track", "--format", "json"]
    first = runner.invoke(COMMAND, [*args, "-p", "n=4"])
    assert first.exit_code == 0, first.output
    body = json.loads(first.output)
    assert body["status"] == "succeeded"
    assert {s["status"] for s in body["steps"].values()} == {"ran"}
    assert body["steps"]["total"]["metrics"] == {"total": 6.0}
    # WHEN planning the same params THEN everything is a hit
    plan = runner.invoke(
        COMMAND, ["pipeline", "plan", "tiny", "--file", FLOW, "-p", "n=4", "-f", "json"]
    )
    assert [e["status"] for e in json.loads(plan.output)] == ["hit", "hit"]
    # WHEN a parameter changes THEN the plan names it, and the dependent step waits
    plan = runner.invoke(
        COMMAND, ["pipeline", "plan", "tiny", "--file", FLOW, "-p", "n=5", "-f", "json"]
    )
    entries = json.loads(plan.output)
    assert entries[0]["status"] == "miss"
    assert "param n: 4 -> 5" in entries[0]["changed"]
    assert entries[1]["status"] == "pending"
    # AND the re-run with the same params is fully cached
    again = json.loads(runner.invoke(COMMAND, [*args, "-p", "n=4"]).output)
    assert {s["status"] for s in again["steps"].values()} == {"cached"}


def test_errors_print_headline_and_hint_without_traceback(project):
    result = run_mlp("pipeline", "run", "no-such-pipeline", cwd=project)
    assert result.returncode == 2
    assert "error: no pipeline named 'no-such-pipeline'" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    verbose = run_mlp("--verbose", "pipeline", "run", "no-such-pipeline", cwd=project)
    assert "Traceback" in verbose.stderr


def test_failed_step_names_step_exception_and_resume_command(project):
    result = run_mlp(
        "pipeline", "run", "tiny", "--file", FLOW, "--no-track", "-p", "fail=true", cwd=project
    )
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert "step 'total' failed: ValueError: total refused on purpose" in err
    assert f"mlp pipeline run tiny --file {FLOW} -p fail=true" in err
    assert "Traceback" not in result.stderr


def test_bad_parameter_syntax_and_unknown_parameter(runner, project):
    for params, message in (
        ("n", "NAME=VALUE"),
        ("m=1", "has no parameter 'm'"),
        ("n=x", "expects int"),
    ):
        command = "run" if params == "n" else "plan"
        result = runner.invoke(COMMAND, ["pipeline", command, "tiny", "--file", FLOW, "-p", params])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())


def test_ui_uses_the_configured_sqlite_store(runner, project):
    result = runner.invoke(COMMAND, ["ui", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"sqlite:///{project}/.mlplatform/mlflow.db" in result.output
    assert "mlruns" not in result.output
