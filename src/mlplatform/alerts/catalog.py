"""Every rule group of the platform, in one list (the source of the rendered rules file).

Two groups: the drift alerts (``drift``) and the platform's own (``platform``: serving,
MLflow, pipelines, GPUs, autoscaling).
"""

from __future__ import annotations

from mlplatform.alerts.drift import drift_rules
from mlplatform.alerts.platform import platform_rules
from mlplatform.alerts.rule import RuleGroup

__all__ = ["rule_groups"]


def rule_groups(*, missing_share_increase: float = 0.05, for_: str = "15m") -> list[RuleGroup]:
    """All groups; the arguments are the thresholds that come from the settings."""
    return [
        drift_rules(for_=for_, missing_share_increase=missing_share_increase),
        platform_rules(),
    ]
