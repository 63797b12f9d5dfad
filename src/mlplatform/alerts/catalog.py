"""Every rule group of the platform, in one list (the source of the rendered rules file).

Three groups: the drift alerts (``drift``), the platform's own (``platform``: serving,
MLflow, pipelines, GPUs, autoscaling) and the LLM serving alerts (``llm``: vLLM's TTFT,
KV cache and queue).
"""

from __future__ import annotations

from mlplatform.alerts.drift import drift_rules
from mlplatform.alerts.llm import TTFT_P95_SLO_SECONDS, llm_rules
from mlplatform.alerts.platform import platform_rules
from mlplatform.alerts.rule import RuleGroup

__all__ = ["rule_groups"]


def rule_groups(
    *,
    missing_share_increase: float = 0.05,
    for_: str = "15m",
    ttft_p95_slo_seconds: float = TTFT_P95_SLO_SECONDS,
) -> list[RuleGroup]:
    """All groups; the arguments are the thresholds that come from the settings (``for_`` is
    the drift alerts'; the LLM alerts hold for their own 10 minutes)."""
    return [
        drift_rules(for_=for_, missing_share_increase=missing_share_increase),
        platform_rules(),
        llm_rules(ttft_p95_slo_seconds=ttft_p95_slo_seconds),
    ]
