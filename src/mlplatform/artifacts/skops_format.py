"""Estimators as skops files: the one list of trusted types, canonical bytes, checked loads.

skops loads only the types on its built-in allow-list (scikit-learn estimators, NumPy and
SciPy containers, builtins) plus those the caller trusts. **What we trust is decided here,
never by the file**: ``PLATFORM_TRUSTED_TYPES`` (exact names of the scikit-learn internals
that common models need) plus the exact names a user adds in the settings (``trusted_types``
in mlplatform.toml or ``MLPLATFORM_TRUSTED_TYPES``). The same list serves pipeline
artifacts, model registration and the model loader. A list found inside an artifact (MLflow's
``skops_trusted_types`` in ``MLmodel``) is ignored.

Exact names, not prefixes: a prefix such as ``numpy.`` would also trust ``numpy.savetxt``,
which skops would call while loading (a reduce node), and so write any file the artifact names.

skops names the arrays in its zip after ``id()`` of the objects and stamps entries with the
current time, so two dumps of one model differ; ``dumps`` rewrites both so that equal models
give equal bytes (and equal digests, which the cache relies on).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlplatform.errors import MaterializerError

__all__ = [
    "PLATFORM_TRUSTED_TYPES",
    "TRUSTED_TYPES_SETTING",
    "UntrustedTypesError",
    "dumps",
    "load",
    "needed_types",
    "untrusted",
]

PLATFORM_TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
)
TRUSTED_TYPES_SETTING = "trusted_types in mlplatform.toml (or MLPLATFORM_TRUSTED_TYPES='[...]')"
_EPOCH = (1980, 1, 1, 0, 0, 0)


class UntrustedTypesError(MaterializerError):
    """A skops file (or a model to be saved as one) holds types that are not trusted."""

    def __init__(self, what: str, types: Iterable[str]) -> None:
        names = sorted(types)
        self.types = names
        super().__init__(
            f"{what} holds types that are not trusted: {', '.join(names)}",
            f"If you trust these types, add them to {TRUSTED_TYPES_SETTING}; a trusted-type "
            "list stored inside an artifact is never used.",
        )


def trusted(extra: Iterable[str] = ()) -> list[str]:
    """The platform's trusted types plus ``extra`` (from the settings), sorted."""
    return sorted({*PLATFORM_TRUSTED_TYPES, *extra})


def untrusted(types: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """The names in ``types`` that are neither the platform's nor in ``extra``."""
    allowed = set(trusted(extra))
    return sorted(t for t in set(types) if t not in allowed)


def needed_types(data: bytes) -> list[str]:
    """The types beyond skops' built-in allow-list that a dump holds (to report, not trust)."""
    import skops.io

    return list(skops.io.get_untrusted_types(data=data))


def dumps(value: object) -> bytes:
    """``value`` as canonical skops bytes (equal values give equal bytes).

    Raises:
        TypeError, ValueError: skops cannot represent the value (e.g. a local class).
    """
    import skops.io

    raw = zipfile.ZipFile(io.BytesIO(skops.io.dumps(value)))
    ids: dict[int, int] = {}
    schema = _renumber(json.loads(raw.read("schema.json")), ids)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        names = {n: _renamed(n, ids) for n in raw.namelist() if n != "schema.json"}
        for old, new in sorted(names.items(), key=lambda item: item[1]):
            dst.writestr(zipfile.ZipInfo(new, _EPOCH), raw.read(old))
        dst.writestr(zipfile.ZipInfo("schema.json", _EPOCH), json.dumps(schema, indent=2))
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int]) -> Any:
    """``node`` with every ``__id__`` (and ``<id>.npy`` file name) renumbered by first use."""
    if isinstance(node, list):
        return [_renumber(v, ids) for v in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            result[key] = ids.setdefault(value, len(ids))
        elif key == "file" and isinstance(value, str):
            result[key] = _renamed(value, ids)
        else:
            result[key] = _renumber(value, ids)
    return result


def _renamed(name: str, ids: dict[int, int]) -> str:
    stem, dot, ext = name.partition(".")
    if not stem.isdigit():
        return name
    return f"{ids.setdefault(int(stem), len(ids))}{dot}{ext}"


def load(path: Path, extra: Iterable[str] = (), what: str | None = None) -> object:
    """Load the skops file at ``path``, trusting only the platform's types and ``extra``.

    Raises:
        UntrustedTypesError: the file holds a type outside that list (nothing was loaded).
        MaterializerError: the file is not a skops file.
    """
    import skops.io

    what = what or f"the skops file {path}"
    try:
        found = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise MaterializerError(f"{what} is not a readable skops file: {exc}") from exc
    refused = untrusted(found, extra)
    if refused:
        raise UntrustedTypesError(what, refused)
    return skops.io.load(path, trusted=trusted(extra))
