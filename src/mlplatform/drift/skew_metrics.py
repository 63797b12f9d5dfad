"""Prometheus gauges of a training/serving skew check, per model, version and feature.

Series (all gauges)::

    mlplatform_feature_skew{model,version,feature,kind}           the measure of ``kind``
    mlplatform_feature_skew_detected{model,version,feature,kind}  1 skewed, 0 not
    mlplatform_feature_skew_entities{model,version}               entities compared

``kind`` is ``value`` (share of entities whose online value differs from the offline
store's at the same moment), ``missing_online`` (share with an offline value and none
online) or ``distribution`` (the deciding drift test's score of training vs online values;
its ``detected`` is the drift verdict). Like ``DriftMetrics``: an own registry unless one is
given, and ``write_textfile`` for node_exporter's textfile collector (what ``mlp drift
monitor --metrics-file`` writes too).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from mlplatform.atomicfile import atomic_write_bytes
from mlplatform.drift.skew import SkewResult

__all__ = ["SKEW", "SKEW_DETECTED", "SKEW_ENTITIES", "SkewMetrics"]

SKEW = "mlplatform_feature_skew"
SKEW_DETECTED = "mlplatform_feature_skew_detected"
SKEW_ENTITIES = "mlplatform_feature_skew_entities"

_FEATURE = ("model", "version", "feature", "kind")
_MODEL = ("model", "version")


class SkewMetrics:
    """The skew gauges; ``observe`` sets them from one check's result."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.skew = Gauge(SKEW, "Training/serving skew measure.", _FEATURE, registry=reg)
        self.detected = Gauge(
            SKEW_DETECTED, "1 when the feature is skewed.", _FEATURE, registry=reg
        )
        self.entities = Gauge(SKEW_ENTITIES, "Entities compared.", _MODEL, registry=reg)

    def observe(self, result: SkewResult, model: str = "", version: str = "") -> None:
        """Set every gauge from ``result`` (labels default to the result's model)."""
        model, version = model or result.model, version or result.version
        self.entities.labels(model, version).set(result.entities)
        for found in result.values:
            skewed = float(found.mismatch_rate > result.threshold)
            self._set(model, version, found.feature, "value", found.mismatch_rate, skewed)
            self._set(
                model,
                version,
                found.feature,
                "missing_online",
                found.missing_online_rate,
                float(found.missing_online > 0),
            )
        if result.distribution is None:
            return
        for col in result.distribution.columns:
            test = col.tests.get(col.test)
            if test is not None:
                self._set(model, version, col.name, "distribution", test.score, float(col.drifted))

    def _set(
        self, model: str, version: str, feature: str, kind: str, value: float, detected: float
    ) -> None:
        self.skew.labels(model, version, feature, kind).set(value)
        self.detected.labels(model, version, feature, kind).set(detected)

    def exposition(self) -> bytes:
        """The gauges in Prometheus' text format."""
        return generate_latest(self.registry)

    def write_textfile(self, path: str | os.PathLike[str]) -> None:
        """Write the gauges for node_exporter's textfile collector (atomically)."""
        atomic_write_bytes(path, self.exposition())
