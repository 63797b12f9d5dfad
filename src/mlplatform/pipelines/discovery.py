"""Find pipelines by name in the modules and files a project names.

A source is a module name (``mlplatform.components.standard``) or a ``.py`` file. A file is
loaded under a stable module name derived from its path, and the launcher loads it the same way,
so objects pickled by one process unpickle in the other.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from mlplatform.errors import PipelineNotFoundError
from mlplatform.pipelines.dsl import Pipeline
from mlplatform.pipelines.launcher import load_module

__all__ = ["discover", "file_module_name", "find_pipeline"]


def file_module_name(path: Path) -> str:
    """A stable module name for a pipeline file: from its path relative to the working
    directory when it is inside it, so the name is the same on every machine."""
    resolved = path.resolve()
    try:
        where = str(resolved.relative_to(Path.cwd()))
    except ValueError:
        where = str(resolved)
    digest = hashlib.sha256(where.encode()).hexdigest()[:8]
    return f"_mlp_file_{resolved.stem}_{digest}"


def _load(source: str) -> object:
    path = Path(source)
    if source.endswith(".py") or path.is_file():
        if not path.is_file():
            raise PipelineNotFoundError(
                f"pipeline file {source} does not exist", "Pass an existing .py file with --file."
            )
        if str(path.resolve().parent) not in sys.path:
            sys.path.insert(0, str(path.resolve().parent))
        name, resolved = file_module_name(path), str(path.resolve())
        loaded = sys.modules.get(name)
        if loaded is not None and getattr(loaded, "__file__", None) != resolved:
            # the same relative path in another folder (another project, a test's tmp dir):
            # its module name is the same, its pipelines are not
            del sys.modules[name]
        return load_module(name, resolved)
    try:
        return importlib.import_module(source)
    except ImportError as exc:
        raise PipelineNotFoundError(
            f"cannot import pipeline module {source!r}: {exc}",
            "Check the `pipelines` list in mlplatform.toml, or pass a file with --file.",
        ) from exc


def _pipelines_in(module: object) -> dict[str, Pipeline]:
    return {v.name: v for v in vars(module).values() if isinstance(v, Pipeline)}


def discover(sources: Iterable[str]) -> dict[str, Pipeline]:
    """Every pipeline defined in ``sources``, by name (later sources win on a name clash)."""
    found: dict[str, Pipeline] = {}
    for source in sources:
        found.update(_pipelines_in(_load(source)))
    return found


def find_pipeline(name: str, sources: Iterable[str]) -> Pipeline:
    """The pipeline called ``name``; later sources win, as in ``discover``.

    Sources are imported from the last one back, stopping at the first that defines ``name``:
    a project's pipeline does not pay for importing the built-in one (scikit-learn, pandas).
    """
    ordered = list(sources)
    for source in reversed(ordered):
        found = _pipelines_in(_load(source))
        if name in found:
            return found[name]
    known = ", ".join(sorted(discover(ordered))) or "(none)"
    raise PipelineNotFoundError(
        f"no pipeline named {name!r}",
        f"Known pipelines: {known}. Run `mlp pipeline list`, or pass --file PATH.",
    )
