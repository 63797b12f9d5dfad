"""`mlp --help` and every `mlp ... --help` import no heavy library (a structural test).

Timings live in benchmarks/cli_startup.py; this pins what makes them fast: command modules
import MLflow, pandas, NumPy, scikit-learn, KServe, the drift engine, the demo and the
settings only inside the command that needs them (docs/cli.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = (
    *("mlflow", "pandas", "numpy", "sklearn", "scipy", "pyarrow", "kserve", "kubernetes"),
    *("uvicorn", "fsspec", "pandera", "hera", "pydantic_settings"),
)
OURS = (
    *("mlplatform.settings", "mlplatform.workspace", "mlplatform.tracking", "mlplatform.drift"),
    *("mlplatform.demo", "mlplatform.serving", "mlplatform.services", "mlplatform.components"),
    *("mlplatform.artifacts", "mlplatform.pipelines"),
)

# Every help page of the tree, in-process, in one fresh interpreter; prints sys.modules.
EVERY_HELP = textwrap.dedent(
    """
    import json, sys
    import typer
    from typer.testing import CliRunner
    from mlplatform.cli.app import app

    def paths(cmd, path=()):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from paths(sub, (*path, name))

    runner = CliRunner()
    shown = []
    for path in paths(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        shown.append(" ".join(path))
    print(json.dumps({"shown": shown, "modules": sorted(sys.modules)}))
    """
)


def _loaded(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(OURS)]


def test_mlp_help_imports_no_heavy_library(project):
    # WHEN the real entry point prints `mlp --help`, with the import log on
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlplatform", "--help"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # THEN none of the heavy libraries, nor our heavy packages, was imported
    modules = [
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert "mlplatform.cli.app" in modules
    assert _loaded(modules) == []
    assert "Exit status" in done.stdout


def test_every_help_page_imports_no_heavy_library(project):
    done = subprocess.run(
        [sys.executable, "-c", EVERY_HELP],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    assert {"", "pipeline", "models show", "drift check", "demo", "logs"} <= set(report["shown"])
    assert _loaded(report["modules"]) == []
    assert list(project.iterdir()) == []  # and reading help created nothing
