"""The name rule where names enter: `mlp` commands, pipeline files, the register component.
A `../evil` name is refused with the name and the rule, and nothing is written anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlplatform.components.register import register
from mlplatform.errors import ModelReferenceError
from mlplatform.grammar import NAME_RULE

EVIL_PIPELINE = """
from mlplatform import pipeline, step

@step
def one() -> int:
    return 1

@pipeline(name="../evil")
def evil() -> None:
    one()
"""

EVIL_STEP = """
from mlplatform import pipeline, step

@step(name="../../up")
def one() -> int:
    return 1

@pipeline(name="fine")
def fine() -> None:
    one()
"""


@pytest.fixture
def project(tmp_path) -> Path:
    """A project two folders down, so a write that climbs out of it would show."""
    folder = tmp_path / "outer" / "project"
    folder.mkdir(parents=True)
    return folder


def mlp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLPLATFORM_", "MLFLOW_"))}
    return subprocess.run([sys.executable, "-m", "mlplatform", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def _everything(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    ("source", "name", "command"),
    [
        (EVIL_PIPELINE, "../evil", ("pipeline", "run", "evil", "--no-track")),
        (EVIL_STEP, "../../up", ("pipeline", "run", "fine", "--no-track")),
        (EVIL_PIPELINE, "../evil", ("pipeline", "plan", "evil")),
    ],
)
def test_a_pipeline_file_with_an_evil_name_runs_nothing(project, source, name, command):
    # GIVEN a pipeline file naming a pipeline or a step that would climb out of the store
    (project / "flow.py").write_text(source)
    before = _everything(project.parent.parent)
    # WHEN mlp runs it
    result = mlp(*command, "--file", "flow.py", cwd=project)
    # THEN it is refused, naming the name and the rule, without a traceback
    err = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    assert f"name {name!r} does not follow the name rule" in err
    assert NAME_RULE in err
    # AND nothing was written but Python's own bytecode cache, inside or outside the project
    after = {p for p in _everything(project.parent.parent) if "__pycache__" not in p}
    assert after == {p for p in before if "__pycache__" not in p}


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "../evil"),
        ("serve", "..evil@champion"),
        ("models", "show", "..evil"),
        ("deploy", "model", "my model", "--cloud", "aws", "--dry-run"),
    ],
)
def test_a_model_name_that_breaks_the_rule_is_refused_by_every_command(project, args):
    before = _everything(project.parent.parent)
    result = mlp(*args, cwd=project)
    assert result.returncode == 2, result.stderr
    assert "is not a model reference" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert _everything(project.parent.parent) == before


def test_the_register_component_refuses_the_name_before_touching_anything(monkeypatch):
    # GIVEN no tracking server at all (reaching it would be a different error)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # WHEN a model would be registered as ../evil THEN the name is refused first
    for name in ("../evil", "..evil", "my model"):
        with pytest.raises(ModelReferenceError, match=re.escape(repr(name))):
            register.fn(None, {}, pd.DataFrame(), model_name=name)  # type: ignore[arg-type]
