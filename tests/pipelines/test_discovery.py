"""Finding a pipeline by name in a project's sources (modules and files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplatform.errors import PipelineNotFoundError
from mlplatform.pipelines.discovery import discover, find_pipeline

PIPELINE = """
from mlplatform import pipeline, step


@step
def one() -> int:
    return 1


@pipeline(name="{name}", description="{where}")
def defined() -> None:
    one()
"""


def _source(folder: Path, file: str, name: str) -> str:
    path = folder / file
    path.write_text(PIPELINE.format(name=name, where=file))
    return str(path)


def test_a_later_source_wins_a_name_clash(tmp_path: Path) -> None:
    # GIVEN two files that both define "clash"
    first, second = _source(tmp_path, "a.py", "clash"), _source(tmp_path, "b.py", "clash")
    # THEN the later one is found, by name and in the full listing alike
    assert find_pipeline("clash", [first, second]).description == "b.py"
    assert discover([first, second])["clash"].description == "b.py"


def test_sources_before_the_one_that_defines_the_name_are_not_imported(tmp_path: Path) -> None:
    # GIVEN a source that cannot be imported (it stands for a slow built-in module), then a
    # project file that defines the pipeline asked for
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('imported')\n")
    project = _source(tmp_path, "project.py", "mine")
    # WHEN the pipeline is looked up by name
    found = find_pipeline("mine", [str(broken), project])
    # THEN it is found without importing the earlier source
    assert found.name == "mine"


def test_an_unknown_name_lists_every_known_pipeline(tmp_path: Path) -> None:
    sources = [_source(tmp_path, "x.py", "x-pipe"), _source(tmp_path, "y.py", "y-pipe")]
    with pytest.raises(PipelineNotFoundError) as caught:
        find_pipeline("nope", sources)
    assert "Known pipelines: x-pipe, y-pipe" in caught.value.hint


def test_the_same_file_name_in_another_folder_is_loaded_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two projects, each with a flow.py of its own (the same module name from the cwd)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _source(first, "flow.py", "alpha")
    _source(second, "flow.py", "beta")
    # WHEN each is discovered from its own folder, in one process
    monkeypatch.chdir(first)
    assert set(discover(["flow.py"])) == {"alpha"}
    monkeypatch.chdir(second)
    # THEN the second project's pipelines are found, not the first's
    assert set(discover(["flow.py"])) == {"beta"}
