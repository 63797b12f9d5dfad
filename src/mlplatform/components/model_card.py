"""The model card: one self-contained HTML page per registered version (no script, no CDN).

``build_card(CardInputs)`` renders it from plain values: the data (source, fingerprint, rows,
schema), the task and target, the metrics beside the champion's on the same test set (which
metric and margin decided), the evaluation plots (confusion matrix, ROC and precision-recall
curves, predicted vs actual and residuals; ``card_plots``), feature importances and lineage.
It reads nothing and writes nothing; the same inputs give the same page.

``log_card`` logs a page as the artifact ``model_card.html`` of the version's run and names it
by the version tag ``mlplatform.model_card``; ``load_card`` reads it back (``mlp models card``).

Every metric value is in the page twice: shown rounded, and exactly (``repr``) in the cell's
``data-value``, so a test can compare the page with the MLflow metrics of the version's run.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mlplatform.atomicfile import atomic_write_text
from mlplatform.components import card_plots as plots
from mlplatform.errors import ConfigError, RegistryError

__all__ = [
    "CARD_FILE",
    "CARD_TAG",
    "CardInputs",
    "ChampionComparison",
    "Importances",
    "Lineage",
    "Predictions",
    "build_card",
    "feature_importances",
    "load_card",
    "log_card",
    "schema_of",
    "write_card",
]

CARD_TAG = "mlplatform.model_card"
CARD_FILE = "model_card.html"
TASKS = ("binary", "multiclass", "regression")
Task = Literal["binary", "multiclass", "regression"]
_MAX_ROC_CLASSES = len(plots.PALETTE)
_PERMUTATION_ROWS = 1000
_SCHEMA_OPEN = 12  # longer schemas start folded


@dataclass(frozen=True)
class Predictions:
    """What the model said on the test set; ``y_proba`` columns follow ``classes``."""

    y_true: ArrayLike
    y_pred: ArrayLike
    y_proba: ArrayLike | None = None
    classes: Sequence[Any] | None = None

    @classmethod
    def of(cls, model: Any, features: pd.DataFrame, labels: Sequence[Any]) -> Predictions:
        """Predict ``features`` with ``model`` (and its probabilities, when it has them)."""
        proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
        classes = getattr(model, "classes_", None)
        return cls(
            y_true=np.asarray(labels),
            y_pred=np.asarray(model.predict(features)),
            y_proba=None if proba is None else np.asarray(proba),
            classes=None if classes is None else list(classes),
        )


@dataclass(frozen=True)
class ChampionComparison:
    """The champion's figures on the same test set, and what they decided.

    ``decision`` is one short phrase (``promoted``, ``kept as challenger``, ``not
    comparable``...); ``reason`` the sentence the run gave.
    """

    version: int | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    decision: str = ""
    deciding_metric: str = ""
    margin: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Importances:
    """Feature importances by name, largest magnitude first; ``kind`` says how measured."""

    kind: str
    values: Mapping[str, float]


@dataclass(frozen=True)
class Lineage:
    """Where the version came from."""

    pipeline: str = ""
    pipeline_run_id: str = ""
    step_runs: Mapping[str, str] = field(default_factory=dict)
    cache_keys: Mapping[str, str] = field(default_factory=dict)
    code_hash: str = ""
    git_commit: str = ""

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], **more: Any) -> Lineage:
        """From the register step's lineage tags (``mlplatform.pipeline_run_id``...)."""
        keys = tags.get("mlplatform.cache_keys")
        return cls(
            pipeline=tags.get("mlplatform.pipeline", ""),
            pipeline_run_id=tags.get("mlplatform.pipeline_run_id", ""),
            cache_keys=json.loads(keys) if keys else {},
            git_commit=tags.get("mlplatform.git_commit", ""),
            **more,
        )


@dataclass(frozen=True)
class CardInputs:
    """Everything a card shows. Only ``name``, ``task`` and ``metrics`` are required."""

    name: str
    task: Task
    metrics: Mapping[str, float]
    version: int | None = None
    semver: str = ""
    target: str = ""
    source: str = ""
    fingerprint: str = ""
    rows: Mapping[str, int] = field(default_factory=dict)
    schema: Mapping[str, str] = field(default_factory=dict)
    predictions: Predictions | None = None
    importances: Importances | None = None
    champion: ChampionComparison | None = None
    lineage: Lineage | None = None


def build_card(inputs: CardInputs) -> str:
    """The card as one HTML document (a string).

    Raises:
        ConfigError: ``task`` is not binary, multiclass or regression.
    """
    if inputs.task not in TASKS:
        raise ConfigError(
            f"unknown task {inputs.task!r} for a model card",
            f"Pass one of: {', '.join(TASKS)}.",
        )
    title = f"Model card: {inputs.name}" + (f" v{inputs.version}" if inputs.version else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _overview(inputs),
        _data_section(inputs),
        _metrics_section(inputs),
        _plots_section(inputs),
        _importances_section(inputs.importances),
        _lineage_section(inputs.lineage),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_card(inputs: CardInputs, path: str | Path) -> Path:
    """Write the card to ``path`` (atomically); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, build_card(inputs))


def schema_of(frame: pd.DataFrame) -> dict[str, str]:
    """Column name -> dtype name, in column order."""
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


def feature_importances(
    model: Any,
    features: pd.DataFrame | None = None,
    labels: Sequence[Any] | None = None,
    *,
    top: int = 20,
    seed: int = 0,
) -> Importances | None:
    """The ``top`` importances of a fitted estimator or ``Pipeline``, largest magnitude first.

    ``feature_importances_`` (trees) or ``coef_`` (linear; the mean magnitude over classes
    for multiclass) of the last step, named by the preceding steps' output names. A model
    with neither gets permutation importances of the input columns when ``features`` and
    ``labels`` are given (on at most 1000 rows, 3 repeats), else ``None``.
    """
    from sklearn.pipeline import Pipeline

    estimator = model[-1] if isinstance(model, Pipeline) else model
    native = _native_importances(estimator)
    if native is not None:
        kind, values = native
        names = _output_names(model, len(values))
    elif features is not None and labels is not None:
        kind, values = "permutation", _permutation(model, features, labels, seed)
        names = [str(c) for c in features.columns]
    else:
        return None
    ranked = sorted(zip(names, map(float, values), strict=True), key=lambda nv: -abs(nv[1]))
    return Importances(kind, dict(ranked[:top]))


def log_card(name: str, version: int, html: str, tracking_uri: str) -> str:
    """Log ``html`` as ``model_card.html`` of the version's run and tag the version with it.

    Logging again replaces the page. Returns the card's ``runs:/`` URI.

    Raises:
        RegistryError: unknown model or version, a version without a run, or MLflow refused.
    """
    from mlplatform.tracking import get_version
    from mlplatform.tracking._mlflow import client_for, registry_errors

    info = get_version(name, version, tracking_uri=tracking_uri)
    if info.run_id is None:
        raise RegistryError(
            f"model {name!r} version {version} has no run to log a model card into",
            "Register versions with the standard pipeline's register step, which logs the "
            "model into a run.",
        )
    uri = f"runs:/{info.run_id}/{CARD_FILE}"
    with tempfile.TemporaryDirectory() as tmp, registry_errors("cannot log the model card"):
        path = atomic_write_text(Path(tmp) / CARD_FILE, html)
        client = client_for(tracking_uri)
        client.log_artifact(info.run_id, str(path))
        client.set_model_version_tag(name, str(version), CARD_TAG, uri)
    return uri


def load_card(name: str, version_or_alias: str | int, *, tracking_uri: str) -> tuple[int, str]:
    """The version number and the HTML of the card logged with a version (number or alias).

    Raises:
        RegistryError: unknown model, version or alias; the version has no card; or the
            card cannot be downloaded.
    """
    import mlflow.artifacts

    from mlplatform.tracking import get_version
    from mlplatform.tracking._mlflow import registry_errors

    info = get_version(name, version_or_alias, tracking_uri=tracking_uri)
    uri = info.tags.get(CARD_TAG)
    if not uri:
        raise RegistryError(
            f"model {name!r} version {info.version} has no model card",
            _no_card_hint(name, tracking_uri),
        )
    with tempfile.TemporaryDirectory() as tmp, registry_errors("cannot fetch the model card"):
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri
        )
        return info.version, Path(local).read_text(encoding="utf-8")


def _no_card_hint(name: str, tracking_uri: str) -> str:
    from mlplatform.tracking import list_versions

    with_card = [
        v.version for v in list_versions(name, tracking_uri=tracking_uri) if v.tags.get(CARD_TAG)
    ]
    if with_card:
        shown = ", ".join(str(v) for v in sorted(with_card))
        latest = max(with_card)
        return f"Versions with a card: {shown}. Write one: `mlp models card {name}/{latest}`."
    return (
        "The standard pipeline's register step logs a card with each version it registers: "
        f"`mlp pipeline run standard-training -p model_name={name}`."
    )


# ---- the page ---------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933;
max-width:1100px}h1{font-size:1.5rem;margin:0 0 .4rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
table{border-collapse:collapse;font-size:.88rem}td,th{padding:.3rem .6rem;text-align:left;
border-bottom:1px solid #e4e7eb}th{background:#f5f7fa}.num{text-align:right;
font-variant-numeric:tabular-nums}.muted{color:#616e7c}code{font-size:.82rem;
word-break:break-all}.plots{display:flex;flex-wrap:wrap;gap:1.2rem}.plot{border:1px solid
#e4e7eb;border-radius:6px}.better{color:#2b8a3e}.worse{color:#c92a2a}.tag{display:inline-block;
padding:.15rem .55rem;border-radius:4px;background:#e7f5ff;margin-right:.4rem}
"""

# metrics where lower is better; every other metric is higher-is-better
_LOWER_IS_BETTER = frozenset({"rmse", "mae", "mse", "log_loss", "brier", "mape"})


def _overview(inputs: CardInputs) -> str:
    tags = [f'<span class="tag">task: {escape(inputs.task)}</span>']
    if inputs.target:
        tags.append(f'<span class="tag">target: {escape(inputs.target)}</span>')
    if inputs.semver:
        tags.append(f'<span class="tag">semver: {escape(inputs.semver)}</span>')
    return f'<p id="overview">{"".join(tags)}</p>'


def _data_section(inputs: CardInputs) -> str:
    facts = []
    if inputs.source:
        facts.append(f"Source: <code>{escape(inputs.source)}</code>")
    if inputs.fingerprint:
        facts.append(f'Fingerprint: <code id="fingerprint">{escape(inputs.fingerprint)}</code>')
    rows = "".join(
        f'<tr><td>{escape(k)}</td><td class="num" data-rows="{escape(k)}">{n:,}</td></tr>'
        for k, n in inputs.rows.items()
    )
    schema = "".join(
        f"<tr><td>{escape(col)}</td><td>{escape(dtype)}</td>"
        f"<td>{'target' if col == inputs.target else 'feature'}</td></tr>"
        for col, dtype in inputs.schema.items()
    )
    body = [f"<p>{'<br>'.join(facts)}</p>" if facts else ""]
    if rows:
        body.append(f'<table id="rows"><tr><th>split</th><th>rows</th></tr>{rows}</table>')
    if schema:
        opened = " open" if len(inputs.schema) <= _SCHEMA_OPEN else ""
        body.append(
            f"<details{opened}><summary>Schema ({len(inputs.schema)} columns)</summary>"
            f'<table id="schema"><tr><th>column</th><th>dtype</th><th>role</th></tr>{schema}'
            "</table></details>"
        )
    if not any(body):
        return ""
    return '<section id="data"><h2>Data</h2>' + "".join(body) + "</section>"


def _metrics_section(inputs: CardInputs) -> str:
    champ = inputs.champion
    comparable = champ is not None and bool(champ.metrics)
    head = "<tr><th>metric</th><th>this version</th>"
    if comparable and champ is not None:
        head += f"<th>champion v{champ.version}</th><th>difference</th>"
    rows = [head + "</tr>"]
    for name, value in inputs.metrics.items():
        cells = f'<td>{escape(name)}</td><td class="num" {_exact("metric", name, value)}</td>'
        if comparable and champ is not None:
            theirs = champ.metrics.get(name)
            cells += f'<td class="num" {_exact("champion-metric", name, theirs)}</td>'
            cells += _difference(name, value, theirs)
        rows.append(f"<tr>{cells}</tr>")
    table = f'<table id="metrics">{"".join(rows)}</table>'
    return (
        f'<section id="metrics-section"><h2>Metrics (test set)</h2>{table}{_decision(champ)}'
        "</section>"
    )


def _exact(kind: str, name: str, value: float | None) -> str:
    """The attributes and content of a metric cell: exact in ``data-value``, shown rounded."""
    if value is None:
        return f'data-{kind}="{escape(name)}">-'
    return f'data-{kind}="{escape(name)}" data-value="{float(value)!r}">{_number(value)}'


def _difference(name: str, ours: float, theirs: float | None) -> str:
    if theirs is None:
        return '<td class="num">-</td>'
    delta = float(ours) - float(theirs)
    better = -delta if name in _LOWER_IS_BETTER else delta
    css = "better" if better > 0 else ("worse" if better < 0 else "")
    return f'<td class="num {css}">{delta:+.4f}</td>'


def _decision(champ: ChampionComparison | None) -> str:
    if champ is None:
        return '<p id="decision" class="muted">No champion to compare with.</p>'
    lines = []
    if champ.decision:
        lines.append(f"<strong>{escape(champ.decision)}</strong>")
    if champ.deciding_metric:
        margin = "" if champ.margin is None else f" with a margin of {champ.margin:g}"
        lines.append(f"decided on <code>{escape(champ.deciding_metric)}</code>{margin}")
    text = "; ".join(lines)
    reason = f"<br>{escape(champ.reason)}" if champ.reason else ""
    return f'<p id="decision">{text}{reason}</p>'


def _plots_section(inputs: CardInputs) -> str:
    p = inputs.predictions
    if p is None:
        return ""
    pictures = _regression_plots(p) if inputs.task == "regression" else _class_plots(inputs.task, p)
    return (
        '<section id="evaluation"><h2>Evaluation plots (test set)</h2><div class="plots">'
        + "".join(pictures)
        + "</div></section>"
    )


def _regression_plots(p: Predictions) -> list[str]:
    actual = np.asarray(p.y_true, float)
    predicted = np.asarray(p.y_pred, float)
    return [
        plots.scatter_plot(
            "predicted-vs-actual",
            "Predicted vs actual",
            actual,
            predicted,
            x_label="actual",
            y_label="predicted",
            reference="identity",
        ),
        plots.scatter_plot(
            "residuals",
            "Residuals",
            predicted,
            actual - predicted,
            x_label="predicted",
            y_label="actual - predicted",
            reference="zero",
        ),
    ]


def _class_plots(task: str, p: Predictions) -> list[str]:
    from sklearn.metrics import confusion_matrix

    truth, predicted = np.asarray(p.y_true), np.asarray(p.y_pred)
    classes = list(p.classes) if p.classes is not None else _classes(truth, predicted)
    matrix = confusion_matrix(truth, predicted, labels=classes)
    pictures = [plots.confusion_plot(matrix, [str(c) for c in classes])]
    if p.y_proba is None:
        return pictures
    proba = np.asarray(p.y_proba, float)
    if task == "binary" and len(classes) == 2:
        return [*pictures, *_binary_curves(truth, proba[:, 1], classes[1])]
    if len(classes) <= _MAX_ROC_CLASSES:
        pictures.append(_one_vs_rest_roc(truth, proba, classes))
    return pictures


def _binary_curves(truth: np.ndarray, score: np.ndarray, positive: Any) -> list[str]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(truth, score, pos_label=positive)
    precision, recall, _ = precision_recall_curve(truth, score, pos_label=positive)
    ap = average_precision_score(truth == positive, score)
    return [
        plots.curve_plot(
            "roc",
            f"ROC curve (positive class {positive})",
            [plots.Series(f"AUC {auc(fpr, tpr):.3f}", fpr, tpr)],
            x_label="false positive rate",
            y_label="true positive rate",
            diagonal=True,
        ),
        plots.curve_plot(
            "precision-recall",
            f"Precision-recall (positive class {positive})",
            [plots.Series(f"AP {ap:.3f}", recall, precision)],
            x_label="recall",
            y_label="precision",
        ),
    ]


def _one_vs_rest_roc(truth: np.ndarray, proba: np.ndarray, classes: list[Any]) -> str:
    from sklearn.metrics import auc, roc_curve

    series = []
    for i, cls in enumerate(classes):
        if not (truth == cls).any() or (truth == cls).all():
            continue  # one-vs-rest needs both sides in the test set
        fpr, tpr, _ = roc_curve(truth == cls, proba[:, i])
        series.append(plots.Series(f"{cls} (AUC {auc(fpr, tpr):.3f})", fpr, tpr))
    return plots.curve_plot(
        "roc",
        "ROC curves, one class vs the rest",
        series,
        x_label="false positive rate",
        y_label="true positive rate",
        diagonal=True,
    )


def _classes(truth: np.ndarray, predicted: np.ndarray) -> list[Any]:
    return sorted(set(truth.tolist()) | set(predicted.tolist()), key=str)


def _importances_section(importances: Importances | None) -> str:
    if importances is None or not importances.values:
        return ""
    title = f"Feature importances ({importances.kind})"
    return (
        f'<section id="importances"><h2>{escape(title)}</h2>'
        f"{plots.bar_plot('feature-importances', title, importances.values)}</section>"
    )


def _lineage_section(lineage: Lineage | None) -> str:
    if lineage is None:
        return ""
    facts = [
        ("pipeline", lineage.pipeline),
        ("pipeline run", lineage.pipeline_run_id),
        ("code hash", lineage.code_hash),
        ("git commit", lineage.git_commit),
        *((f"step run: {step}", run) for step, run in lineage.step_runs.items()),
        *((f"cache key: {step}", key) for step, key in lineage.cache_keys.items()),
    ]
    rows = "".join(
        f"<tr><td>{escape(what)}</td><td><code>{escape(value)}</code></td></tr>"
        for what, value in facts
        if value
    )
    return f'<section id="lineage"><h2>Lineage</h2><table>{rows}</table></section>'


def _number(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"


# ---- importances ------------------------------------------------------------------------


def _native_importances(estimator: Any) -> tuple[str, np.ndarray] | None:
    if hasattr(estimator, "feature_importances_"):
        return "impurity", np.asarray(estimator.feature_importances_, float)
    if hasattr(estimator, "coef_"):
        coef = np.atleast_2d(np.asarray(estimator.coef_, float))
        if coef.shape[0] == 1:
            return "coefficient", coef[0]
        return "mean |coefficient| over classes", np.abs(coef).mean(axis=0)
    return None


def _output_names(model: Any, count: int) -> list[str]:
    """The names of the columns the last step sees, else ``x0``, ``x1``..."""
    from sklearn.pipeline import Pipeline

    try:
        if isinstance(model, Pipeline) and len(model) > 1:
            names = [str(n) for n in model[:-1].get_feature_names_out()]
        else:
            names = [str(n) for n in getattr(model, "feature_names_in_", [])]
    except (AttributeError, ValueError, TypeError):  # a transformer without output names
        names = []
    return names if len(names) == count else [f"x{i}" for i in range(count)]


def _permutation(
    model: Any, features: pd.DataFrame, labels: Sequence[Any], seed: int
) -> np.ndarray:
    from sklearn.inspection import permutation_importance

    y = np.asarray(labels)
    if len(features) > _PERMUTATION_ROWS:
        picked = np.random.default_rng(seed).choice(len(features), _PERMUTATION_ROWS, False)
        features, y = features.iloc[picked], y[picked]
    found = permutation_importance(model, features, y, n_repeats=3, random_state=seed)
    return np.asarray(found.importances_mean, float)
