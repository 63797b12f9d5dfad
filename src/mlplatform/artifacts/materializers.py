"""Typed materializers: how a step output becomes bytes in the store, and back.

Chosen by the step's declared output type (or the value's type when the annotation is
``Any``). Each writes a deterministic file so equal values give equal digests.
"""

from __future__ import annotations

import json
import pickle
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplatform.errors import MaterializerError

__all__ = ["Materializer", "by_name", "for_type", "for_value"]


@dataclass(frozen=True)
class Materializer:
    """``write(value, path)`` and ``read(path)`` for one family of types."""

    name: str
    matches: Callable[[Any], bool]
    accepts: Callable[[object], bool]
    write: Callable[[object, Path], None]
    read: Callable[[Path], object]


def _type_is(module: str, qualnames: tuple[str, ...]) -> Callable[[Any], bool]:
    def check(tp: Any) -> bool:
        tp = typing.get_origin(tp) or tp
        if not isinstance(tp, type):
            return False
        return any(
            c.__module__.split(".")[0] == module and c.__name__ in qualnames for c in tp.__mro__
        )

    return check


def _write_parquet(value: object, path: Path) -> None:
    value.to_parquet(path, engine="pyarrow", index=True)  # type: ignore[attr-defined]


def _read_parquet(path: Path) -> object:
    import pandas as pd

    return pd.read_parquet(path, engine="pyarrow")


def _write_numpy(value: object, path: Path) -> None:
    import numpy as np

    with path.open("wb") as fh:
        np.save(fh, value, allow_pickle=False)  # type: ignore[arg-type]


def _read_numpy(path: Path) -> object:
    import numpy as np

    return np.load(path, allow_pickle=False)


def _write_json(value: object, path: Path) -> None:
    path.write_text(json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True))


def _read_json(path: Path) -> object:
    return json.loads(path.read_text())


def _write_pickle(value: object, path: Path) -> None:
    with path.open("wb") as fh:
        pickle.dump(value, fh, protocol=5)


def _read_pickle(path: Path) -> object:
    with path.open("rb") as fh:
        return pickle.load(fh)


def _is_json_value(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_value(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json_value(v) for v in value)
    return isinstance(value, str | int | float | bool | type(None))


def _is_json_type(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return origin in (dict, list, str, int, float, bool, type(None))


def _has_fit(value: object) -> bool:
    return hasattr(value, "fit") and hasattr(value, "get_params")


_MATERIALIZERS: tuple[Materializer, ...] = (
    Materializer(
        "parquet",
        _type_is("pandas", ("DataFrame",)),
        lambda v: _type_is("pandas", ("DataFrame",))(type(v)),
        _write_parquet,
        _read_parquet,
    ),
    Materializer(
        "numpy",
        _type_is("numpy", ("ndarray",)),
        lambda v: _type_is("numpy", ("ndarray",))(type(v)),
        _write_numpy,
        _read_numpy,
    ),
    Materializer(
        "sklearn",
        _type_is("sklearn", ("BaseEstimator",)),
        _has_fit,
        _write_pickle,
        _read_pickle,
    ),
    Materializer("json", _is_json_type, _is_json_value, _write_json, _read_json),
    Materializer("pickle", lambda tp: True, lambda v: True, _write_pickle, _read_pickle),
)


def by_name(name: str) -> Materializer:
    for m in _MATERIALIZERS:
        if m.name == name:
            return m
    raise MaterializerError(
        f"unknown artifact type {name!r}", f"Known: {[m.name for m in _MATERIALIZERS]}."
    )


def for_value(declared: Any, value: object, where: str) -> Materializer:
    """The materializer for ``value`` declared as ``declared``; raise if the value does not fit."""
    if declared is Any or declared is object:
        return next(m for m in _MATERIALIZERS if m.accepts(value))
    chosen = for_type(declared)
    if not chosen.accepts(value):
        raise MaterializerError(
            f"{where} is declared {declared!r} but the step returned {type(value).__name__}",
            "Return a value of the declared type, or change the annotation.",
        )
    return chosen


def for_type(declared: Any) -> Materializer:
    return next(m for m in _MATERIALIZERS if m.matches(declared))


def load(store: Any, ref: Any) -> object:
    """Read the value of ``ref`` from ``store`` (an ``ArtifactStore``), verifying its digest."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlp-load-") as tmp:
        return by_name(ref.type).read(store.fetch(ref, Path(tmp)))
