"""One error printer and one exit-status table for every command (docs/cli.md).

0 ok, 1 a check found something, 2 an error: ours (headline and hint, no traceback), bad
usage, or a bug (with its traceback).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlplatform._exit import ExitCode, print_error
from mlplatform.cli.app import EXIT_STATUS_HELP, app
from mlplatform.errors import RegistryError

SRC = Path(__file__).resolve().parents[2] / "src" / "mlplatform"

# One error path per command group (and per top-level command that has one).
ERROR_PATHS = {
    "pipeline": ["pipeline", "show", "no-such-pipeline"],
    "runs": ["runs", "show", "no-such-run"],
    "models": ["models", "show", "no-such-model"],
    "drift": ["drift", "check", "-r", "nothing.npz", "-c", "nothing.csv"],
    "deploy": ["deploy", "model", "no-such-model@champion", "--cloud", "aws", "--dry-run"],
    "serve": ["serve", "./not-a-model"],
    "up": ["up", "no-such-service"],
    "logs": ["logs", "mlflow"],
}


def _printed_error(output: str) -> tuple[str, str]:
    """The headline and hint of the one printer's ``error:`` / ``hint:`` lines."""
    lines = output.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert lines[at + 1].startswith("hint: "), output
    return lines[at][len("error: ") :], lines[at + 1][len("hint: ") :]


def test_the_table_is_the_documented_one():
    assert [int(c) for c in ExitCode] == [0, 1, 2, 130]
    text = (SRC.parents[1] / "docs" / "cli.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in text
    assert "docs/cli.md" in (SRC.parents[1] / "README.md").read_text()


def test_mlp_help_shows_the_exit_status_table(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit status" in text
    for line in EXIT_STATUS_HELP.split("\n\n")[1:]:
        assert " ".join(re.sub(r"\[/?[a-z ]+\]", "", line).split()) in text


@pytest.mark.parametrize("group", sorted(ERROR_PATHS))
def test_every_group_prints_our_errors_the_same_way_and_exits_2(runner, project, group):
    # GIVEN an empty project  WHEN a command of the group fails on our terms
    (project / "not-a-model").mkdir()
    result = runner.invoke(app, ERROR_PATHS[group])
    # THEN it exits 2 with the one printer's headline and hint, and no traceback
    assert result.exit_code == ExitCode.ERROR, result.output
    headline, hint = _printed_error(result.output)
    assert headline
    assert hint
    assert "Traceback" not in result.output


def test_verbose_adds_the_traceback_to_our_errors(runner, project):
    result = runner.invoke(app, ["--verbose", "models", "show", "no-such-model"])
    assert result.exit_code == ExitCode.ERROR
    assert "Traceback" in result.output
    assert _printed_error(result.output)[0] == "there is no registered model named 'no-such-model'"


def test_a_bug_exits_2_with_its_traceback(runner, project, monkeypatch):
    # GIVEN a command that hits a bug (an exception that is not ours)
    def broken(tracking_uri: str) -> list[object]:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("mlplatform.tracking.list_models", broken)
    # WHEN it runs  THEN exit 2, the traceback, and the printer's headline and hint
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == ExitCode.ERROR
    assert "Traceback" in result.output
    headline, hint = _printed_error(result.output)
    assert headline == "ZeroDivisionError: division by zero"
    assert "bug in mlplatform" in hint


@pytest.mark.parametrize(
    "args", [["no-such-command"], ["models", "show"], ["status", "--format", "xml"]]
)
def test_bad_usage_exits_2(runner, project, args):
    assert runner.invoke(app, args).exit_code == ExitCode.ERROR


def test_a_check_that_finds_something_exits_1(runner, project, monkeypatch):
    # GIVEN a service `mlp up` recorded, now dead  WHEN `mlp status` checks  THEN exit 1
    from mlplatform.services import ServiceStatus, Supervisor

    dead = ServiceStatus("mlflow", "MLflow", "dead", "http://127.0.0.1:1", None, 0, None, "", None)
    monkeypatch.setattr(Supervisor, "status", lambda self, names=None: [dead])
    monkeypatch.setattr(Supervisor, "watcher_running", lambda self: False)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == ExitCode.FOUND, result.output


def test_the_serving_entrypoint_uses_the_same_printer_and_table(tmp_path, capsys):
    from mlplatform.serving.__main__ import main

    (tmp_path / "empty").mkdir()
    code = main(["--model-uri", str(tmp_path / "empty"), "--name", "m"])
    assert code == ExitCode.ERROR
    err = capsys.readouterr().err
    headline, hint = _printed_error(err)
    assert "no MLmodel file" in headline
    assert hint
    assert "Traceback" not in err


def test_the_printer_writes_details_after_the_hint():
    import io

    out = io.StringIO()
    code = print_error(RegistryError("headline", "the hint", details="a table"), file=out)
    assert code == ExitCode.ERROR
    assert out.getvalue().splitlines() == ["error: headline", "hint: the hint", "a table"]


def test_no_other_module_prints_errors():
    printers = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if re.search(r"""["'](\[[^\]]*\])?error:""", path.read_text())
    ]
    assert printers == ["_exit.py"]
