"""The model card's pictures as inline SVG: no script, no external asset, no plotting library.

Four shapes cover the evaluation plots people expect: ``curve_plot`` (ROC, precision-recall),
``scatter_plot`` (predicted vs actual, residuals), ``confusion_plot`` (a heat map with counts)
and ``bar_plot`` (feature importances). Each returns one ``<svg class="plot"
data-plot=KIND>`` element; the card's browser test finds the pictures by ``data-plot``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Series", "bar_plot", "confusion_plot", "curve_plot", "scatter_plot"]

_W, _H = 440, 330
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 14, 30, 46
PALETTE = ("#1c7ed6", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c")
_AXIS, _GRID, _MUTED = "#9aa5b1", "#e4e7eb", "#616e7c"
_MAX_POINTS = 1500


@dataclass(frozen=True)
class Series:
    """One line of a curve plot."""

    label: str
    x: ArrayLike
    y: ArrayLike


@dataclass(frozen=True)
class _Axes:
    """Maps data coordinates to pixels inside the plot area."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float

    def px(self, x: float) -> float:
        span = (self.x_hi - self.x_lo) or 1.0
        return _LEFT + (x - self.x_lo) / span * (_W - _LEFT - _RIGHT)

    def py(self, y: float) -> float:
        span = (self.y_hi - self.y_lo) or 1.0
        return _H - _BOTTOM - (y - self.y_lo) / span * (_H - _TOP - _BOTTOM)

    def draw(self, x_label: str, y_label: str) -> str:
        parts = []
        for value in np.linspace(self.x_lo, self.x_hi, 5):
            x = self.px(float(value))
            parts.append(_line(x, _TOP, x, _H - _BOTTOM, _GRID))
            parts.append(_text(x, _H - _BOTTOM + 14, _tick(float(value)), anchor="middle"))
        for value in np.linspace(self.y_lo, self.y_hi, 5):
            y = self.py(float(value))
            parts.append(_line(_LEFT, y, _W - _RIGHT, y, _GRID))
            parts.append(_text(_LEFT - 5, y + 3, _tick(float(value)), anchor="end"))
        parts.append(_line(_LEFT, _H - _BOTTOM, _W - _RIGHT, _H - _BOTTOM, _AXIS))
        parts.append(_line(_LEFT, _TOP, _LEFT, _H - _BOTTOM, _AXIS))
        parts.append(_text((_LEFT + _W - _RIGHT) / 2, _H - 12, x_label, anchor="middle"))
        mid = (_TOP + _H - _BOTTOM) / 2
        parts.append(
            f'<text x="14" y="{mid:.1f}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 14 {mid:.1f})">{escape(y_label)}</text>'
        )
        return "".join(parts)


def curve_plot(
    kind: str,
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
) -> str:
    """Lines on the unit square (ROC, precision-recall), one colour per series, a legend."""
    axes = _Axes(0.0, 1.0, 0.0, 1.0)
    parts = [axes.draw(x_label, y_label)]
    if diagonal:
        parts.append(
            f'<line x1="{axes.px(0):.1f}" y1="{axes.py(0):.1f}" x2="{axes.px(1):.1f}" '
            f'y2="{axes.py(1):.1f}" stroke="{_AXIS}" stroke-dasharray="4 3"/>'
        )
    for i, line in enumerate(series):
        xs, ys = _thin(np.asarray(line.x, float), np.asarray(line.y, float))
        points = " ".join(f"{axes.px(x):.1f},{axes.py(y):.1f}" for x, y in zip(xs, ys, strict=True))
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<polyline class="series" points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="2"/>'
        )
    parts.append(_legend([s.label for s in series]))
    return _svg(kind, title, "".join(parts))


def scatter_plot(
    kind: str,
    title: str,
    x: ArrayLike,
    y: ArrayLike,
    *,
    x_label: str,
    y_label: str,
    reference: str = "",
) -> str:
    """Points, with an ``identity`` (y = x) or ``zero`` (y = 0) reference line if asked."""
    xs, ys = _thin(np.asarray(x, float), np.asarray(y, float))
    if reference == "identity":
        lo, hi = _span(np.concatenate([xs, ys]))
        axes = _Axes(lo, hi, lo, hi)
    else:
        axes = _Axes(*_span(xs), *_span(ys))
    parts = [axes.draw(x_label, y_label)]
    if reference == "identity":
        parts.append(_line(axes.px(lo), axes.py(lo), axes.px(hi), axes.py(hi), _AXIS, dash=True))
    elif reference == "zero" and axes.y_lo <= 0 <= axes.y_hi:
        parts.append(_line(_LEFT, axes.py(0), _W - _RIGHT, axes.py(0), _AXIS, dash=True))
    parts.extend(
        f'<circle class="point" cx="{axes.px(a):.1f}" cy="{axes.py(b):.1f}" r="2.2" '
        f'fill="{PALETTE[0]}" fill-opacity="0.55"/>'
        for a, b in zip(xs, ys, strict=True)
    )
    return _svg(kind, title, "".join(parts))


def confusion_plot(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """A heat map of counts: rows are the true class, columns the predicted one."""
    n = len(labels)
    size = min((_W - _LEFT - _RIGHT), (_H - _TOP - _BOTTOM)) / max(n, 1)
    top = float(matrix.max()) or 1.0
    parts = []
    for i in range(n):
        for j in range(n):
            x, y = _LEFT + j * size, _TOP + i * size
            count = int(matrix[i, j])
            shade = count / top
            parts.append(
                f'<rect class="cell" data-count="{count}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{size:.1f}" height="{size:.1f}" fill="{PALETTE[0]}" '
                f'fill-opacity="{0.06 + 0.9 * shade:.3f}" stroke="#fff"/>'
            )
            colour = "#fff" if shade > 0.55 else "#1f2933"
            parts.append(
                _text(x + size / 2, y + size / 2 + 4, str(count), anchor="middle", fill=colour)
            )
        parts.append(_text(_LEFT - 5, _TOP + (i + 0.5) * size + 3, _short(labels[i]), "end"))
        parts.append(
            _text(_LEFT + (i + 0.5) * size, _TOP + n * size + 14, _short(labels[i]), "middle")
        )
    parts.append(_text(_LEFT + n * size / 2, _TOP + n * size + 30, "predicted", "middle"))
    parts.append(_text(12, _TOP - 8, "true ↓", "start", fill=_MUTED))
    return _svg("confusion-matrix", "Confusion matrix", "".join(parts))


def bar_plot(kind: str, title: str, values: Mapping[str, float]) -> str:
    """Horizontal bars, longest first; negative values (coefficients) in a second colour."""
    items = list(values.items())
    height = _TOP + 18 * len(items) + 16
    label_w = 150
    top = max((abs(v) for _, v in items), default=0.0) or 1.0
    span = _W - label_w - _RIGHT - 50
    parts = []
    for i, (name, value) in enumerate(items):
        y = _TOP + i * 18
        width = abs(value) / top * span
        colour = PALETTE[0] if value >= 0 else PALETTE[1]
        parts.append(_text(label_w - 6, y + 12, _short(name, 24), "end"))
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{width:.1f}" height="13" '
            f'fill="{colour}"/>'
        )
        parts.append(_text(label_w + width + 4, y + 12, _tick(value), "start", fill=_MUTED))
    return _svg(kind, title, "".join(parts), height=height)


def _svg(kind: str, title: str, body: str, *, height: int = _H) -> str:
    return (
        f'<svg class="plot" data-plot="{escape(kind)}" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" xmlns="http://www.w3.org/2000/svg" role="img">'
        f"<title>{escape(title)}</title>"
        f'<text x="{_W / 2}" y="16" font-size="13" font-weight="600" text-anchor="middle">'
        f"{escape(title)}</text>{body}</svg>"
    )


def _legend(labels: Sequence[str]) -> str:
    parts = []
    for i, label in enumerate(labels):
        x, y = _W - _RIGHT - 150, _H - _BOTTOM - 12 - 14 * (len(labels) - 1 - i)
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 8}" width="10" height="8" fill="{colour}"/>')
        parts.append(_text(x + 14, y, _short(label, 26), "start"))
    return "".join(parts)


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, *, dash: bool = False) -> str:
    dashed = ' stroke-dasharray="4 3"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"{dashed}/>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", *, fill: str = "") -> str:
    colour = f' fill="{fill}"' if fill else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="{anchor}"{colour}>'
        f"{escape(text)}</text>"
    )


def _thin(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most ``_MAX_POINTS`` finite points, evenly picked (keeps the file small)."""
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if len(xs) > _MAX_POINTS:
        idx = np.unique(np.linspace(0, len(xs) - 1, _MAX_POINTS).round().astype(int))
        xs, ys = xs[idx], ys[idx]
    return xs, ys


def _span(values: np.ndarray) -> tuple[float, float]:
    if len(values) == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def _tick(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}"


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
