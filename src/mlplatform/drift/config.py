"""What a drift check decides with: which test per column kind, thresholds, corrections.

Every number that changes a verdict lives in ``DriftConfig``; the CLI fills it from the
settings (``[drift]`` in ``mlplatform.toml``), nothing here reads them itself. Bin edges are
not here: they belong to the reference profile, fixed when it is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from mlplatform.errors import ConfigError

__all__ = [
    "CATEGORICAL_TESTS",
    "NUMERIC_TESTS",
    "CategoricalTest",
    "Correction",
    "DriftConfig",
    "KsMethod",
    "Mode",
    "NumericTest",
]

NumericTest = Literal["ks", "wasserstein", "psi", "js"]
CategoricalTest = Literal["chi2", "psi", "js"]
Correction = Literal["none", "bonferroni", "bh"]
KsMethod = Literal["asymp", "exact", "auto"]
Mode = Literal["native", "evidently"]

NUMERIC_TESTS: tuple[NumericTest, ...] = ("ks", "wasserstein", "psi", "js")
CATEGORICAL_TESTS: tuple[CategoricalTest, ...] = ("chi2", "psi", "js")
_CHOICES: dict[str, tuple[str, ...]] = {
    "numeric_test": NUMERIC_TESTS,
    "categorical_test": CATEGORICAL_TESTS,
    "correction": ("none", "bonferroni", "bh"),
    "ks_method": ("asymp", "exact", "auto"),
    "mode": ("native", "evidently"),
}


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds and definitions of a drift check.

    Attributes:
        numeric_test: the test that decides a numeric column: ``ks`` (p-value < ``alpha``),
            ``wasserstein`` (Wasserstein-1 over the reference std >= its threshold), ``psi`` or
            ``js``. Every test is computed and reported; only this one decides.
        categorical_test: ``chi2`` (p-value < ``alpha``), ``psi`` or ``js``.
        alpha: significance level of the p-value tests (after ``correction``).
        correction: multiple-testing correction over the deciding p-values of all columns:
            ``none``, ``bonferroni`` or ``bh`` (Benjamini-Hochberg).
        psi_threshold: a column drifts when PSI >= this (0.2 is the common "major shift").
        js_threshold: a column drifts when the Jensen-Shannon distance >= this.
        wasserstein_threshold: a column drifts when the normalized Wasserstein-1 >= this.
        drift_share: the dataset drifts when at least this share of columns drift.
        missing_share_threshold: a column's missing values are flagged when the current
            missing share exceeds the reference's by more than this.
        ks_method: KS p-value: ``asymp`` (default), ``exact``, or ``auto`` (scipy's rule:
            exact when both samples have at most 10,000 values).
        psi_log_base: logarithm base of PSI (default e).
        js_log_base: logarithm base of the Jensen-Shannon distance (default 2: it lies in [0, 1]).
        epsilon: the proportion that replaces an empty bin in PSI (never in JS, which needs none).
        mode: ``native``, or ``evidently`` to reproduce Evidently's definitions (see
            ``mlplatform.drift.compat``).
    """

    numeric_test: NumericTest = "ks"
    categorical_test: CategoricalTest = "chi2"
    alpha: float = 0.05
    correction: Correction = "none"
    psi_threshold: float = 0.2
    js_threshold: float = 0.1
    wasserstein_threshold: float = 0.1
    drift_share: float = 0.5
    missing_share_threshold: float = 0.05
    ks_method: KsMethod = "asymp"
    psi_log_base: float = math.e
    js_log_base: float = 2.0
    epsilon: float = 1e-4
    mode: Mode = "native"

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"drift {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        _in_range("alpha", self.alpha, 0.0, 1.0, closed=False)
        _in_range("drift_share", self.drift_share, 0.0, 1.0)
        _in_range("epsilon", self.epsilon, 0.0, 1.0, closed=False)
        _in_range("missing_share_threshold", self.missing_share_threshold, 0.0, 1.0)
        for name in ("psi_threshold", "js_threshold", "wasserstein_threshold"):
            _in_range(name, getattr(self, name), 0.0, math.inf)
        for name in ("psi_log_base", "js_log_base"):
            if not getattr(self, name) > 1.0:
                raise ConfigError(f"drift {name} must be > 1, got {getattr(self, name)}")

    @classmethod
    def evidently(cls, **overrides: Any) -> DriftConfig:
        """Evidently's defaults: p-values at 0.05, distances at 0.1, half the columns."""
        base = cls(
            mode="evidently",
            ks_method="auto",
            alpha=0.05,
            js_threshold=0.1,
            psi_threshold=0.1,
            wasserstein_threshold=0.1,
            psi_log_base=math.e,
            js_log_base=math.e,
            drift_share=0.5,
        )
        return replace(base, **overrides)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> DriftConfig:
        """A config from a mapping of field names (unknown keys are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown drift settings: {', '.join(unknown)}",
                f"Known drift settings: {', '.join(sorted(known))}.",
            )
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _in_range(name: str, value: float, low: float, high: float, *, closed: bool = True) -> None:
    ok = low <= value <= high if closed else low < value < high
    if not (ok and not math.isnan(value)):
        bounds = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise ConfigError(f"drift {name} must be within {bounds}, got {value}")
