"""A static picture of a Grafana dashboard: its panels' queries run on a Prometheus and drawn
as one HTML page (a figure per stat panel, an inline SVG chart per time series), for reviewers
and the docs; ``scripts/render-dashboards.py`` screenshots it with headless Chromium.

Not Grafana: no JavaScript, only what the queries return, laid out on the dashboard's grid
(two panels a row). Variables are replaced by their current values (``expand``), and Grafana's
``$__rate_interval`` / ``$__interval`` by a fixed interval.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PanelData", "expand", "fetch", "panel_queries", "render_html"]

Doc = dict[str, Any]
Point = tuple[float, float]
_LEGEND = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_W, _H = 560, 180


@dataclass(frozen=True)
class PanelData:
    """One panel and what its queries returned: ``(legend, points)`` per series."""

    title: str
    kind: str
    unit: str
    series: list[tuple[str, list[Point]]] = field(default_factory=list)


def expand(expr: str, dashboard: Doc, interval: str = "5m") -> str:
    """``expr`` with the dashboard's variables (``$name``, ``${name}``) at their current values
    and ``$__rate_interval`` / ``$__interval`` as ``interval``."""
    values = {"__rate_interval": interval, "__interval": interval}
    for var in dashboard.get("templating", {}).get("list", []):
        values[var["name"]] = str(var.get("current", {}).get("value", var.get("query", "")))
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def panel_queries(dashboard: Doc, interval: str = "5m") -> dict[str, str]:
    """Every target's expanded PromQL, keyed ``<panel title> [<refId>]``."""
    return {
        f"{panel['title']} [{target['refId']}]": expand(target["expr"], dashboard, interval)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }


def fetch(url: str, dashboard: Doc, start: float, end: float, step: float) -> list[PanelData]:
    """Each panel's series from the Prometheus at ``url`` (``/api/v1/query_range``).

    Raises:
        httpx.HTTPError: Prometheus could not be reached or refused a query.
    """
    import httpx

    panels = []
    for panel in dashboard["panels"]:
        found: list[tuple[str, list[Point]]] = []
        for target in panel.get("targets", []):
            params: dict[str, str | float] = {
                "query": expand(target["expr"], dashboard), "start": start, "end": end,
                "step": step,
            }  # fmt: skip
            answer = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30)
            answer.raise_for_status()
            for s in answer.json()["data"]["result"]:
                legend = _legend(target.get("legendFormat", ""), s["metric"])
                found.append((legend, [(float(t), float(v)) for t, v in s["values"]]))
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "none")
        panels.append(PanelData(panel["title"], panel["type"], unit, found))
    return panels


def render_html(title: str, panels: list[PanelData]) -> str:
    """The page: the dashboard's title and a card per panel, two a row."""
    cards = "\n".join(_card(p) for p in panels)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; background: #111217; color: #ccccdc; margin: 16px; }}
h1 {{ font-size: 20px; margin: 0 0 12px; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }}
.card {{ background: #181b1f; border: 1px solid #2c3235; padding: 8px 12px; height: 250px;
  overflow: hidden; }}
.card h2 {{ font-size: 14px; margin: 0 0 6px; }}
.stat {{ font-size: 34px; font-weight: bold; color: #73bf69; }}
.stat small {{ font-size: 13px; color: #9fa7b3; font-weight: normal; }}
.legend {{ font-size: 11px; }}
.empty {{ color: #f2495c; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<div class="grid">
{cards}
</div></body></html>
"""


def _legend(template: str, labels: dict[str, str]) -> str:
    text = _LEGEND.sub(lambda m: labels.get(m.group(1), ""), template)
    return text or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "value"


def _format(value: float, unit: str) -> str:
    if unit == "currencyUSD":
        return f"${value:,.4g}" if abs(value) < 10 else f"${value:,.2f}"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "percent":
        return f"{value:.1f}%"
    return f"{value:.4g}"


def _card(panel: PanelData) -> str:
    head = f'<div class="card"><h2>{html.escape(panel.title)}</h2>'
    if not panel.series:
        return head + '<p class="empty">no data</p></div>'
    if panel.kind == "stat":
        rows = "".join(
            f'<div class="stat">{_format(points[-1][1], panel.unit)} '
            f"<small>{html.escape(legend)}</small></div>"
            for legend, points in panel.series
        )
        return head + rows + "</div>"
    return head + _chart(panel) + "</div>"


def _chart(panel: PanelData) -> str:
    values = [v for _, points in panel.series for _, v in points]
    times = [t for _, points in panel.series for t, _ in points]
    low, high = min(0.0, *values), max(values) * 1.1 or 1.0
    t0, t1 = min(times), max(times)

    def xy(t: float, v: float) -> str:
        x = 40 + (t - t0) / ((t1 - t0) or 1) * (_W - 50)
        y = 10 + (high - v) / ((high - low) or 1) * (_H - 20)
        return f"{x:.1f},{y:.1f}"

    lines, legends = [], []
    for i, (legend, points) in enumerate(panel.series):
        colour = _COLOURS[i % len(_COLOURS)]
        path = " ".join(xy(t, v) for t, v in points)
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        last = _format(points[-1][1], panel.unit)
        legends.append(f'<span style="color:{colour}">&#9632;</span> {html.escape(legend)}: {last}')
    axis = (
        f'<text x="0" y="16" fill="#9fa7b3" font-size="10">{_format(high, panel.unit)}</text>'
        f'<text x="0" y="{_H - 8}" fill="#9fa7b3" font-size="10">{_format(low, panel.unit)}</text>'
        f'<line x1="40" y1="{_H - 10}" x2="{_W - 10}" y2="{_H - 10}" stroke="#2c3235"/>'
    )
    svg = f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}">{axis}{"".join(lines)}</svg>'
    return svg + f'<div class="legend">{"<br>".join(legends)}</div>'
