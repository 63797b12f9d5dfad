"""The LLM alerts (TTFT SLO, KV cache full, requests queued): promtool cases that fire and
cases that stay quiet, the thresholds as arguments, and the group in the one rules source."""

from __future__ import annotations

import pytest

from mlplatform.alerts import rule_groups, write_rules_file
from mlplatform.alerts.exported import metric_names, series_names
from mlplatform.alerts.llm import (
    GROUP,
    KV_CACHE_FULL,
    TTFT_P95_SLO_SECONDS,
    WAITING_REQUESTS,
    llm_rules,
)
from mlplatform.alerts.render import prometheus_rule

from ._promtool import passes, promtool, series, unit_test

LLM = {"severity": "warning", "component": "llm"}
TTFT = "vllm:time_to_first_token_seconds_bucket"
BUCKETS = ("0.5", "1", "2.5", "+Inf")


def description(name: str, **labels: str) -> str:
    text = next(r.description for r in llm_rules().rules if r.name == name)
    for key, value in labels.items():
        text = text.replace(f"{{{{ $labels.{key} }}}}", value)
    return text


def ttft_series(model: str, per_bucket: dict[str, str], **labels: str) -> list[dict[str, str]]:
    """Cumulative TTFT buckets of one engine: ``per_bucket`` maps a bound to its values."""
    return [series(TTFT, per_bucket[le], model_name=model, le=le, engine="0", **labels)
            for le in BUCKETS]  # fmt: skip


def slow_and_fast() -> list[dict[str, str]]:
    # "slow" on two pods: 10 first tokens a minute each, all between 1 s and 2.5 s;
    # "edge": 4 % of its first tokens over 1 s (p95 under the SLO); "fast": all under 0.5 s
    slow = {"0.5": "0x30", "1": "0x30", "2.5": "0+10x30", "+Inf": "0+10x30"}
    edge = {"0.5": "0+96x30", "1": "0+96x30", "2.5": "0+100x30", "+Inf": "0+100x30"}
    fast = {"0.5": "0+50x30", "1": "0+50x30", "2.5": "0+50x30", "+Inf": "0+50x30"}
    return [
        *ttft_series("slow", slow, instance="10.0.0.1:8000"),
        *ttft_series("slow", slow, instance="10.0.0.2:8000"),
        *ttft_series("edge", edge, instance="10.0.0.3:8000"),
        *ttft_series("fast", fast, instance="10.0.0.4:8000"),
    ]


def test_the_group_is_in_the_one_rules_source_with_its_thresholds(tmp_path):
    # GIVEN the platform's rule groups WHEN listed THEN the LLM group is there, as rendered
    # for `mlp up` (the rules file) and for the cluster (the PrometheusRule)
    groups = rule_groups()
    assert GROUP in [g.name for g in groups]
    assert GROUP in [g["name"] for g in prometheus_rule(groups)["spec"]["groups"]]
    rules = {r.name: r for r in llm_rules().rules}
    assert sorted(rules) == ["LLMHighTimeToFirstToken", "LLMKVCacheFull", "LLMRequestsQueued"]
    assert (TTFT_P95_SLO_SECONDS, KV_CACHE_FULL, WAITING_REQUESTS) == (1.0, 0.9, 0.0)
    assert rules["LLMHighTimeToFirstToken"].expr.endswith("> 1")
    assert rules["LLMKVCacheFull"].expr.endswith("> 0.9")
    assert rules["LLMRequestsQueued"].expr.endswith("> 0")
    assert {r.for_ for r in rules.values()} == {"10m"}
    assert all(r.summary and r.description for r in rules.values())
    # AND every metric they read is an exported vLLM metric
    for rule in rules.values():
        used = metric_names(rule.expr)
        assert used, rule.name
        assert all(series_names()[m].startswith("vLLM") for m in used), rule.name
    # AND promtool accepts the group
    path = write_rules_file([llm_rules()], tmp_path / "llm.yaml")
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    passes(result)
    assert "SUCCESS: 3 rules found" in result.stdout


def test_thresholds_are_arguments():
    group = llm_rules(ttft_p95_slo_seconds=0.5, kv_cache_full=0.8, waiting_requests=2, for_="5m")
    exprs = {r.name: r.expr for r in group.rules}
    assert exprs["LLMHighTimeToFirstToken"].endswith("> 0.5")
    assert exprs["LLMKVCacheFull"].endswith("> 0.8")
    assert exprs["LLMRequestsQueued"].endswith("> 2")
    assert {r.for_ for r in group.rules} == {"5m"}
    assert "0.5 s (the SLO)" in group.rules[0].description
    slo = next(g for g in rule_groups(ttft_p95_slo_seconds=2) if g.name == GROUP)
    assert slo.rules[0].expr.endswith("> 2")


def test_ttft_fires_for_a_model_over_the_slo_for_10m_only(tmp_path):
    summary = "P95 time to first token of slow is 2.425s"
    checks = [
        # the condition holds from minute 1: pending, not firing, until minute 11
        {"eval_time": "9m", "alertname": "LLMHighTimeToFirstToken", "exp_alerts": []},
        {
            "eval_time": "15m",
            "alertname": "LLMHighTimeToFirstToken",
            "exp_alerts": [
                {
                    "exp_labels": {**LLM, "model_name": "slow"},
                    "exp_annotations": {
                        "summary": summary,
                        "description": description("LLMHighTimeToFirstToken", model_name="slow"),
                    },
                }
            ],
        },
    ]
    passes(unit_test(tmp_path, [llm_rules()], slow_and_fast(), alerts=checks))


def test_ttft_stays_quiet_with_a_looser_slo_and_without_traffic(tmp_path):
    # GIVEN an SLO of 2.5 s (slow's p95 is 2.425 s), and a model that stopped serving
    idle = {le: "0+10x5 50x25" for le in BUCKETS}
    inputs = [*slow_and_fast(), *ttft_series("idle", idle, instance="10.0.0.5:8000")]
    checks = [{"eval_time": "25m", "alertname": "LLMHighTimeToFirstToken", "exp_alerts": []}]
    group = llm_rules(ttft_p95_slo_seconds=2.5)
    passes(unit_test(tmp_path, [group], inputs, alerts=checks))


def test_kv_cache_fires_for_a_replica_over_90_percent_for_10m(tmp_path):
    name = "vllm:kv_cache_usage_perc"
    inputs = [
        series(name, "0.95x30", model_name="big", engine="0", instance="10.0.0.1:8000"),
        series(name, "0.5x30", model_name="big", engine="0", instance="10.0.0.2:8000"),
        series(name, "0.95x5 0.3x25", model_name="spiky", engine="0", instance="10.0.0.3:8000"),
        series(name, "0.9x30", model_name="at-limit", engine="0", instance="10.0.0.4:8000"),
    ]
    checks = [
        {"eval_time": "8m", "alertname": "LLMKVCacheFull", "exp_alerts": []},
        {
            "eval_time": "15m",
            "alertname": "LLMKVCacheFull",
            "exp_alerts": [
                {
                    "exp_labels": {**LLM, "model_name": "big", "instance": "10.0.0.1:8000"},
                    "exp_annotations": {
                        "summary": "KV cache of big on 10.0.0.1:8000 is 95% full",
                        "description": description("LLMKVCacheFull"),
                    },
                }
            ],
        },
    ]
    passes(unit_test(tmp_path, [llm_rules()], inputs, alerts=checks))


def test_requests_queued_fires_when_requests_wait_for_10m_not_for_a_burst(tmp_path):
    name = "vllm:num_requests_waiting"
    inputs = [
        # "busy" queues on both replicas all the time; "burst" for 4 minutes; "idle" never
        series(name, "2x30", model_name="busy", engine="0", instance="10.0.0.1:8000"),
        series(name, "1x30", model_name="busy", engine="0", instance="10.0.0.2:8000"),
        series(name, "0x5 4x3 0x21", model_name="burst", engine="0", instance="10.0.0.3:8000"),
        series(name, "0x30", model_name="idle", engine="0", instance="10.0.0.4:8000"),
    ]
    checks = [
        {"eval_time": "8m", "alertname": "LLMRequestsQueued", "exp_alerts": []},
        {
            "eval_time": "20m",
            "alertname": "LLMRequestsQueued",
            "exp_alerts": [
                {
                    "exp_labels": {**LLM, "model_name": "busy"},
                    "exp_annotations": {
                        "summary": "3.0 requests wait for a batch slot of busy (5 m average)",
                        "description": description("LLMRequestsQueued", model_name="busy"),
                    },
                }
            ],
        },
    ]
    passes(unit_test(tmp_path, [llm_rules()], inputs, alerts=checks))


@pytest.mark.parametrize("alertname", ["LLMKVCacheFull", "LLMRequestsQueued"])
def test_a_wrong_expectation_fails_so_the_cases_above_mean_something(tmp_path, alertname):
    # GIVEN an idle model WHEN an alert is expected of it THEN promtool reports the failure
    inputs = [
        series("vllm:kv_cache_usage_perc", "0.1x30", model_name="m", engine="0", instance="a"),
        series("vllm:num_requests_waiting", "0x30", model_name="m", engine="0", instance="a"),
    ]
    checks = [{"eval_time": "20m", "alertname": alertname,
               "exp_alerts": [{"exp_labels": {**LLM, "model_name": "m"}}]}]  # fmt: skip
    result = unit_test(tmp_path, [llm_rules()], inputs, alerts=checks)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
