"""The reference profile: everything a drift check needs from the training data, built once.

The features are ``columns``; a model's ``target`` (the label) and ``prediction`` columns,
when profiled, are ``outputs`` (by role), checked when the current data has them (a served
model's sampled payloads carry ``prediction``; labelled data carries the target), and reported
beside the features without counting in the data set's verdict.

Per numeric column: the finite values sorted (the exact empirical CDF: KS and Wasserstein
need nothing less), counts of missing and infinite values, mean and standard deviation,
quantile bin edges and the reference's counts in them. Per categorical column: each label's
count and the missing count. Plus the row count, the schema and where the data came from.

A profile is one ``.npz`` file (numpy's zip of arrays, read without pickle): the arrays,
and the metadata as JSON in the entry ``__profile__``. Checks read the profile, never the
raw reference again.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mlplatform.atomicfile import atomic_path
from mlplatform.drift.binning import bin_counts, quantile_edges
from mlplatform.drift.columns import Kind, category_counts, column_kind, numeric_values
from mlplatform.errors import DriftDataError, DriftSchemaError, ProfileError

__all__ = [
    "PROFILE_FORMAT",
    "PROFILE_SUFFIX",
    "ROLES",
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "ReferenceProfile",
    "Role",
    "build_model_profile",
    "build_profile",
    "is_profile_file",
    "load_profile",
    "save_profile",
]

PROFILE_FORMAT = "mlplatform.drift.profile"
PROFILE_VERSION = 2  # 2: outputs (target, prediction); a profile without them is written as 1
Role = Literal["target", "prediction"]
ROLES: tuple[Role, ...] = ("target", "prediction")
PROFILE_SUFFIX = ".npz"
_META = "__profile__"
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """A numeric reference column. ``values`` are its finite values, sorted."""

    name: str
    dtype: str
    rows: int
    missing: int
    positive_infinite: int
    negative_infinite: int
    values: FloatArray
    edges: FloatArray
    bin_counts: IntArray
    mean: float
    std: float
    kind: Literal["numeric"] = "numeric"

    @property
    def count(self) -> int:
        """Finite values: what the statistics compare."""
        return int(self.values.size)


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """A categorical reference column: labels (``str`` of the values) and their counts."""

    name: str
    dtype: str
    rows: int
    missing: int
    categories: tuple[str, ...]
    counts: IntArray
    kind: Literal["categorical"] = "categorical"

    @property
    def count(self) -> int:
        return int(self.counts.sum())


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """A reference data set, as drift checks need it (see the module docstring).

    ``columns`` are the features; ``outputs`` the model's target and prediction columns
    by role (each keeps its column name: ``outputs["prediction"].name``).
    """

    columns: dict[str, ColumnProfile]
    rows: int
    bins: int
    source: str = ""
    created: str = ""
    skipped: dict[str, str] = field(default_factory=dict)
    outputs: dict[Role, ColumnProfile] = field(default_factory=dict)

    @property
    def schema(self) -> dict[str, Kind]:
        return {name: col.kind for name, col in self.columns.items()}

    @property
    def roles(self) -> dict[str, Role]:
        """The column name of each output, to its role."""
        return {col.name: role for role, col in self.outputs.items()}

    def column(self, name: str) -> ColumnProfile:
        """A feature or output column by its name."""
        found = self.columns.get(name) or next(
            (col for col in self.outputs.values() if col.name == name), None
        )
        if found is None:
            names = [*self.columns, *self.roles]
            raise DriftSchemaError(
                f"the reference profile has no column {name!r}",
                f"Profiled columns: {', '.join(names)}.",
            )
        return found

    def summary(self) -> dict[str, Any]:
        """Rows, bins, source and each column's kind, missing share and size: plain JSON."""
        return {
            "rows": self.rows,
            "bins": self.bins,
            "source": self.source,
            "created": self.created,
            "skipped": dict(self.skipped),
            "columns": {name: _described(col) for name, col in self.columns.items()},
            "outputs": {
                role: {"name": col.name, **_described(col)} for role, col in self.outputs.items()
            },
        }


def _described(col: ColumnProfile) -> dict[str, Any]:
    return {
        "kind": col.kind,
        "dtype": col.dtype,
        "missing_share": col.missing / col.rows if col.rows else 0.0,
        **(
            {"distinct": len(col.categories)}
            if isinstance(col, CategoricalProfile)
            else {"mean": col.mean, "std": col.std}
        ),
    }


def build_profile(
    data: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    categorical: Iterable[str] = (),
    bins: int = 10,
    source: str = "",
    on_unsupported: Literal["error", "skip"] = "error",
    workers: int = 2,
    target: str | None = None,
    prediction: str | None = None,
) -> ReferenceProfile:
    """Profile ``data`` (the training features) for later drift checks.

    Args:
        data: the reference table.
        columns: the columns to profile (default: all).
        categorical: numeric columns to treat as categories (integer codes, say).
        bins: quantile bins per numeric column for PSI and JS (at least 2).
        source: where the data came from, kept for people.
        on_unsupported: ``error`` on a column of dates, durations or complex numbers, or
            ``skip`` it (recorded in ``skipped``).
        workers: threads profiling columns (1: all in the calling thread); numpy sorts
            without the GIL, and the profile does not depend on the number of workers.
        target: the column of ``data`` holding the label: profiled as the ``target``
            output, not as a feature (a classifier's: list it in ``categorical`` too).
        prediction: the column holding the model's predictions on these rows: profiled
            as the ``prediction`` output (a served model's samples call it ``prediction``).

    Raises:
        DriftSchemaError: a named column is missing, target and prediction are one column,
            or a column has an unsupported dtype.
        DriftDataError: ``data`` has no rows, or ``bins`` < 2.
    """
    if bins < 2:
        raise DriftDataError(f"bins must be at least 2, got {bins}", "Pass --bins 10.")
    if len(data) == 0:
        raise DriftDataError("the reference data has no rows", "Profile a non-empty table.")
    roles = _roles(data, target, prediction)
    names = [n for n in _select(data, columns) if n not in roles]
    forced = {str(c) for c in categorical}
    kinds = {str(name): (data[name], column_kind(data[name], forced)) for name in names}
    outputs = _outputs(data, roles, forced, bins)
    skipped = {name: str(series.dtype) for name, (series, kind) in kinds.items() if kind is None}
    if skipped and on_unsupported == "error":
        listed = ", ".join(f"{n} ({d})" for n, d in skipped.items())
        raise DriftSchemaError(
            f"cannot profile columns of these dtypes: {listed}",
            "Drift compares numbers and categories: choose columns with --columns, or cast "
            "dates to numbers first.",
        )
    profiled = _profile_columns(kinds, bins, workers)
    if not profiled:
        raise DriftSchemaError("no column of the reference data can be profiled")
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return ReferenceProfile(profiled, len(data), bins, source, created, skipped, outputs)


def build_model_profile(
    features: pd.DataFrame,
    *,
    target: pd.Series | None = None,
    predictions: Any = None,
    **options: Any,
) -> ReferenceProfile:
    """Profile a model's reference data: its ``features``, the ``target`` labels (a
    Series, profiled under its name) and the model's ``predictions`` on those rows
    (profiled as ``prediction``, the column the model server samples).

    The outputs are categorical when the predictions are not floating point (a classifier's
    labels, integer codes included), else numeric (a regressor's values). ``options`` go to
    ``build_profile``.

    Raises:
        DriftSchemaError, DriftDataError: as ``build_profile``; a target or predictions
            whose length is not the features' rows, or a feature already named like them.
    """
    frame = features.reset_index(drop=True)
    added: dict[str, Any] = {}
    if target is not None:
        added[str(target.name) if target.name is not None else "target"] = target
    if predictions is not None and "prediction" in added:
        raise DriftSchemaError(
            "the target column is named 'prediction', the name of the predictions",
            "Rename the label column (the server samples predictions as `prediction`).",
        )
    if predictions is not None:
        added["prediction"] = predictions
    for name, values in added.items():
        if name in frame.columns or len(values) != len(frame):
            raise DriftSchemaError(
                f"cannot profile {name!r} beside the features",
                f"Give one value per feature row ({len(frame)}), under a name no feature has.",
            )
    if added:
        frame = frame.assign(**{k: np.asarray(v) for k, v in added.items()})
    labels = predictions is not None and np.asarray(predictions).dtype.kind not in "fc"
    categorical = [*options.pop("categorical", ()), *(added if labels else ())]
    return build_profile(
        frame,
        categorical=categorical,
        target=next((n for n in added if n != "prediction"), None),
        prediction="prediction" if predictions is not None else None,
        **options,
    )


def _roles(data: pd.DataFrame, target: str | None, prediction: str | None) -> dict[str, Role]:
    """The output columns of ``data`` by name, checked."""
    named: dict[str, Role] = {}
    for role, name in (("target", target), ("prediction", prediction)):
        if name is None:
            continue
        if name not in data.columns:
            raise DriftSchemaError(
                f"the {role} column {name!r} is not in the data",
                f"Its columns: {', '.join(map(str, data.columns))}.",
            )
        if name in named:
            raise DriftSchemaError(
                f"{name!r} cannot be both the target and the prediction",
                "Name the predictions column differently (the server samples `prediction`).",
            )
        named[name] = role  # type: ignore[assignment]
    return named


def _outputs(
    data: pd.DataFrame, roles: dict[str, Role], forced: set[str], bins: int
) -> dict[Role, ColumnProfile]:
    outputs: dict[Role, ColumnProfile] = {}
    for name, role in roles.items():
        kind = column_kind(data[name], forced)
        if kind is None:
            raise DriftSchemaError(
                f"cannot profile the {role} column {name!r} of dtype {data[name].dtype}"
            )
        series = data[name]
        outputs[role] = (
            _numeric(name, series, bins) if kind == "numeric" else _categorical(name, series)
        )
    return outputs


def _profile_columns(
    kinds: dict[str, tuple[pd.Series, Kind | None]], bins: int, workers: int
) -> dict[str, ColumnProfile]:
    """The supported columns' profiles, in order, ``workers`` threads at a time."""
    wanted = [(name, series, kind) for name, (series, kind) in kinds.items() if kind]

    def one(item: tuple[str, pd.Series, Kind]) -> ColumnProfile:
        name, series, kind = item
        return _numeric(name, series, bins) if kind == "numeric" else _categorical(name, series)

    if workers <= 1 or len(wanted) <= 1:
        return {item[0]: one(item) for item in wanted}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift-profile") as pool:
        return dict(zip([item[0] for item in wanted], pool.map(one, wanted), strict=True))


def _select(data: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return [str(c) for c in data.columns]
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DriftSchemaError(
            f"columns not in the reference data: {', '.join(missing)}",
            f"Its columns: {', '.join(map(str, data.columns))}.",
        )
    return list(columns)


def _numeric(name: str, series: pd.Series, bins: int) -> NumericProfile:
    raw = numeric_values(series)
    values = np.sort(raw)
    first_nan = int(np.searchsorted(values, np.nan, side="left"))
    neg = int(np.searchsorted(values[:first_nan], -np.inf, side="right"))
    pos = first_nan - int(np.searchsorted(values[:first_nan], np.inf, side="left"))
    finite = np.ascontiguousarray(values[neg : first_nan - pos])
    edges = quantile_edges(finite, bins)
    mean = float(finite.mean()) if finite.size else math.nan
    std = float(finite.std()) if finite.size else math.nan
    return NumericProfile(
        name=name,
        dtype=str(series.dtype),
        rows=len(series),
        missing=len(series) - first_nan,
        positive_infinite=pos,
        negative_infinite=neg,
        values=finite,
        edges=edges,
        bin_counts=bin_counts(finite, edges),
        mean=mean,
        std=std,
    )


def _categorical(name: str, series: pd.Series) -> CategoricalProfile:
    counted = category_counts(series)
    return CategoricalProfile(
        name=name,
        dtype=str(series.dtype),
        rows=len(series),
        missing=counted.missing,
        categories=counted.labels,
        counts=counted.counts,
    )


# ---- files ------------------------------------------------------------------------------
def save_profile(profile: ReferenceProfile, path: str | os.PathLike[str]) -> Path:
    """Write ``profile`` to ``path`` (``.npz``), atomically; returns the path written."""
    target = Path(path)
    if target.suffix != PROFILE_SUFFIX:
        target = target.with_name(target.name + PROFILE_SUFFIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays, meta = _to_arrays(profile)
    arrays[_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(target) as tmp, tmp.open("wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
    return target


def _to_arrays(profile: ReferenceProfile) -> tuple[dict[str, Any], dict[str, Any]]:
    arrays: dict[str, Any] = {}
    described: list[dict[str, Any]] = []
    roles: list[str | None] = [None] * len(profile.columns) + list(profile.outputs)
    every = [*profile.columns.values(), *profile.outputs.values()]
    for i, (col, role) in enumerate(zip(every, roles, strict=True)):
        entry: dict[str, Any] = {
            "name": col.name,
            "kind": col.kind,
            "dtype": col.dtype,
            "rows": col.rows,
            "missing": col.missing,
        }
        if isinstance(col, NumericProfile):
            arrays[f"c{i}.values"] = col.values
            arrays[f"c{i}.edges"] = col.edges
            arrays[f"c{i}.bins"] = col.bin_counts
            entry |= {
                "positive_infinite": col.positive_infinite,
                "negative_infinite": col.negative_infinite,
                "mean": col.mean,
                "std": col.std,
            }
        else:
            arrays[f"c{i}.counts"] = col.counts
            entry["categories"] = list(col.categories)
        if role is not None:
            entry["role"] = role
        described.append(entry)
    meta = {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION if profile.outputs else 1,  # readable by older versions
        "rows": profile.rows,
        "bins": profile.bins,
        "source": profile.source,
        "created": profile.created,
        "skipped": profile.skipped,
        "columns": described,
    }
    return arrays, meta


def is_profile_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a profile file (a zip with the profile's metadata entry)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return f"{_META}.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def load_profile(path: str | os.PathLike[str]) -> ReferenceProfile:
    """Read a profile written by ``save_profile``.

    Raises:
        ProfileError: the file is missing, not a profile, corrupt, or from a newer version.
    """
    source = Path(path)
    if not source.is_file():
        raise ProfileError(f"no profile file at {source}")
    if not is_profile_file(source):
        raise ProfileError(f"{source} is not an mlplatform drift profile")
    try:
        with np.load(source, allow_pickle=False) as archive:
            meta = json.loads(bytes(archive[_META]).decode())
            _check_version(meta, source)
            columns: dict[str, ColumnProfile] = {}
            outputs: dict[Role, ColumnProfile] = {}
            for i, entry in enumerate(meta["columns"]):
                col = _column_from(entry, i, archive)
                if entry.get("role") in ROLES:
                    outputs[entry["role"]] = col
                else:
                    columns[col.name] = col
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ProfileError(f"cannot read the profile {source}: {exc}") from exc
    return ReferenceProfile(
        columns=columns,
        rows=int(meta["rows"]),
        bins=int(meta["bins"]),
        source=str(meta.get("source", "")),
        created=str(meta.get("created", "")),
        skipped=dict(meta.get("skipped", {})),
        outputs=outputs,
    )


def _check_version(meta: dict[str, Any], source: Path) -> None:
    if meta.get("format") != PROFILE_FORMAT:
        raise ProfileError(f"{source} is not an mlplatform drift profile")
    if int(meta.get("version", 0)) > PROFILE_VERSION:
        raise ProfileError(
            f"{source} is a version {meta['version']} profile; this mlplatform reads up to "
            f"version {PROFILE_VERSION}",
            "Upgrade mlplatform, or build the profile again with this version.",
        )


def _column_from(entry: dict[str, Any], i: int, archive: Any) -> ColumnProfile:
    name, dtype = str(entry["name"]), str(entry["dtype"])
    rows, missing = int(entry["rows"]), int(entry["missing"])
    if entry["kind"] == "numeric":
        return NumericProfile(
            name=name,
            dtype=dtype,
            rows=rows,
            missing=missing,
            positive_infinite=int(entry["positive_infinite"]),
            negative_infinite=int(entry["negative_infinite"]),
            values=np.asarray(archive[f"c{i}.values"], dtype=np.float64),
            edges=np.asarray(archive[f"c{i}.edges"], dtype=np.float64),
            bin_counts=np.asarray(archive[f"c{i}.bins"], dtype=np.int64),
            mean=float(entry["mean"]),
            std=float(entry["std"]),
        )
    return CategoricalProfile(
        name=name,
        dtype=dtype,
        rows=rows,
        missing=missing,
        categories=tuple(str(c) for c in entry["categories"]),
        counts=np.asarray(archive[f"c{i}.counts"], dtype=np.int64),
    )
