"""Read-only commands in an empty folder create nothing and print no MLflow migration log.

A tracking database that does not exist is an empty registry, not one to create
(docs/cli.md): `mlp models show nope` answers "no such model" (exit 2) and leaves the folder
as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

READ_ONLY = {
    "models list -f json": 0,
    "models show nope": 2,
    "runs list -f json": 0,
    "runs show nope": 2,
    "pipeline list -f json": 0,
    "pipeline show standard-training -f json": 0,
    "pipeline plan standard-training -f json": 0,
    "drift check -r models:/nope@champion -c today.csv": 2,
    "deploy model nope@champion --cloud aws --dry-run": 2,
    "serve nope": 2,
    "serve nope/3": 2,
}

# Each command in-process, in one fresh interpreter (MLflow configures its logging on import,
# so a pytest process that imported it already would hide its log lines).
SCRIPT = textwrap.dedent(
    """
    import json, shlex, sys
    from typer.testing import CliRunner
    from mlplatform.cli.app import app

    runner = CliRunner()
    results = {}
    for line in json.loads(sys.argv[1]):
        result = runner.invoke(app, shlex.split(line))
        results[line] = {"code": result.exit_code, "output": result.output}
    print(json.dumps(results))
    """
)


def test_read_only_commands_create_nothing_and_log_no_migrations(project):
    # GIVEN an empty folder  WHEN every read-only command runs in it
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(list(READ_ONLY))],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results = json.loads(done.stdout)
    # THEN each answers as from an empty registry, with the documented exit status
    for line, code in READ_ONLY.items():
        assert results[line]["code"] == code, (line, results[line]["output"])
    assert json.loads(results["models list -f json"]["output"]) == []
    assert json.loads(results["runs list -f json"]["output"]) == []
    shown = results["models show nope"]["output"]
    assert "error: there is no registered model named 'nope'" in shown
    # AND the folder is as it was: no .mlplatform, no mlflow.db, no mlruns
    assert sorted(p.name for p in project.iterdir()) == []
    # AND no MLflow or alembic log line was printed anywhere
    printed = done.stderr + "".join(r["output"] for r in results.values())
    assert "alembic" not in printed
    assert "mlflow.store.db" not in printed
    assert " INFO " not in printed
