"""Drift alerts, on the gauges of ``mlplatform.drift.metrics``.

- ``DataDriftDetected``: the monitor's last window of a model version drifted (its share of
  drifted features reached the threshold the monitor was given), for ``for_``.
- ``FeatureMissingValuesHigh``: a feature's missing share in the last window exceeds the
  reference's by more than ``missing_share_increase``, for ``for_``.
"""

from __future__ import annotations

from mlplatform.alerts.rule import AlertRule, RuleGroup
from mlplatform.drift.metrics import DATASET_DETECTED, MISSING_SHARE, REFERENCE_MISSING_SHARE

__all__ = ["GROUP", "drift_rules"]

GROUP = "mlplatform-drift"


def drift_rules(
    *, for_: str = "15m", missing_share_increase: float = 0.05, runbook_url: str = ""
) -> RuleGroup:
    """The drift rule group.

    Args:
        for_: how long drift must persist before the alerts fire.
        missing_share_increase: the rise of a feature's missing share over the reference's
            that alerts (``drift.missing_share_threshold`` in the settings).
        runbook_url: linked from both alerts (optional).
    """
    return RuleGroup(
        GROUP,
        (
            AlertRule(
                name="DataDriftDetected",
                expr=f"max by (model, version) ({DATASET_DETECTED}) > 0",
                for_=for_,
                severity="warning",
                summary="Data drift on {{ $labels.model }} version {{ $labels.version }}",
                description=(
                    "The inputs of {{ $labels.model }} version {{ $labels.version }} have "
                    f"drifted from its training data for {for_}: enough features changed "
                    "distribution. See mlplatform_drift_detected for which ones, and run "
                    "`mlp drift check --report` on recent inputs for the details."
                ),
                labels={"component": "drift"},
                runbook_url=runbook_url,
            ),
            AlertRule(
                name="FeatureMissingValuesHigh",
                expr=(
                    f"max by (model, version, feature) ({MISSING_SHARE} - "
                    f"{REFERENCE_MISSING_SHARE}) > {missing_share_increase:g}"
                ),
                for_=for_,
                severity="warning",
                summary=(
                    "Missing values in {{ $labels.feature }} of {{ $labels.model }} "
                    "version {{ $labels.version }}"
                ),
                description=(
                    "{{ $labels.feature }} is missing {{ $value | humanizePercentage }} more "
                    "often than in the training data. Check the upstream source of this "
                    "feature."
                ),
                labels={"component": "drift"},
                runbook_url=runbook_url,
            ),
        ),
    )
