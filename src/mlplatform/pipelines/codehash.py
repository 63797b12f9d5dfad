"""The code part of a cache key: a step's source and the project modules it depends on.

What counts:
- the step function's own source;
- the rest of its module (helpers, constants, imports), minus the bodies of *other* steps and
  pipelines defined there, so editing one step does not invalidate its neighbours;
- every module the step's module imports, transitively, that is *hashed by source*:
  - the platform's own non-engine modules (``mlplatform.components``, ``tracking``, ``drift``,
    ...), wherever mlplatform is installed: an editable checkout, a wheel in a CI runner or in
    the platform image all give the same hash;
  - any other module whose file is neither in the standard library nor in a site-packages
    folder on ``sys.path`` (the user's project code, which the image carries as files).
  Third-party libraries are never hashed by source: they count through the lock file in the
  environment component (``cache.environment_fingerprint``).

Sources are compared as ASTs, so comments and formatting do not change the key; only module
names and ASTs enter the hash, never a file path, so where a file lives (``src/``, a
site-packages folder, ``/app``) does not matter. The engine itself (``mlplatform`` as a
package, ``mlplatform.pipelines``, ``artifacts``, ``errors``, ``settings``, ``cli``) runs steps
but is not what they compute; it is left out, and the installed mlplatform version is part of
the environment instead.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import site
import sys
import sysconfig
import textwrap
from functools import lru_cache
from importlib.machinery import PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["project_modules", "step_code_hash"]

_ENGINE = (
    "mlplatform.pipelines",
    "mlplatform.artifacts",
    "mlplatform.errors",
    "mlplatform.settings",
    "mlplatform.cli",
)
_ENGINE_EXACT = ("mlplatform",)
_PLATFORM = "mlplatform"
_SITE_DIRS = ("site-packages", "dist-packages")


def _interpreter_roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    return [*roots, *site.getsitepackages(), site.getusersitepackages()]


_INTERPRETER_ROOTS = _interpreter_roots()


@lru_cache(maxsize=8)
def _library_roots(search_path: tuple[str, ...]) -> tuple[Path, ...]:
    """The standard library and every site-packages folder this interpreter imports from
    (its own, the user's, and any that a ``.pth`` line or ``PYTHONPATH`` put on ``sys.path``)."""
    extra = [p for p in search_path if p and Path(p).name in _SITE_DIRS]
    return tuple(sorted({Path(r).resolve() for r in [*_INTERPRETER_ROOTS, *extra]}))


def _is_engine(name: str) -> bool:
    return name in _ENGINE_EXACT or any(name == e or name.startswith(e + ".") for e in _ENGINE)


def _is_platform(name: str) -> bool:
    """A module of mlplatform itself (engine modules are filtered out before this)."""
    return name == _PLATFORM or name.startswith(_PLATFORM + ".")


def _project_file(name: str) -> Path | None:
    """The source file of module ``name`` if it is hashed by source, else None.

    The rule looks at the module's *name* for the platform and at its *location* only for
    everything else, so it does not depend on how mlplatform is installed.
    """
    if _is_engine(name):
        return None
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None) if module else None
    if origin is None:
        origin = _locate(name)
    if not origin or not origin.endswith(".py"):
        return None
    path = Path(origin).resolve()
    if _is_platform(name):
        return path
    if any(path.is_relative_to(root) for root in _library_roots(tuple(sys.path))):
        return None
    return path


def _locate(name: str) -> str | None:
    """The file of module ``name``, found without importing it or its parent packages
    (``importlib.util.find_spec`` would import the parents, MLflow included)."""
    search: list[str] | None = None
    spec = None
    parts = name.split(".")
    for i in range(len(parts)):
        full = ".".join(parts[: i + 1])
        loaded = sys.modules.get(full)
        spec = getattr(loaded, "__spec__", None) if loaded is not None else None
        if spec is None:
            try:
                spec = PathFinder.find_spec(full, search)
            # KeyError: a namespace package whose parent is not imported cannot list its path
            except (ImportError, ValueError, KeyError):
                return None
        if spec is None:
            return None
        locations = spec.submodule_search_locations
        if locations is None and i < len(parts) - 1:
            return None
        search = list(locations) if locations is not None else None
    return spec.origin if spec is not None else None


def _imported_names(tree: ast.Module, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n}


@lru_cache(maxsize=512)
def _parse(path: Path, mtime_ns: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _tree(path: Path) -> ast.Module:
    return _parse(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=1024)
def _dump_hash(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(ast.dump(_parse(path, mtime_ns)).encode()).hexdigest()


@lru_cache(maxsize=1024)
def _imports(path: Path, mtime_ns: int, package: str) -> tuple[str, ...]:
    return tuple(sorted(_imported_names(_parse(path, mtime_ns), package)))


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def project_modules(module: str) -> dict[str, Path]:
    """Project modules ``module`` imports, transitively (``module`` itself excluded)."""
    found: dict[str, Path] = {}
    start = _module_file(module)
    if start is None:
        return found
    todo = [(module, start)]
    while todo:
        name, path = todo.pop()
        for dep in _imports(path, path.stat().st_mtime_ns, _package_of(name, path)):
            if dep in found or dep == module:
                continue
            dep_path = _project_file(dep)
            if dep_path is not None:
                found[dep] = dep_path
                todo.append((dep, dep_path))
    return dict(sorted(found.items()))


def _module_file(module: str) -> Path | None:
    mod = sys.modules.get(module)
    origin = getattr(mod, "__file__", None)
    return Path(origin).resolve() if origin and origin.endswith(".py") else None


# How a step runs, not what it computes: not part of the key (see mlplatform.pipelines.cache).
_RUN_OPTIONS = frozenset({"resources", "retries", "timeout"})


def _without_run_options(tree: ast.Module) -> ast.Module:
    """``tree`` with the run options dropped from its decorators' keyword arguments."""
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in stmt.decorator_list:
                if isinstance(deco, ast.Call):
                    deco.keywords = [k for k in deco.keywords if k.arg not in _RUN_OPTIONS]
    return tree


def _function_dump(fn: Any) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))
    return ast.dump(_without_run_options(ast.parse(source)))


def _module_rest_dump(module: ModuleType, path: Path) -> str:
    """The module's AST without its steps and pipelines (each step is hashed on its own)."""
    from mlplatform.pipelines.dsl import Pipeline, Step

    defined = {name for name, value in vars(module).items() if isinstance(value, Step | Pipeline)}
    body = [
        stmt
        for stmt in _tree(path).body
        if not (isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name in defined)
    ]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


def step_code_hash(step: Any) -> str:
    """sha256 over the step's source, its module and the project modules it imports."""
    h = hashlib.sha256()
    h.update(_function_dump(step.fn).encode())
    module = sys.modules.get(step.module)
    path = _module_file(step.module)
    if module is not None and path is not None:
        h.update(_module_rest_dump(module, path).encode())
        for name, dep_path in project_modules(step.module).items():
            h.update(f"\0{name}\0".encode())
            h.update(_dump_hash(dep_path, dep_path.stat().st_mtime_ns).encode())
    return h.hexdigest()
