"""What a drift check found: per test, per column, and for the data set as a whole."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlplatform.drift.columns import Kind
from mlplatform.drift.config import DriftConfig

__all__ = ["ColumnDrift", "DriftResult", "Histogram", "TestResult", "json_number"]

_P_FLOOR = 1e-300


@dataclass(frozen=True)
class TestResult:
    """One test on one column.

    ``score`` is the statistic or distance (for ``wasserstein`` the distance over the
    reference std; ``raw`` holds it in data units). ``p_value`` is set for tests that have
    one (``ks``, ``chi2``, ``z``), ``adjusted_p_value`` after the multiple-testing
    correction for the deciding test. ``drifted`` compares with ``threshold``: the p-value
    below it (alpha), or the score at or above it.
    """

    __test__ = False  # not a pytest test class

    test: str
    score: float
    threshold: float
    drifted: bool
    p_value: float | None = None
    adjusted_p_value: float | None = None
    raw: float | None = None

    @property
    def severity(self) -> float:
        """How far past its threshold: 1 at the threshold, larger is worse."""
        if self.p_value is not None:
            p = self.adjusted_p_value if self.adjusted_p_value is not None else self.p_value
            if math.isnan(p):
                return 0.0
            return math.log10(max(p, _P_FLOOR)) / math.log10(self.threshold)
        if self.threshold == 0:
            return math.inf if self.score > 0 else 0.0
        return self.score / self.threshold if math.isfinite(self.score) else math.inf


@dataclass(frozen=True)
class Histogram:
    """Reference and current proportions on shared bins, for plots.

    Numeric: ``edges`` (len = bins + 1), values outside clipped into the outer bins.
    Categorical: ``labels`` (the most frequent categories, then ``(other)``).
    """

    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnDrift:
    """Everything found about one column.

    ``test`` names the deciding test and ``drifted`` its verdict (False where no test could
    run: ``notes`` say why). Missing values are their own signal: ``missing_drifted`` when
    the current missing share exceeds the reference's by more than the threshold.
    """

    name: str
    kind: Kind
    test: str
    drifted: bool
    tests: dict[str, TestResult]
    reference_count: int
    current_count: int
    reference_missing_share: float
    current_missing_share: float
    missing_drifted: bool
    reference_infinite: int = 0
    current_infinite: int = 0
    unseen: tuple[str, ...] = ()
    unseen_share: float = 0.0
    notes: tuple[str, ...] = ()
    histogram: Histogram | None = None
    role: str = "feature"  # or the model's "target" or "prediction" (a profile's outputs)

    @property
    def decided(self) -> bool:
        return self.test in self.tests

    @property
    def severity(self) -> float:
        return self.tests[self.test].severity if self.decided else -1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "kind": self.kind,
            "test": self.test,
            "drifted": self.drifted,
            "severity": json_number(self.severity),
            "tests": {k: _test_dict(t) for k, t in self.tests.items()},
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "reference_missing_share": self.reference_missing_share,
            "current_missing_share": self.current_missing_share,
            "missing_drifted": self.missing_drifted,
            "reference_infinite": self.reference_infinite,
            "current_infinite": self.current_infinite,
            "unseen": list(self.unseen),
            "unseen_share": self.unseen_share,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DriftResult:
    """A drift check of current data against a reference profile.

    The data set drifts when ``drift_share`` (drifted features over features with a verdict)
    reaches ``config.drift_share``; the model's target and prediction columns, when checked,
    are in ``columns`` with their ``role`` and in ``outputs_drifted``. ``missing_drifted``
    lists columns whose missing share rose past the threshold; ``any_drift`` is either signal.
    """

    columns: tuple[ColumnDrift, ...]
    drifted: bool
    drift_share: float
    reference_rows: int
    current_rows: int
    config: DriftConfig
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    @property
    def missing_drifted(self) -> list[str]:
        return [c.name for c in self.columns if c.missing_drifted]

    @property
    def any_drift(self) -> bool:
        return self.drifted or bool(self.missing_drifted)

    @property
    def outputs_drifted(self) -> dict[str, bool]:
        """Each checked output's verdict, by role (``target``, ``prediction``)."""
        return {c.role: c.drifted for c in self.columns if c.role != "feature"}

    def column(self, name: str) -> ColumnDrift:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def by_severity(self) -> list[ColumnDrift]:
        """Columns, drifted first, then by how far past their threshold."""
        return sorted(
            self.columns, key=lambda c: (not c.drifted, not c.missing_drifted, -c.severity)
        )

    def summary(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "drift_share": self.drift_share,
            "drifted_columns": self.drifted_columns,
            "missing_drifted": self.missing_drifted,
            "outputs_drifted": self.outputs_drifted,
            "columns": len(self.columns),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: numbers that are not finite are ``null`` (the notes say why)."""
        return {
            **self.summary(),
            "config": {k: json_number(v) for k, v in self.config.as_dict().items()},
            "notes": list(self.notes),
            "seconds": self.seconds,
            "results": [c.to_dict() for c in self.by_severity()],
        }


def json_number(value: Any) -> Any:
    """``value``, or ``None`` for a float that JSON cannot hold (NaN, infinities)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _test_dict(test: TestResult) -> dict[str, Any]:
    return {
        "score": json_number(test.score),
        "p_value": json_number(test.p_value),
        "adjusted_p_value": json_number(test.adjusted_p_value),
        "raw": json_number(test.raw),
        "threshold": test.threshold,
        "drifted": test.drifted,
    }
