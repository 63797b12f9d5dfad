"""The skew check in the drift report: a section, and the page that holds it.

``render_skew_section`` is one HTML fragment (``<section id="skew">``): the verdict, the
moment compared per feature view, and a table of features, skewed first, with their
mismatch rate, missing values and a few mismatching entities. ``render_skew_report`` puts it
in the drift report of the distribution check (training profile vs online values), or on a
page of its own when there was none. Self-contained like the drift report: no script.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from mlplatform.atomicfile import atomic_write_text
from mlplatform.drift.report import render_page, render_report
from mlplatform.drift.skew import SkewResult, ValueSkew

__all__ = ["render_skew_report", "render_skew_section", "write_skew_report"]

_STYLE = (
    "<style>#skew .bar{display:inline-block;height:.6rem;background:#d9480f;"
    "vertical-align:middle;margin-right:.3rem}#skew tr.skewed td{background:#fff4e6}</style>"
)


def render_skew_section(result: SkewResult) -> str:
    """The skew section: verdict, compared moments, one row per feature."""
    verdict = (
        '<span class="verdict drift">SKEW</span>'
        if result.skewed
        else '<span class="verdict calm">NO VALUE SKEW</span>'
    )
    who = f" of model {escape(result.model)}" if result.model else ""
    who += f" version {escape(result.version)}" if result.version else ""
    moments = "; ".join(f"{escape(v)} at {escape(t)}" for v, t in sorted(result.as_of.items()))
    skewed = result.skewed_features
    lines = [
        _STYLE,
        '<section id="skew">',
        "<h2>Training/serving skew</h2>",
        f"<p>{verdict}</p>",
        "<p>",
        f"Feature service <b>{escape(result.service)}</b>{who}: {result.entities:,} entities, "
        f"offline (point-in-time) vs online values at the same moment ({moments or '-'}).<br>",
        f"{len(skewed)} of {len(result.values)} features differ on more than "
        f"{result.threshold:.1%} of entities (numbers within {result.tolerance:g}).",
        "</p>",
        _table(result),
    ]
    if result.distribution is not None:
        drifted = result.distribution.drifted_columns
        lines.append(
            "<p>Distribution (training profile vs online values of these entities): "
            + (f"drifted: {escape(', '.join(drifted))}" if drifted else "no drift")
            + " &mdash; below.</p>"
        )
    if result.notes:
        lines.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in result.notes))
        lines.append("</ul>")
    lines.append("</section>")
    return "\n".join(lines)


def render_skew_report(result: SkewResult, *, title: str = "Training/serving skew") -> str:
    """The whole page: the drift report of the distribution check with the skew section
    after its summary, or the skew section alone."""
    section = render_skew_section(result)
    if result.distribution is None:
        return render_page(title, [f"<h1>{escape(title)}</h1>", section])
    return render_report(
        result.distribution,
        title=title,
        reference_name="training profile",
        current_name="online store",
        sections=[section],
    )


def write_skew_report(result: SkewResult, path: str | os.PathLike[str]) -> Path:
    """Write ``render_skew_report`` to ``path`` (atomically); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, render_skew_report(result))


def _table(result: SkewResult) -> str:
    head = (
        '<table class="skew"><thead><tr><th>feature</th><th>kind</th><th>mismatch</th>'
        "<th>entities</th><th>missing online</th><th>missing offline</th>"
        "<th>max |diff|</th><th>examples: entity offline → online</th></tr></thead><tbody>"
    )
    ordered = sorted(result.values, key=lambda v: (-v.mismatch_rate, v.feature))
    rows = [head, *(_row(v, v.mismatch_rate > result.threshold) for v in ordered)]
    return "\n".join([*rows, "</tbody></table>"])


def _row(value: ValueSkew, skewed: bool) -> str:
    width = max(round(value.mismatch_rate * 80), 1 if value.mismatches else 0)
    diff = "-" if value.max_abs_diff is None else f"{value.max_abs_diff:.4g}"
    examples = "<br>".join(
        f"{escape(e)}: {escape(off)} → {escape(on)}" for e, off, on in value.examples
    )
    return (
        f'<tr class="{"skewed" if skewed else ""}" data-feature="{escape(value.feature)}">'
        f"<td>{escape(value.feature)}</td><td>{value.kind}</td>"
        f'<td class="num"><span class="bar" style="width:{width}px"></span>'
        f"{value.mismatch_rate:.1%}</td>"
        f'<td class="num">{value.compared:,}</td>'
        f'<td class="num">{value.missing_online:,}</td>'
        f'<td class="num">{value.missing_offline:,}</td>'
        f'<td class="num">{diff}</td><td class="muted">{examples}</td></tr>'
    )
