"""The LLM serving dashboard (Grafana JSON), from the same metric names and thresholds as the
LLM alerts.

Six panels, every series by vLLM's ``model_name``: time to first token, inter-token latency
and end-to-end request latency (p50 and p95 over 5 minutes), output tokens per second,
requests running and waiting, and KV-cache usage (the fullest replica). The TTFT and KV-cache
panels draw the alert thresholds as lines.

Pure: ``llm_dashboard()`` is the dashboard as data, ``render_llm_dashboard()`` its JSON text.
The committed ``infrastructure/kubernetes/base/monitoring/dashboards/dashboard.llm.json`` is
that text (a golden test compares them), provisioned like the other dashboards: a ConfigMap
labelled for the Grafana sidecar.
"""

from __future__ import annotations

import json
from typing import Any

from mlplatform.alerts import vllm
from mlplatform.alerts.grafana import dashboard
from mlplatform.alerts.llm import KV_CACHE_FULL, TTFT_P95_SLO_SECONDS, quantile_by_model

__all__ = ["FILE_NAME", "llm_dashboard", "panel_exprs", "render_llm_dashboard"]

FILE_NAME = "dashboard.llm.json"
UID = "mlplatform-llm"
_DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
_M = vllm.MODEL_LABEL
_BY_MODEL = "{{" + _M + "}}"
Doc = dict[str, Any]


def llm_dashboard(
    *, ttft_p95_slo_seconds: float = TTFT_P95_SLO_SECONDS, kv_cache_full: float = KV_CACHE_FULL
) -> Doc:
    """The dashboard; the thresholds are drawn on the TTFT and KV-cache panels."""
    specs: list[tuple[str, str, list[tuple[str, str]], float | None]] = [
        ("Time to first token p50 / p95", "s", _quantiles(vllm.TTFT), ttft_p95_slo_seconds),
        ("Inter-token latency p50 / p95", "s", _quantiles(vllm.INTER_TOKEN_LATENCY), None),
        (
            "Output tokens per second",
            "suffix: tok/s",
            [(f"sum by ({_M}) (rate({vllm.GENERATION_TOKENS}[5m]))", _BY_MODEL)],
            None,
        ),
        (
            "Requests running and waiting",
            "none",
            [
                (f"sum by ({_M}) ({vllm.REQUESTS_RUNNING})", f"{_BY_MODEL} running"),
                (f"sum by ({_M}) ({vllm.REQUESTS_WAITING})", f"{_BY_MODEL} waiting"),
            ],
            None,
        ),
        (
            "KV-cache usage (fullest replica)",
            "percentunit",
            [(f"max by ({_M}) ({vllm.KV_CACHE_USAGE})", _BY_MODEL)],
            kv_cache_full,
        ),
        ("End-to-end request latency p50 / p95", "s", _quantiles(vllm.E2E_LATENCY), None),
    ]
    panels = [_panel(i, *spec) for i, spec in enumerate(specs)]
    return dashboard(UID, "mlplatform / LLM serving", ["mlplatform", "llm"], panels)


def render_llm_dashboard() -> str:
    """The dashboard as the committed JSON file holds it."""
    return json.dumps(llm_dashboard(), indent=2) + "\n"


def panel_exprs(dashboard: Doc) -> dict[str, str]:
    """Every target's PromQL of a Grafana dashboard, keyed ``<panel title> [<refId>]``."""
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }


def _quantiles(histogram: str) -> list[tuple[str, str]]:
    return [
        (quantile_by_model(0.5, histogram), f"{_BY_MODEL} p50"),
        (quantile_by_model(0.95, histogram), f"{_BY_MODEL} p95"),
    ]


def _panel(
    index: int, title: str, unit: str, targets: list[tuple[str, str]], threshold: float | None
) -> Doc:
    defaults: Doc = {"unit": unit}
    if threshold is not None:
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": threshold}],
        }
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": _DATASOURCE, "expr": e, "legendFormat": t}
            for n, (e, t) in enumerate(targets)
        ],
    }
