"""The model card: one offline HTML page per version, for binary, multiclass and regression.

GIVEN three models trained directly with scikit-learn (breast cancer: binary; a generated
table with string labels, string categoricals, missing values and an unbalanced class:
multiclass; diabetes: regression), their cards show the numbers passed exactly, the plots the
task calls for, and importances named by the transformer's output columns. Headless Chromium
renders them without console errors. A card logged with a version in a real MLflow registry
(SQLite) matches that version's run metrics.

Chromium is a test tool (Debian package ``chromium``): without it these tests fail and say
how to install it, they never skip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from _browser import chromium, console_messages
from _mlflow_store import sqlite_store
from mlplatform.components.card_plots import PALETTE
from mlplatform.components.model_card import (
    CARD_FILE,
    CARD_TAG,
    CardInputs,
    ChampionComparison,
    Lineage,
    Predictions,
    build_card,
    feature_importances,
    load_card,
    log_card,
    schema_of,
    write_card,
)
from mlplatform.errors import ConfigError, RegistryError

PLOTS = {
    "binary": {"confusion-matrix", "roc", "precision-recall", "feature-importances"},
    "multiclass": {"confusion-matrix", "roc", "feature-importances"},
    "regression": {"predicted-vs-actual", "residuals", "feature-importances"},
}


@dataclass(frozen=True)
class Trained:
    model: Pipeline
    features: pd.DataFrame
    labels: np.ndarray
    inputs: CardInputs


def _inputs(task, name, model, frame, target, test, **more) -> CardInputs:
    features, labels = test.drop(columns=[target]), test[target].to_numpy()
    predictions = Predictions.of(model, features, labels)
    return CardInputs(
        name=name,
        task=task,
        version=1,
        target=target,
        source=f"sklearn://{name}",
        fingerprint="sha256:" + "ab" * 32,
        rows={"ingested": len(frame), "test": len(test)},
        schema=schema_of(frame),
        predictions=predictions,
        importances=feature_importances(model, features, labels),
        **more,
    )


@pytest.fixture(scope="module")
def binary() -> Trained:
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(train.drop(columns=["target"]), train.target)
    x, y = test.drop(columns=["target"]), test.target.to_numpy()
    proba = model.predict_proba(x)[:, 1]
    metrics = {
        "roc_auc": roc_auc_score(y, proba),
        "pr_auc": average_precision_score(y, proba),
        "f1": f1_score(y, model.predict(x)),
        "accuracy": accuracy_score(y, model.predict(x)),
    }
    champion = ChampionComparison(
        version=4,
        metrics={"roc_auc": 0.9512345678901234, "pr_auc": 0.96, "f1": 0.9, "accuracy": 0.91},
        decision="promoted",
        deciding_metric="roc_auc",
        margin=0.001,
        reason="roc_auc 0.99 beats champion v4 0.95 on the same test set",
    )
    lineage = Lineage(
        pipeline="standard-training",
        pipeline_run_id="20260101-000000-abcdef",
        step_runs={"train": "run-train-1", "evaluate": "run-eval-1"},
        cache_keys={"train": "key-train-1"},
        code_hash="sha256:code",
        git_commit="0123abcd",
    )
    inputs = _inputs(
        "binary",
        "breast-cancer",
        model,
        frame,
        "target",
        test,
        metrics=metrics,
        semver="1.2.0",
        champion=champion,
        lineage=lineage,
    )
    return Trained(model, x, y, inputs)


def _animals(rows: int = 900, seed: int = 0) -> pd.DataFrame:
    """String labels (``bird`` rare), a string categorical and missing values."""
    rng = np.random.default_rng(seed)
    size = rng.normal(0, 1, rows)
    colour = rng.choice(["red", "green", "blue"], rows).astype(object)
    label = np.where(size > 0.4, "dog", "cat").astype(object)
    label[(size > 1.6) & (colour == "blue")] = "bird"
    noisy = rng.normal(size, 0.3)
    noisy[rng.random(rows) < 0.05] = np.nan
    colour[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({"size": noisy, "weight": rng.normal(5, 2, rows), "colour": colour,
                         "species": label})  # fmt: skip


@pytest.fixture(scope="module")
def multiclass() -> Trained:
    frame = _animals()
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame.species)
    columns = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["size", "weight"]),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                ["colour"],
            ),
        ]
    )
    model = Pipeline([("features", columns), ("model", RandomForestClassifier(30, random_state=0))])
    model.fit(train.drop(columns=["species"]), train.species)
    x, y = test.drop(columns=["species"]), test.species.to_numpy()
    predicted = model.predict(x)
    metrics = {
        "accuracy": accuracy_score(y, predicted),
        "f1_macro": f1_score(y, predicted, average="macro"),
        "log_loss": log_loss(y, model.predict_proba(x), labels=model.classes_),
    }
    inputs = _inputs("multiclass", "animals", model, frame, "species", test, metrics=metrics)
    return Trained(model, x, y, inputs)


@pytest.fixture(scope="module")
def regression() -> Trained:
    frame = load_diabetes(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, random_state=0)
    model = make_pipeline(HistGradientBoostingRegressor(max_iter=30, random_state=0))
    model.fit(train.drop(columns=["target"]), train.target)
    x, y = test.drop(columns=["target"]), test.target.to_numpy()
    predicted = model.predict(x)
    metrics = {
        "rmse": root_mean_squared_error(y, predicted),
        "mae": mean_absolute_error(y, predicted),
        "r2": r2_score(y, predicted),
    }
    champion = ChampionComparison(
        version=2,
        metrics={},
        decision="not comparable",
        reason="champion v2 cannot score this test set: its signature lacks column 's6'",
    )
    inputs = _inputs(
        "regression", "diabetes", model, frame, "target", test, metrics=metrics, champion=champion
    )
    return Trained(model, x, y, inputs)


@pytest.fixture(params=["binary", "multiclass", "regression"])
def trained(request) -> Trained:
    return request.getfixturevalue(request.param)


def shown_metrics(html: str, kind: str = "metric") -> dict[str, tuple[float, str]]:
    """metric -> (exact value, the text shown) of the card's metric cells."""
    cells = re.findall(rf'data-{kind}="([^"]+)" data-value="([^"]+)">([^<]+)<', html)
    return {name: (float(exact), text) for name, exact, text in cells}


def plots_in(html: str) -> set[str]:
    return set(re.findall(r'<svg class="plot" data-plot="([^"]+)"', html))


# ---- the page ---------------------------------------------------------------------------


def test_the_card_shows_exactly_the_metrics_passed(trained):
    # WHEN the card is built
    html = build_card(trained.inputs)

    # THEN every metric is there, exact in data-value and rounded to 4 places on screen
    shown = shown_metrics(html)
    assert {k: v[0] for k, v in shown.items()} == dict(trained.inputs.metrics)
    assert all(text == f"{value:.4f}" for value, text in shown.values())


def test_each_task_gets_the_plots_people_expect(trained):
    html = build_card(trained.inputs)
    assert plots_in(html) == PLOTS[trained.inputs.task]


def test_the_confusion_matrix_counts_are_sklearns(binary, multiclass):
    for trained in (binary, multiclass):
        html = build_card(trained.inputs)
        counts = [int(c) for c in re.findall(r'<rect class="cell" data-count="(\d+)"', html)]
        predictions = trained.inputs.predictions
        assert predictions is not None
        assert predictions.classes is not None
        expected = confusion_matrix(
            predictions.y_true, predictions.y_pred, labels=predictions.classes
        )
        assert counts == expected.ravel().tolist()
        assert sum(counts) == len(trained.labels)


def test_the_champion_column_and_the_decision(binary):
    # GIVEN a champion scored on the same test set, decided on roc_auc with a margin
    html = build_card(binary.inputs)

    # THEN its figures stand beside ours, exactly, and the page says what decided
    champion = binary.inputs.champion
    assert champion is not None
    assert {k: v[0] for k, v in shown_metrics(html, "champion-metric").items()} == dict(
        champion.metrics
    )
    assert "<th>champion v4</th>" in html
    assert "decided on <code>roc_auc</code> with a margin of 0.001" in html
    assert "beats champion v4 0.95 on the same test set" in html


def test_a_champion_that_is_not_comparable_gets_no_column_but_the_reason(regression):
    html = build_card(regression.inputs)
    assert "<th>champion v2</th>" not in html
    assert shown_metrics(html, "champion-metric") == {}
    assert "<strong>not comparable</strong>" in html
    assert "its signature lacks column &#x27;s6&#x27;" in html


def test_without_a_champion_the_card_says_so(multiclass):
    assert "No champion to compare with." in build_card(multiclass.inputs)


def test_data_schema_task_and_lineage_are_shown(binary):
    html = build_card(binary.inputs)
    assert '<code id="fingerprint">sha256:' + "ab" * 32 + "</code>" in html
    assert '<td class="num" data-rows="ingested">569</td>' in html
    assert "<summary>Schema (31 columns)</summary>" in html
    assert "<tr><td>mean radius</td><td>float64</td><td>feature</td></tr>" in html
    assert "<tr><td>target</td><td>int64</td><td>target</td></tr>" in html
    assert "task: binary" in html
    assert "semver: 1.2.0" in html
    lineage = ("20260101-000000-abcdef", "run-train-1", "key-train-1", "sha256:code", "0123abcd")
    for value in lineage:
        assert f"<code>{value}</code>" in html


def test_importances_are_named_by_the_transformers_output_columns(binary, multiclass, regression):
    # coefficients of a linear model, after a scaler that keeps the names
    assert binary.inputs.importances is not None
    assert binary.inputs.importances.kind == "coefficient"
    assert set(binary.inputs.importances.values) <= set(binary.features.columns)
    # impurity of a forest, named by the ColumnTransformer (one-hot columns included)
    found = multiclass.inputs.importances
    assert found is not None
    assert found.kind == "impurity"
    assert set(found.values) == {
        "num__size",
        "num__weight",
        "cat__colour_red",
        "cat__colour_green",
        "cat__colour_blue",
        "cat__colour_missing",
    }
    magnitudes = [abs(v) for v in found.values.values()]
    assert magnitudes == sorted(magnitudes, reverse=True)
    # a model without either: permutation importances of the input columns
    assert regression.inputs.importances is not None
    assert regression.inputs.importances.kind == "permutation"
    assert next(iter(regression.inputs.importances.values)) in {"bmi", "s5"}


def test_a_model_without_importances_and_no_data_has_none():
    model = make_pipeline(HistGradientBoostingRegressor(max_iter=5))
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    assert feature_importances(model.fit(x, y)) is None


def test_an_unknown_task_is_refused():
    with pytest.raises(ConfigError, match="unknown task 'ranking'") as caught:
        build_card(CardInputs(name="m", task="ranking", metrics={}))  # type: ignore[arg-type]
    assert "binary, multiclass, regression" in caught.value.hint


def test_the_card_is_self_contained(trained):
    html = build_card(trained.inputs)
    assert "<script" not in html
    assert "<link" not in html
    assert "<img" not in html
    assert "url(" not in html
    assert set(re.findall(r"https?://[^\"' ]+", html)) == {"http://www.w3.org/2000/svg"}


def test_the_same_inputs_give_the_same_page(binary, tmp_path):
    path = write_card(binary.inputs, tmp_path / "a" / "card.html")
    assert path.read_text(encoding="utf-8") == build_card(binary.inputs)


# ---- in the browser ---------------------------------------------------------------------


def test_the_console_check_sees_a_broken_page(tmp_path):
    # GIVEN a page that logs an error and throws (so the check below can fail)
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom'); nope();</script>")
    done = chromium(tmp_path, "--dump-dom", page.as_uri(), console=True)
    messages = console_messages(done.stderr)
    assert any("boom" in m for m in messages)
    assert any("ReferenceError" in m for m in messages)


def test_chromium_renders_the_card_with_its_plots_and_no_console_errors(trained, tmp_path):
    # GIVEN the card written to a file
    path = write_card(trained.inputs, tmp_path / "card.html")

    # WHEN headless Chromium loads it and dumps the DOM
    done = chromium(tmp_path, "--dump-dom", path.as_uri(), console=True)

    # THEN it rendered, said nothing on the console, and every plot and metric is in the DOM
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    dom = done.stdout
    assert plots_in(dom) == PLOTS[trained.inputs.task]
    assert {k: v[0] for k, v in shown_metrics(dom).items()} == dict(trained.inputs.metrics)


def test_the_screenshot_shows_the_pictures(binary, tmp_path):
    path = write_card(binary.inputs, tmp_path / "card.html")
    shot = tmp_path / "card.png"
    done = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,2600", path.as_uri(), console=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 50
    blue = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    assert sum(n for n, colour in colours if colour == blue) > 500  # curves and bars


# ---- logged with a version --------------------------------------------------------------


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    return sqlite_store(tmp_path_factory, tmp_path)


def _register(trained: Trained, uri: str, digest: str = "sha256:one") -> int:
    from mlplatform.tracking import register_model

    return register_model(
        trained.model,
        "breast-cancer",
        tracking_uri=uri,
        signature_input=trained.features.head(5),
        tags={},
        model_digest=digest,
        metrics=trained.inputs.metrics,
    ).version


def test_a_logged_card_matches_the_mlflow_metrics_of_the_versions_run(binary, tracking_uri):
    from mlflow import MlflowClient

    from mlplatform.tracking import get_version

    # GIVEN a registered version whose run holds the evaluation metrics, and its card logged
    version = _register(binary, tracking_uri)
    uri = log_card("breast-cancer", version, build_card(binary.inputs), tracking_uri)

    # WHEN the card is read back by alias-free version number
    number, html = load_card("breast-cancer", version, tracking_uri=tracking_uri)

    # THEN it is the version's run artifact, named by the version tag, and its numbers are
    # exactly the MLflow metrics of that run
    info = get_version("breast-cancer", version, tracking_uri=tracking_uri)
    assert number == version
    assert info.tags[CARD_TAG] == uri == f"runs:/{info.run_id}/{CARD_FILE}"
    artifacts = [a.path for a in MlflowClient(tracking_uri).list_artifacts(info.run_id)]
    assert CARD_FILE in artifacts
    assert {k: v[0] for k, v in shown_metrics(html).items()} == info.metrics


def test_logging_again_replaces_the_card(binary, tracking_uri):
    version = _register(binary, tracking_uri)
    log_card("breast-cancer", version, "<p>old</p>", tracking_uri)
    log_card("breast-cancer", version, "<p>new</p>", tracking_uri)
    assert load_card("breast-cancer", version, tracking_uri=tracking_uri)[1] == "<p>new</p>"


def test_a_version_without_a_card_errors_naming_the_ones_that_have_one(binary, tracking_uri):
    # GIVEN v1 without a card and v2 with one
    first = _register(binary, tracking_uri, "sha256:one")
    second = _register(binary, tracking_uri, "sha256:two")
    log_card("breast-cancer", second, build_card(binary.inputs), tracking_uri)

    # WHEN v1's card is asked for THEN the error names v2, which has one
    with pytest.raises(RegistryError, match="version 1 has no model card") as caught:
        load_card("breast-cancer", first, tracking_uri=tracking_uri)
    assert caught.value.hint == (
        "Versions with a card: 2. Write one: `mlp models card breast-cancer/2`."
    )
