"""The LLM dashboard: the committed JSON is what ``mlplatform.alerts.llm_dashboard`` renders,
it is provisioned like the other dashboards, every panel's PromQL parses (promtool, for every
committed dashboard) and evaluates to the right numbers over vLLM-shaped series."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from _golden import compare
from mlplatform.alerts import RuleGroup
from mlplatform.alerts.dashboard_view import panel_queries
from mlplatform.alerts.exported import metric_names, series_names
from mlplatform.alerts.llm import KV_CACHE_FULL, TTFT_P95_SLO_SECONDS
from mlplatform.alerts.llm_dashboard import (
    FILE_NAME,
    llm_dashboard,
    panel_exprs,
    render_llm_dashboard,
)

from ._promtool import passes, promtool, series, unit_test

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "infrastructure" / "kubernetes" / "base" / "monitoring" / "dashboards"
REGENERATE = "MLPLATFORM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/alerts/test_llm_dashboard.py"
TITLES = [
    "Time to first token p50 / p95",
    "Inter-token latency p50 / p95",
    "Output tokens per second",
    "Requests running and waiting",
    "KV-cache usage (fullest replica)",
    "End-to-end request latency p50 / p95",
]


def test_the_committed_dashboard_is_the_rendered_one():
    compare(DASHBOARDS / FILE_NAME, render_llm_dashboard(), REGENERATE)


def test_it_is_provisioned_like_the_other_dashboards():
    # GIVEN the dashboards' kustomization WHEN its ConfigMaps are read THEN the LLM dashboard
    # is one of them, with the labels the Grafana sidecar loads
    kustomization = yaml.safe_load((DASHBOARDS / "kustomization.yaml").read_text())
    maps = {m["name"]: m["files"] for m in kustomization["configMapGenerator"]}
    assert maps["dashboard-llm"] == [FILE_NAME]
    assert kustomization["generatorOptions"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads((DASHBOARDS / FILE_NAME).read_text())
    others = [json.loads((DASHBOARDS / f).read_text()) for f in ("dashboard.drift.json",)]
    assert set(board) == set(others[0])  # the same top-level shape as the hand-written ones


def test_panels_show_the_llm_signals_by_model_with_the_alert_thresholds():
    board = llm_dashboard()
    assert [p["title"] for p in board["panels"]] == TITLES
    assert len({p["id"] for p in board["panels"]}) == len(TITLES)
    for panel in board["panels"]:
        for target in panel["targets"]:
            assert "{{model_name}}" in target["legendFormat"], panel["title"]
            assert "(le, model_name)" in target["expr"] or "by (model_name)" in target["expr"]
            used = metric_names(target["expr"])
            assert used
            assert all(series_names()[m].startswith("vLLM") for m in used)
    steps = {p["title"]: p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps")
             for p in board["panels"]}  # fmt: skip
    assert steps[TITLES[0]][-1]["value"] == TTFT_P95_SLO_SECONDS
    assert steps[TITLES[4]][-1]["value"] == KV_CACHE_FULL
    slower = llm_dashboard(ttft_p95_slo_seconds=2.5)["panels"][0]
    assert slower["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 2.5


def check_parses(tmp_path: Path, exprs: dict[str, str]) -> tuple[int, str]:
    """``promtool check rules`` on a recording rule per expression: PromQL's own parser."""
    rules = [{"record": f"dashboard:panel_{i}", "expr": e} for i, e in enumerate(exprs.values())]
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    return result.returncode, result.stdout + result.stderr


def test_every_panel_of_every_dashboard_parses(tmp_path):
    # GIVEN every committed dashboard's targets WHEN promtool parses them THEN all are PromQL
    exprs: dict[str, str] = {}
    for path in sorted(DASHBOARDS.glob("dashboard.*.json")):
        board = json.loads(path.read_text())
        # Grafana's variables ($cpu_price ...) at their defaults: promtool parses PromQL only
        exprs |= {f"{path.name}: {k}": e for k, e in panel_queries(board).items()}
    assert sum(k.startswith(FILE_NAME) for k in exprs) == len(EXPECTED)
    code, output = check_parses(tmp_path, exprs)
    assert code == 0, output
    assert f"SUCCESS: {len(exprs)} rules found" in output
    # AND a malformed expression is caught the same way
    code, output = check_parses(tmp_path, {"bad": "histogram_quantile(0.95, sum by (le (x[5m]))"})
    assert code != 0
    assert "parse error" in output


def vllm_pods() -> list[dict[str, str]]:
    """Model "m" on two pods, each 10 requests a minute: first tokens all in (1 s, 2.5 s],
    inter-token gaps in (10 ms, 25 ms], requests in (2.5 s, 5 s]; 600 and 1200 output tokens a
    minute; 3 and 4 running, 1 and 0 waiting; KV cache 30 % and 70 % used."""
    histograms = {
        "vllm:time_to_first_token_seconds_bucket": ("1", "2.5"),
        "vllm:inter_token_latency_seconds_bucket": ("0.01", "0.025"),
        "vllm:e2e_request_latency_seconds_bucket": ("2.5", "5"),
    }
    inputs = []
    pods = {"a": ("600", "3", "1", "0.3"), "b": ("1200", "4", "0", "0.7")}
    for pod, (tokens, running, waiting, kv) in pods.items():
        labels = {"model_name": "m", "engine": "0", "instance": f"{pod}:8000"}
        for name, (below, upper) in histograms.items():
            for le in (below, upper, "+Inf"):
                values = "0x20" if le == below else "0+10x20"
                inputs.append(series(name, values, le=le, **labels))
        inputs += [
            series("vllm:generation_tokens_total", f"0+{tokens}x20", **labels),
            series("vllm:num_requests_running", f"{running}x20", **labels),
            series("vllm:num_requests_waiting", f"{waiting}x20", **labels),
            series("vllm:kv_cache_usage_perc", f"{kv}x20", **labels),
        ]
    return inputs


EXPECTED = {  # panel [refId] -> the value for model "m" at minute 10
    f"{TITLES[0]} [A]": 1.75,  # p50 of a uniform (1, 2.5]: 1 + 1.5 * 0.5
    f"{TITLES[0]} [B]": 2.425,  # p95: 1 + 1.5 * 0.95
    f"{TITLES[1]} [A]": 0.0175,
    f"{TITLES[1]} [B]": 0.02425,
    f"{TITLES[2]} [A]": 30,  # (600 + 1200) tokens / 60 s
    f"{TITLES[3]} [A]": 7,
    f"{TITLES[3]} [B]": 1,
    f"{TITLES[4]} [A]": 0.7,  # the fullest replica
    f"{TITLES[5]} [A]": 3.75,
    f"{TITLES[5]} [B]": 4.875,
}


def test_every_llm_panel_computes_what_its_title_says(tmp_path):
    # GIVEN two vLLM pods serving one model WHEN promtool evaluates each panel's PromQL
    exprs = panel_exprs(llm_dashboard())
    assert set(exprs) == set(EXPECTED)
    checks = [
        {"expr": exprs[key], "eval_time": "10m",
         "exp_samples": [{"labels": '{model_name="m"}', "value": value}]}
        for key, value in EXPECTED.items()
    ]  # fmt: skip
    # THEN each gives one series for the model, with the value worked out by hand
    passes(unit_test(tmp_path, [RuleGroup("none", ())], vllm_pods(), exprs=checks))


def test_a_wrong_panel_value_fails(tmp_path):
    exprs = panel_exprs(llm_dashboard())
    check = {"expr": exprs[f"{TITLES[4]} [A]"], "eval_time": "10m",
             "exp_samples": [{"labels": '{model_name="m"}', "value": 0.3}]}  # fmt: skip
    result = unit_test(tmp_path, [RuleGroup("none", ())], vllm_pods(), exprs=[check])
    assert result.returncode != 0
