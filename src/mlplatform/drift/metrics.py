"""Prometheus gauges of drift results, per model, version, feature and test.

Series (all gauges; ``test`` is ``ks``, ``wasserstein``, ``psi``, ``js``, ``chi2`` ...)::

    mlplatform_drift_score{model,version,feature,test}          statistic or distance
    mlplatform_drift_p_value{model,version,feature,test}        tests that have one
    mlplatform_drift_detected{model,version,feature,test}       1 drifted, 0 not
    mlplatform_drift_dataset_share{model,version}               share of drifted features
    mlplatform_drift_dataset_detected{model,version}            1 when the data set drifts
    mlplatform_drift_window_rows{model,version}                 rows in the last window
    mlplatform_drift_missing_share{model,version,feature}       missing share, last window
    mlplatform_drift_reference_missing_share{model,version,feature}

The alert rules in ``mlplatform.alerts.drift`` use these names (imported from here).
Gauges live in their own registry unless one is given (a server passes its own).
"""

from __future__ import annotations

import math
import os

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from mlplatform.atomicfile import atomic_write_bytes
from mlplatform.drift.result import DriftResult

__all__ = [
    "DATASET_DETECTED",
    "DATASET_SHARE",
    "DETECTED",
    "MISSING_SHARE",
    "P_VALUE",
    "REFERENCE_MISSING_SHARE",
    "SCORE",
    "WINDOW_ROWS",
    "DriftMetrics",
]

SCORE = "mlplatform_drift_score"
P_VALUE = "mlplatform_drift_p_value"
DETECTED = "mlplatform_drift_detected"
DATASET_SHARE = "mlplatform_drift_dataset_share"
DATASET_DETECTED = "mlplatform_drift_dataset_detected"
WINDOW_ROWS = "mlplatform_drift_window_rows"
MISSING_SHARE = "mlplatform_drift_missing_share"
REFERENCE_MISSING_SHARE = "mlplatform_drift_reference_missing_share"

_TEST = ("model", "version", "feature", "test")
_FEATURE = ("model", "version", "feature")
_MODEL = ("model", "version")


class DriftMetrics:
    """The drift gauges; ``observe`` sets them from one check's result."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.score = Gauge(SCORE, "Drift statistic or distance.", _TEST, registry=reg)
        self.p_value = Gauge(P_VALUE, "p-value of a drift test.", _TEST, registry=reg)
        self.detected = Gauge(DETECTED, "1 when the test finds drift.", _TEST, registry=reg)
        self.dataset_share = Gauge(
            DATASET_SHARE, "Share of drifted features.", _MODEL, registry=reg
        )
        self.dataset_detected = Gauge(
            DATASET_DETECTED, "1 when the data set drifts.", _MODEL, registry=reg
        )
        self.window_rows = Gauge(WINDOW_ROWS, "Rows in the last window.", _MODEL, registry=reg)
        self.missing_share = Gauge(
            MISSING_SHARE, "Share of missing values in the last window.", _FEATURE, registry=reg
        )
        self.reference_missing_share = Gauge(
            REFERENCE_MISSING_SHARE,
            "Share of missing values in the reference.",
            _FEATURE,
            registry=reg,
        )

    def observe(self, result: DriftResult, model: str, version: str) -> None:
        """Set every gauge from ``result`` (a p-value that is NaN is left unset)."""
        self.dataset_share.labels(model, version).set(result.drift_share)
        self.dataset_detected.labels(model, version).set(float(result.drifted))
        self.window_rows.labels(model, version).set(result.current_rows)
        for col in result.columns:
            self.missing_share.labels(model, version, col.name).set(col.current_missing_share)
            self.reference_missing_share.labels(model, version, col.name).set(
                col.reference_missing_share
            )
            for name, test in col.tests.items():
                self.score.labels(model, version, col.name, name).set(test.score)
                self.detected.labels(model, version, col.name, name).set(float(test.drifted))
                if test.p_value is not None and not math.isnan(test.p_value):
                    self.p_value.labels(model, version, col.name, name).set(test.p_value)

    def exposition(self) -> bytes:
        """The gauges in Prometheus' text format."""
        return generate_latest(self.registry)

    def write_textfile(self, path: str | os.PathLike[str]) -> None:
        """Write the gauges for node_exporter's textfile collector (atomically)."""
        atomic_write_bytes(path, self.exposition())
