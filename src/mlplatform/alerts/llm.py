"""LLM serving alerts, on vLLM's own metrics (``alerts.vllm``), per served model.

=======================  ====================================================  ========
alert                    condition (defaults)                                  severity
=======================  ====================================================  ========
LLMHighTimeToFirstToken  p95 TTFT of a model (over 5 m) above the SLO, 1 s     warning
LLMKVCacheFull           a vLLM replica's KV cache over 90 % used              warning
LLMRequestsQueued        requests wait for a batch slot (5 m average over 0)   warning
=======================  ====================================================  ========

Each condition must hold for 10 minutes. The thresholds are keyword arguments of
``llm_rules`` with the module constants below as defaults; ``rule_groups`` passes the SLO on.
The SLO default, 1 s, is a bucket bound of vLLM's TTFT histogram, so the alert fires exactly
when more than 5 % of first tokens took over 1 s. No traffic is no alert: a quantile of zero
rates is NaN, and NaN compares false.
"""

from __future__ import annotations

from mlplatform.alerts import vllm
from mlplatform.alerts.rule import AlertRule, RuleGroup

__all__ = [
    "FOR",
    "GROUP",
    "KV_CACHE_FULL",
    "TTFT_P95_SLO_SECONDS",
    "WAITING_REQUESTS",
    "kv_cache_expr",
    "llm_rules",
    "quantile_by_model",
    "ttft_p95_expr",
    "waiting_expr",
]

GROUP = "mlplatform-llm"
TTFT_P95_SLO_SECONDS = 1.0  # p95 time to first token, per served model
KV_CACHE_FULL = 0.9  # share of a replica's KV-cache blocks in use
WAITING_REQUESTS = 0.0  # requests waiting for a batch slot, averaged over 5 minutes
FOR = "10m"
_M = vllm.MODEL_LABEL


def quantile_by_model(quantile: float, histogram: str) -> str:
    """The ``quantile`` of a vLLM histogram over 5 minutes, by served model."""
    return f"histogram_quantile({quantile:g}, sum by (le, {_M}) (rate({histogram}_bucket[5m])))"


def ttft_p95_expr() -> str:
    """p95 time to first token, by served model (the dashboard plots the same expression)."""
    return quantile_by_model(0.95, vllm.TTFT)


def kv_cache_expr() -> str:
    """The KV-cache usage of each replica (``instance``: the pod's address), by model."""
    return f"max by ({_M}, instance) ({vllm.KV_CACHE_USAGE})"


def waiting_expr() -> str:
    """Requests waiting for a batch slot, all replicas of a model, averaged over 5 minutes."""
    return f"sum by ({_M}) (avg_over_time({vllm.REQUESTS_WAITING}[5m]))"


def llm_rules(
    *,
    ttft_p95_slo_seconds: float = TTFT_P95_SLO_SECONDS,
    kv_cache_full: float = KV_CACHE_FULL,
    waiting_requests: float = WAITING_REQUESTS,
    for_: str = FOR,
    runbook_url: str = "",
) -> RuleGroup:
    """The LLM alert group.

    Args:
        ttft_p95_slo_seconds: the TTFT SLO: p95 above it for ``for_`` alerts.
        kv_cache_full: the share of a replica's KV cache (0..1) above which it alerts.
        waiting_requests: the 5-minute average of waiting requests above which it alerts.
        for_: how long each condition must hold.
        runbook_url: linked from every alert (optional).
    """

    def rule(name: str, expr: str, summary: str, description: str) -> AlertRule:
        return AlertRule(
            name=name,
            expr=expr,
            for_=for_,
            severity="warning",
            summary=summary,
            description=description,
            labels={"component": "llm"},
            runbook_url=runbook_url,
        )

    return RuleGroup(
        GROUP,
        (
            rule(
                name="LLMHighTimeToFirstToken",
                expr=f"{ttft_p95_expr()} > {ttft_p95_slo_seconds:g}",
                summary=(
                    "P95 time to first token of {{ $labels.model_name }} is "
                    "{{ $value | humanizeDuration }}"
                ),
                description=(
                    "More than 5 % of the requests to {{ $labels.model_name }} waited over "
                    f"{ttft_p95_slo_seconds:g} s (the SLO) for their first token, for {for_}. "
                    "Look at its requests waiting and KV-cache usage on the LLM dashboard: a "
                    "full batch needs more replicas (or a larger GPU); long prompts need a "
                    "smaller --max-model-len or more GPU memory."
                ),
            ),
            rule(
                name="LLMKVCacheFull",
                expr=f"{kv_cache_expr()} > {kv_cache_full:g}",
                summary=(
                    "KV cache of {{ $labels.model_name }} on {{ $labels.instance }} is "
                    "{{ $value | humanizePercentage }} full"
                ),
                description=(
                    "This vLLM replica used more than "
                    f"{kv_cache_full:.0%} of its KV cache for {for_}: new requests wait and "
                    "running ones may be preempted. Add replicas, raise "
                    "--gpu-memory-utilization, lower --max-model-len, or move the model to a "
                    "larger GPU pool (`mlp deploy llm ... --dry-run` checks what fits)."
                ),
            ),
            rule(
                name="LLMRequestsQueued",
                expr=f"{waiting_expr()} > {waiting_requests:g}",
                summary=(
                    '{{ $value | printf "%.1f" }} requests wait for a batch slot of '
                    "{{ $labels.model_name }} (5 m average)"
                ),
                description=(
                    "Requests to {{ $labels.model_name }} have queued in vLLM for "
                    f"{for_}: its running batch is full (max-num-seqs or KV cache). If its "
                    "scaler is at its maximum replicas, raise the maximum; otherwise check "
                    "that the scaler reads vllm:num_requests_waiting (KEDAScalerErrors)."
                ),
            ),
        ),
    )
