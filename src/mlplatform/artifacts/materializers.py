"""Typed materializers: how a step output becomes bytes in the store, and back.

Chosen by the step's declared output type (or the value's type when the annotation is
``Any``). Each writes a deterministic file so equal values give equal digests.

Safe formats first: tables as Parquet, arrays as ``.npy`` without pickle, plain data as JSON,
estimators and pipelines as skops with the platform's trusted types
(``mlplatform.artifacts.skops_format``). Only a value none of these can hold (or an estimator
that needs a type outside the trusted list) is pickled. **Trust boundary**: reading a pickle
runs code, so ``read`` of the ``pickle`` materializer may only be given bytes whose reference
came from a cache entry whose signature verified (``mlplatform.pipelines.cache.CacheIndex``)
or from a step of the same run, and whose digest was checked on fetch (``ArtifactStore.fetch``).
"""

from __future__ import annotations

import json
import pickle
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplatform.artifacts import skops_format
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


_dumped = threading.local()  # the last estimator checked by ``_skops_accepts``, and its bytes


def _skops_bytes(value: object) -> bytes | None:
    """``value`` as canonical skops bytes, or None when skops cannot hold it with the
    platform's trusted types (it would then be pickled, authenticated by the cache entry)."""
    last = getattr(_dumped, "last", None)
    if last is not None and last[0] is value:
        return bytes(last[1])
    try:
        data = skops_format.dumps(value)
    except Exception:  # skops raises plain TypeError/ValueError/... on what it cannot hold
        return None
    if skops_format.untrusted(skops_format.needed_types(data)):
        return None
    _dumped.last = (value, data)
    return data


def _skops_accepts(value: object) -> bool:
    return _has_fit(value) and _skops_bytes(value) is not None


def _write_skops(value: object, path: Path) -> None:
    data = _skops_bytes(value)
    if data is None:
        raise MaterializerError(f"{type(value).__name__} cannot be saved in the skops format")
    _dumped.last = None
    path.write_bytes(data)


def _read_skops(path: Path) -> object:
    return skops_format.load(path, what="a stored estimator")


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
        "skops",
        _type_is("sklearn", ("BaseEstimator",)),
        _skops_accepts,
        _write_skops,
        _read_skops,
    ),
    Materializer("json", _is_json_type, _is_json_value, _write_json, _read_json),
    Materializer("pickle", lambda tp: True, lambda v: True, _write_pickle, _read_pickle),
)
_PICKLE = _MATERIALIZERS[-1]


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
    if chosen.name == "skops" and _has_fit(value) and not chosen.accepts(value):
        return _PICKLE  # needs a type outside the trusted list: pickled, authenticated
    if not chosen.accepts(value):
        raise MaterializerError(
            f"{where} is declared {declared!r} but the step returned {type(value).__name__}",
            "Return a value of the declared type, or change the annotation.",
        )
    return chosen


def for_type(declared: Any) -> Materializer:
    return next(m for m in _MATERIALIZERS if m.matches(declared))


def load(store: Any, ref: Any) -> object:
    """Read the value of ``ref`` from ``store`` (an ``ArtifactStore``), verifying its digest.

    ``ref`` must come from a verified cache entry or a run's own result (see the module
    docstring): a ``pickle`` reference runs code when read.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlp-load-") as tmp:
        return by_name(ref.type).read(store.fetch(ref, Path(tmp)))
