"""Data drift: exact two-sample statistics, reference profiles, a windowed monitor.

- ``build_profile`` / ``save_profile`` / ``load_profile``: the reference, built once from
  training data (the register step saves it beside the model);
- ``check_drift``: current data against a profile: per-column tests and a data set verdict;
- ``DriftMonitor``: windows over inference inputs, results into Prometheus gauges
  (``DriftMetrics``);
- ``render_report``: one self-contained HTML page;
- ``mlplatform.drift.statistics``: the statistics themselves (KS, Wasserstein, PSI, JS,
  chi-square), equal to scipy's definitions.

Nothing here reads settings: thresholds come in a ``DriftConfig``.
"""

from __future__ import annotations

from mlplatform.drift.check import check_drift
from mlplatform.drift.config import DriftConfig
from mlplatform.drift.io import iter_frames, read_table
from mlplatform.drift.metrics import DriftMetrics
from mlplatform.drift.monitor import DriftMonitor, Window
from mlplatform.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    build_profile,
    is_profile_file,
    load_profile,
    save_profile,
)
from mlplatform.drift.result import ColumnDrift, DriftResult, Histogram, TestResult

__all__ = [
    "CategoricalProfile",
    "ColumnDrift",
    "DriftConfig",
    "DriftMetrics",
    "DriftMonitor",
    "DriftResult",
    "Histogram",
    "NumericProfile",
    "ReferenceProfile",
    "TestResult",
    "Window",
    "build_profile",
    "check_drift",
    "is_profile_file",
    "iter_frames",
    "load_profile",
    "read_table",
    "save_profile",
]
