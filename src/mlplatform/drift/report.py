"""One self-contained HTML page of a drift check: no script, no CDN, works offline.

A summary (the verdict, the share of drifted columns against its threshold, missing-values
flags, sizes, the tests used), a table of columns sorted by severity, and per column the
reference and current distributions as inline SVG (``<svg class="dist-plot">``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text
from mlplatform.drift.result import ColumnDrift, DriftResult, Histogram

__all__ = ["render_page", "render_report", "write_report"]

_W, _H, _PAD_L, _PAD_B, _PAD_T = 560, 210, 44, 38, 12
_REF_COLOR, _CUR_COLOR = "#8c9bab", "#d9480f"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
.verdict{display:inline-block;padding:.25rem .7rem;border-radius:4px;font-weight:700;color:#fff}
.drift{background:#c92a2a}.calm{background:#2b8a3e}.warn{background:#e67700}
table{border-collapse:collapse;font-size:.88rem}td,th{padding:.3rem .6rem;text-align:left;
border-bottom:1px solid #e4e7eb}th{background:#f5f7fa}tr.drifted td{background:#fff4e6}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#616e7c}
.cols{display:flex;flex-wrap:wrap;gap:1.2rem}.card{border:1px solid #e4e7eb;border-radius:6px;
padding:.6rem .8rem}.card h3{font-size:1rem;margin:0 0 .3rem}ul.notes{margin:.3rem 0;
padding-left:1.2rem;font-size:.85rem;color:#616e7c}
"""


def render_report(
    result: DriftResult,
    *,
    title: str = "Data drift report",
    reference_name: str = "",
    current_name: str = "",
    sections: Sequence[str] = (),
) -> str:
    """The report as one HTML document (a string); ``sections`` (HTML fragments, e.g. the
    skew section of ``mlplatform.drift.skew_report``) follow the summary."""
    ordered = result.by_severity()
    return render_page(
        title,
        [
            _summary(result, title, reference_name, current_name),
            *sections,
            "<h2>Columns by severity</h2>",
            _table(ordered),
            "<h2>Distributions</h2>",
            '<div class="cols">',
            *(_card(col) for col in ordered),
            "</div>",
        ],
    )


def render_page(title: str, body: Sequence[str]) -> str:
    """One self-contained HTML document in the report's style around ``body`` fragments."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    return "\n".join([*head, *body, "</body></html>"])


def write_report(result: DriftResult, path: str | os.PathLike[str], **labels: str) -> Path:
    """Write the report to ``path`` (atomically); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, render_report(result, **labels))


def _summary(result: DriftResult, title: str, reference: str, current: str) -> str:
    verdict = (
        '<span class="verdict drift">DRIFT</span>'
        if result.drifted
        else '<span class="verdict calm">NO DRIFT</span>'
    )
    missing = result.missing_drifted
    flag = (
        f' <span class="verdict warn">MISSING VALUES: {escape(", ".join(missing))}</span>'
        if missing
        else ""
    )
    cfg = result.config
    decided = sum(c.decided for c in result.columns)
    lines = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{verdict}{flag}</p>",
        "<p>",
        f"{len(result.drifted_columns)} of {decided} columns drifted "
        f"(share {result.drift_share:.2f}; the data set drifts at {cfg.drift_share:.2f}).<br>",
        f"Reference: {result.reference_rows:,} rows{_named(reference)}; "
        f"current: {result.current_rows:,} rows{_named(current)}.<br>",
        f'<span class="muted">Tests: numeric {escape(cfg.numeric_test)}, categorical '
        f"{escape(cfg.categorical_test)}, alpha {cfg.alpha:g}, correction "
        f"{escape(cfg.correction)}, mode {escape(cfg.mode)}. Generated "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}.</span>",
        "</p>",
    ]
    if result.notes:
        lines.append(_notes(result.notes))
    return "\n".join(lines)


def _named(name: str) -> str:
    return f" ({escape(name)})" if name else ""


def _table(columns: list[ColumnDrift]) -> str:
    head = (
        "<table><thead><tr><th>column</th><th>kind</th><th>test</th><th>score</th>"
        "<th>p-value</th><th>threshold</th><th>drift</th><th>missing ref → cur</th>"
        "</tr></thead><tbody>"
    )
    rows = [head]
    for col in columns:
        test = col.tests.get(col.test)
        p = None if test is None else _shown_p(test.p_value, test.adjusted_p_value)
        rows.append(
            f'<tr class="{"drifted" if col.drifted else ""}">'
            f'<td><a href="#col-{_anchor(col.name)}">{escape(col.name)}</a></td>'
            f"<td>{col.kind}</td><td>{escape(col.test)}</td>"
            f'<td class="num">{_number(None if test is None else test.score)}</td>'
            f'<td class="num">{_number(p)}</td>'
            f'<td class="num">{_number(None if test is None else test.threshold)}</td>'
            f"<td>{'yes' if col.drifted else ('-' if not col.decided else 'no')}</td>"
            f'<td class="num">{col.reference_missing_share:.1%} → '
            f"{col.current_missing_share:.1%}{' ⚠' if col.missing_drifted else ''}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _card(col: ColumnDrift) -> str:
    scores = ", ".join(
        f"{name} {_number(t.score)}"
        + (f" (p {_number(t.p_value)})" if t.p_value is not None else "")
        for name, t in col.tests.items()
    )
    plot = _plot(col) if col.histogram is not None else '<p class="muted">no values to plot</p>'
    badge = '<span class="verdict drift">drift</span>' if col.drifted else ""
    return (
        f'<div class="card" id="col-{_anchor(col.name)}">'
        f"<h3>{escape(col.name)} {badge}</h3>"
        f'<div class="muted">{escape(scores) or "not tested"}</div>{plot}'
        f"{_notes(col.notes) if col.notes else ''}</div>"
    )


def _plot(col: ColumnDrift) -> str:
    hist = col.histogram
    assert hist is not None
    bars = len(hist.reference)
    top = max(max(hist.reference, default=0.0), max(hist.current, default=0.0)) or 1.0
    inner_w, inner_h = _W - _PAD_L - 10, _H - _PAD_B - _PAD_T
    slot = inner_w / max(bars, 1)
    shapes = []
    for i, (ref, cur) in enumerate(zip(hist.reference, hist.current, strict=True)):
        x = _PAD_L + i * slot
        shapes.append(
            _bar(x + slot * 0.08, slot * 0.42, ref / top, inner_h, _REF_COLOR, "reference")
        )
        shapes.append(_bar(x + slot * 0.5, slot * 0.42, cur / top, inner_h, _CUR_COLOR, "current"))
    axis_y = _PAD_T + inner_h
    return (
        f'<svg class="dist-plot" data-column="{escape(col.name)}" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" xmlns="http://www.w3.org/2000/svg" role="img">'
        f"<title>{escape(col.name)}: reference vs current</title>"
        f'<line x1="{_PAD_L}" y1="{axis_y}" x2="{_W - 10}" y2="{axis_y}" stroke="#9aa5b1"/>'
        f'<text x="{_PAD_L - 4}" y="{_PAD_T + 8}" font-size="10" text-anchor="end">'
        f"{top:.0%}</text>{''.join(shapes)}{_x_labels(hist, axis_y, slot)}{_legend()}</svg>"
    )


def _bar(x: float, width: float, share: float, height: float, color: str, what: str) -> str:
    h = max(share * height, 0.0)
    return (
        f'<rect class="{what}" x="{x:.1f}" y="{_PAD_T + height - h:.1f}" width="{width:.1f}" '
        f'height="{h:.1f}" fill="{color}"/>'
    )


def _x_labels(hist: Histogram, axis_y: float, slot: float) -> str:
    y = axis_y + 14
    if hist.labels:
        step = max(1, math.ceil(len(hist.labels) / 8))
        return "".join(
            f'<text x="{_PAD_L + (i + 0.5) * slot:.1f}" y="{y}" font-size="10" '
            f'text-anchor="middle">{escape(_short(label))}</text>'
            for i, label in enumerate(hist.labels)
            if i % step == 0
        )
    edges = hist.edges
    marks = [
        (0, edges[0], "start"),
        (len(edges) // 2, edges[len(edges) // 2], "middle"),
        (len(edges) - 1, edges[-1], "end"),
    ]
    return "".join(
        f'<text x="{_PAD_L + i * slot:.1f}" y="{y}" font-size="10" text-anchor="{anchor}">'
        f"{_number(value)}</text>"
        for i, value, anchor in marks
    )


def _legend() -> str:
    y = _H - 8
    return (
        f'<rect x="{_PAD_L}" y="{y - 8}" width="10" height="8" fill="{_REF_COLOR}"/>'
        f'<text x="{_PAD_L + 14}" y="{y}" font-size="10">reference</text>'
        f'<rect x="{_PAD_L + 80}" y="{y - 8}" width="10" height="8" fill="{_CUR_COLOR}"/>'
        f'<text x="{_PAD_L + 94}" y="{y}" font-size="10">current</text>'
    )


def _shown_p(raw: float | None, adjusted: float | None) -> float | None:
    return adjusted if adjusted is not None else raw


def _notes(notes: tuple[str, ...]) -> str:
    return '<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4g}"


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _anchor(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name)
