"""Training/serving skew: the same entities' feature values from two paths, compared.

Two questions, two measures:

- value skew (``compare_values``): for the same entities at the same moment, does the path
  that built the training data (the offline store's point-in-time answer) give the values
  the serving path (the online store) gives? Per feature the share of entities whose values
  differ: exact for categories, within ``tolerance`` for numbers; a value on one side only
  counts as a mismatch, and is also counted on its own (``missing_online``,
  ``missing_offline``). Any mismatch above ``threshold`` is skew: a bug in a pipeline, a
  stale or partial materialization, values written to the online store by hand.
- distribution skew (``SkewResult.distribution``): the model's training features (its
  reference profile) against the online features of the same entities, with the drift
  statistics (``check_drift``). This mixes skew with real change since training, so it is
  reported beside the value check, not folded into it.

Nothing here knows Feast: ``mlplatform.features.skew`` fetches the two frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlplatform.drift.result import DriftResult, json_number
from mlplatform.errors import DriftSchemaError

__all__ = ["SkewResult", "ValueSkew", "compare_values"]

ValueKind = Literal["numeric", "categorical"]
_EXAMPLES = 3


@dataclass(frozen=True)
class ValueSkew:
    """One feature's value comparison over the same entities.

    ``compared`` counts entities with a value on either side; ``mismatches`` those whose
    values differ (one side missing included); ``examples`` holds a few mismatching
    entities as ``(entity, offline value, online value)`` strings for the report.
    """

    feature: str
    kind: ValueKind
    compared: int
    mismatches: int
    missing_online: int
    missing_offline: int
    max_abs_diff: float | None = None
    examples: tuple[tuple[str, str, str], ...] = ()

    @property
    def mismatch_rate(self) -> float:
        return self.mismatches / self.compared if self.compared else 0.0

    @property
    def missing_online_rate(self) -> float:
        return self.missing_online / self.compared if self.compared else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "compared": self.compared,
            "mismatches": self.mismatches,
            "mismatch_rate": self.mismatch_rate,
            "missing_online": self.missing_online,
            "missing_offline": self.missing_offline,
            "max_abs_diff": json_number(self.max_abs_diff),
            "examples": [list(e) for e in self.examples],
        }


@dataclass(frozen=True)
class SkewResult:
    """A skew check of one feature service for one model (or just a set of entities).

    A feature is skewed when its ``mismatch_rate`` exceeds ``threshold``; ``skewed`` is true
    when any is. The distribution check's verdict is apart (``distribution_drifted``): a
    model trained on last year's values drifts from today's without any skew.
    """

    service: str
    entities: int
    values: tuple[ValueSkew, ...]
    tolerance: float
    threshold: float = 0.0
    as_of: dict[str, str] = field(default_factory=dict)  # feature view -> compared moment
    distribution: DriftResult | None = None
    model: str = ""
    version: str = ""
    notes: tuple[str, ...] = ()

    @property
    def skewed_features(self) -> list[str]:
        return [v.feature for v in self.values if v.mismatch_rate > self.threshold]

    @property
    def skewed(self) -> bool:
        """Value skew: some feature's online values differ from the offline store's."""
        return bool(self.skewed_features)

    @property
    def distribution_drifted(self) -> bool:
        """The online values' distribution drifted from the training profile."""
        return bool(self.distribution is not None and self.distribution.drifted)

    def value(self, feature: str) -> ValueSkew:
        for found in self.values:
            if found.feature == feature:
                return found
        raise KeyError(feature)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the verdicts, every feature's counts, the distribution check."""
        return {
            "service": self.service,
            "model": self.model,
            "version": self.version,
            "entities": self.entities,
            "skewed": self.skewed,
            "distribution_drifted": self.distribution_drifted,
            "skewed_features": self.skewed_features,
            "tolerance": self.tolerance,
            "threshold": self.threshold,
            "as_of": dict(self.as_of),
            "values": [v.to_dict() for v in self.values],
            "distribution": None if self.distribution is None else self.distribution.to_dict(),
            "notes": list(self.notes),
        }


def compare_values(
    offline: pd.DataFrame,
    online: pd.DataFrame,
    keys: list[str],
    features: list[str],
    *,
    tolerance: float = 1e-9,
) -> tuple[ValueSkew, ...]:
    """Compare ``features`` of the entities ``keys`` identify in the two frames.

    Rows are matched on ``keys`` (each frame one row per entity); numbers match when
    ``|a - b| <= tolerance + tolerance * |a|``, everything else when equal; two missing
    values match.

    Raises:
        DriftSchemaError: a key or feature column is missing, or a frame repeats an entity.
    """
    for name, frame in (("offline", offline), ("online", online)):
        absent = [c for c in [*keys, *features] if c not in frame.columns]
        if absent:
            raise DriftSchemaError(
                f"the {name} features lack {', '.join(absent)}",
                "Fetch both sides with the same feature service and entity keys.",
            )
        if frame.duplicated(subset=keys).any():
            raise DriftSchemaError(
                f"the {name} features repeat entities",
                "Give each entity once (drop duplicate keys before fetching).",
            )
    joined = offline[[*keys, *features]].merge(
        online[[*keys, *features]], on=keys, how="outer", suffixes=("__off", "__on")
    )
    entity = joined[keys].astype(str).agg("/".join, axis=1)
    return tuple(
        _compare(name, joined[f"{name}__off"], joined[f"{name}__on"], entity, tolerance)
        for name in features
    )


def _compare(
    name: str, off: pd.Series, on: pd.Series, entity: pd.Series, tolerance: float
) -> ValueSkew:
    off_missing, on_missing = off.isna().to_numpy(), on.isna().to_numpy()
    numeric = _numeric(off) and _numeric(on)
    both = ~off_missing & ~on_missing
    equal = np.zeros(len(off), dtype=bool)
    widest: float | None = None
    if numeric:
        a = off.to_numpy(dtype=float, na_value=np.nan)
        b = on.to_numpy(dtype=float, na_value=np.nan)
        diff = np.abs(a - b)
        equal[both] = diff[both] <= tolerance + tolerance * np.abs(a[both])
        widest = float(diff[both].max()) if both.any() else None
    else:
        equal[both] = off[both].astype(str).to_numpy() == on[both].astype(str).to_numpy()
    equal |= off_missing & on_missing
    present = ~(off_missing & on_missing)
    wrong = ~equal
    shown = np.flatnonzero(wrong)[:_EXAMPLES]
    return ValueSkew(
        feature=name,
        kind="numeric" if numeric else "categorical",
        compared=int(present.sum()),
        mismatches=int(wrong.sum()),
        missing_online=int((on_missing & ~off_missing).sum()),
        missing_offline=int((off_missing & ~on_missing).sum()),
        max_abs_diff=widest if widest is None or math.isfinite(widest) else None,
        examples=tuple((str(entity.iat[i]), _text(off.iat[i]), _text(on.iat[i])) for i in shown),
    )


def _numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_numeric_dtype(series):
        return True
    return series.dtype == object and bool(series.dropna().map(_is_number).all())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _text(value: object) -> str:
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    return "(missing)" if missing else str(value)
