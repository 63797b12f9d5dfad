"""The code component does not depend on where or how code is installed.

One rule (``mlplatform.pipelines.codehash``): the platform's own non-engine modules are hashed
by source wherever they live, third-party libraries never (they count through the lock file),
and project modules by source; only module names and ASTs enter the hash, never a path. The
wheel-against-editable comparison is ``test_wheel_keys.py``.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from mlplatform.pipelines.codehash import project_modules, step_code_hash

SRC = Path(__file__).resolve().parents[2] / "src" / "mlplatform"

STEPS = """
from mlplatform import step

from . import helpers
import thirdlib


@step
def scaled(n: int) -> int:
    return helpers.scale(n) + thirdlib.OFFSET
"""


def _package(root: Path, name: str, helper: str = "x * 2") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "helpers.py").write_text(f"def scale(x):\n    return {helper}\n")
    (folder / "steps.py").write_text(textwrap.dedent(STEPS))


def _forget(*names: str) -> None:
    for mod in [m for m in sys.modules if m.split(".")[0] in names]:
        del sys.modules[mod]


@pytest.fixture
def two_places(tmp_path, monkeypatch):
    """``load(place)`` imports package ``proj_identity`` from folder ``place`` afresh; a
    library ``thirdlib`` sits in a site-packages folder on ``sys.path`` (as a ``.pth`` line
    or PYTHONPATH puts one)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    libs = tmp_path / "libs" / "site-packages"
    libs.mkdir(parents=True)
    (libs / "thirdlib.py").write_text("OFFSET = 1\n")
    monkeypatch.syspath_prepend(str(libs))

    def load(place: str) -> object:
        _forget("proj_identity", "thirdlib")
        with monkeypatch.context() as m:
            m.syspath_prepend(str(tmp_path / place))
            importlib.invalidate_caches()
            module = importlib.import_module("proj_identity.steps")
            return module.scaled, project_modules("proj_identity.steps")

    yield tmp_path, load
    _forget("proj_identity", "thirdlib")


def test_the_same_code_in_two_folders_has_one_hash(two_places):
    # GIVEN one project checked out in two different folders
    root, load = two_places
    _package(root / "laptop", "proj_identity")
    _package(root / "runner" / "deep" / "path", "proj_identity")

    # WHEN the step's code is hashed in each
    step_a, mods_a = load("laptop")
    hash_a = step_code_hash(step_a)
    step_b, mods_b = load("runner/deep/path")
    hash_b = step_code_hash(step_b)

    # THEN both found the same modules, from different files, and the hashes are equal
    assert mods_a.keys() == mods_b.keys() == {"proj_identity", "proj_identity.helpers"}
    assert mods_a["proj_identity.helpers"] != mods_b["proj_identity.helpers"]
    assert hash_a == hash_b


def test_an_edited_helper_still_changes_the_hash(two_places):
    # GIVEN the same project in two folders, one with its helper edited
    root, load = two_places
    _package(root / "a", "proj_identity")
    _package(root / "b", "proj_identity", helper="x * 3")

    # THEN the hashes differ (the rule is not blind to project code)
    step_a, _ = load("a")
    hash_a = step_code_hash(step_a)
    step_b, _ = load("b")
    assert step_code_hash(step_b) != hash_a


def test_a_library_in_any_site_packages_folder_is_not_hashed(two_places):
    # GIVEN a step that imports a library found in a site-packages folder on sys.path
    root, load = two_places
    _package(root / "a", "proj_identity")

    # THEN the library is not project code: it counts through the lock file
    _, mods = load("a")
    assert "thirdlib" not in mods


def test_platform_component_modules_are_hashed_engine_modules_are_not():
    # GIVEN the register component, which imports mlplatform.drift and the engine
    import mlplatform.components.register  # noqa: F401

    mods = project_modules("mlplatform.components.register")

    # THEN the platform's drift code is hashed by source, the engine and libraries are not
    assert "mlplatform.drift.profile" in mods
    assert mods["mlplatform.drift.profile"] == (SRC / "drift" / "profile.py").resolve()
    engine = ("mlplatform.pipelines", "mlplatform.errors", "mlplatform.artifacts")
    assert not [m for m in mods if m.startswith(engine) or m == "mlplatform"]
    assert all(m.startswith("mlplatform.") for m in mods), mods  # sklearn, pandas: not hashed
