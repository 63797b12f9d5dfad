"""The code part of a cache key follows what a step computes, not how its file looks."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from mlplatform.artifacts import materializers
from mlplatform.artifacts.store import ArtifactStore
from mlplatform.pipelines.cache import CacheIndex
from mlplatform.pipelines.codehash import project_modules, step_code_hash
from mlplatform.pipelines.local import LocalExecutor, PipelineRunResult, RunOptions

HELPERS = """
def scale(x):
    return x * 2
"""

STEPS = """
from mlplatform import Resources, Retries, pipeline, step

from .helpers import scale


@step
def scaled(n: int) -> int:
    return scale(n)


@step(retries=Retries(count=1), timeout=30.0, resources=Resources(cpu=1))
def shifted(n: int) -> int:
    return n + 1


@pipeline(name="scaling")
def flow(n: int = 3) -> None:
    scaled(n)
    shifted(n)
"""


class Project:
    """A throwaway package on ``sys.path`` whose files the test edits like a user would."""

    def __init__(self, root: Path) -> None:
        self.name = f"proj_{uuid.uuid4().hex[:10]}"
        self.folder = root / self.name
        self.folder.mkdir()
        self._mtime = time.time_ns()
        self.write("__init__.py", "")

    def write(self, file: str, text: str) -> None:
        path = self.folder / file
        path.write_text(textwrap.dedent(text))
        # an editor saves later than the last save: keep mtimes apart so no cache keyed on
        # (size, mtime) -- linecache, bytecode, the AST cache -- can mistake the files
        self._mtime += 2_000_000_000
        os.utime(path, ns=(self._mtime, self._mtime))

    def edit(self, file: str, old: str, new: str) -> None:
        text = (self.folder / file).read_text()
        assert old in text, f"{old!r} not in {file}"
        self.write(file, text.replace(old, new))

    def forget(self) -> None:
        for mod in [m for m in sys.modules if m == self.name or m.startswith(self.name + ".")]:
            del sys.modules[mod]

    def load(self, module: str) -> ModuleType:
        """Import ``module`` afresh, as a new process would."""
        self.forget()
        importlib.invalidate_caches()
        return importlib.import_module(f"{self.name}.{module}")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    proj = Project(tmp_path)
    proj.write("helpers.py", HELPERS)
    proj.write("steps.py", STEPS)
    yield proj
    proj.forget()


def code_hash(project: Project, step_name: str) -> str:
    return step_code_hash(getattr(project.load("steps"), step_name))


def test_the_steps_module_depends_on_its_project_helper(project):
    project.load("steps")
    assert set(project_modules(f"{project.name}.steps")) == {f"{project.name}.helpers"}


def test_editing_the_step_changes_its_hash(project):
    before = code_hash(project, "scaled")
    project.edit("steps.py", "return scale(n)", "return scale(n) + 1")
    assert code_hash(project, "scaled") != before


def test_editing_an_imported_helper_changes_the_hash(project):
    before = code_hash(project, "scaled")
    project.edit("helpers.py", "x * 2", "x * 3")
    assert code_hash(project, "scaled") != before


def test_comments_and_formatting_do_not_change_the_hash(project):
    # GIVEN the hash of a step
    before = code_hash(project, "scaled")

    # WHEN only comments, blank lines and layout change, in the step and in its helper
    project.edit(
        "steps.py", "def scaled(n: int) -> int:\n", "def scaled(\n    n: int,\n) -> int:\n"
    )
    project.edit("steps.py", "    return scale(n)", "    # double it\n\n    return scale( n )  # !")
    project.edit("helpers.py", "def scale(x):", "# helpers\n\n\ndef scale(x):  # noqa")

    # THEN the hash is the same
    assert code_hash(project, "scaled") == before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Retries(count=1)", "Retries(count=5, backoff=0.5)"),
        ("timeout=30.0", "timeout=600.0"),
        ("resources=Resources(cpu=1)", "resources=Resources(cpu=8, memory='64Gi', gpu=1)"),
    ],
)
def test_run_options_in_the_decorator_do_not_change_the_hash(project, old, new):
    # GIVEN a step decorated with retries, timeout and resources
    before = code_hash(project, "shifted")

    # WHEN one of them is edited in the source
    project.edit("steps.py", old, new)

    # THEN the hash is the same: how a step runs is not what it computes
    assert code_hash(project, "shifted") == before


def test_editing_one_step_leaves_its_sibling_alone(project):
    # GIVEN two steps in one module
    scaled, shifted = code_hash(project, "scaled"), code_hash(project, "shifted")

    # WHEN one step's body and the pipeline's body change
    project.edit("steps.py", "return n + 1", "return n + 2")
    project.edit("steps.py", "    shifted(n)\n", "    shifted(n)\n    shifted(n + 1)\n")

    # THEN only that step's hash changes
    assert code_hash(project, "shifted") != shifted
    assert code_hash(project, "scaled") == scaled


def test_module_level_code_is_part_of_every_step_in_the_module(project):
    before = code_hash(project, "shifted")
    project.edit(
        "steps.py", "from .helpers import scale\n", "from .helpers import scale\n\nK = 1\n"
    )
    assert code_hash(project, "shifted") != before


def _run(project: Project, store: ArtifactStore) -> PipelineRunResult:
    flow = project.load("steps").flow
    return LocalExecutor(store, RunOptions(in_process=True)).run(flow.graph)


def _value(store: ArtifactStore, result: PipelineRunResult, node: str, tmp: Path) -> object:
    ref = result.output(node)
    return materializers.by_name(ref.type).read(store.fetch(ref, tmp))


def test_executor_reruns_a_step_whose_helper_changed(project, tmp_path):
    # GIVEN a pipeline that ran once, and whose second run is all cached
    store = ArtifactStore(tmp_path / "store")
    first = _run(project, store)
    assert _value(store, first, "scaled", tmp_path) == 6
    assert _run(project, store).cached == ["scaled", "shifted"]
    code_before = CacheIndex(store).last("scaling", "scaled").components["code"]

    # WHEN the helper module the steps import is edited
    project.edit("helpers.py", "x * 2", "x * 3")
    again = _run(project, store)

    # THEN the step re-ran with the new code, and the plan record shows the code changed
    assert again.steps["scaled"].status == "ran"
    assert _value(store, again, "scaled", tmp_path) == 9
    last = CacheIndex(store).last("scaling", "scaled")
    assert last.components["code"] != code_before
    assert {k: v for k, v in last.components.items() if k != "code"} == {
        k: v for k, v in first.steps["scaled"].key_components.items() if k != "code"
    }
