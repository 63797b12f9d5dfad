"""`mlp models card MODEL [-o FILE]` writes the HTML card logged with a version.

GIVEN a project on the local profile whose registry (``.mlplatform/mlflow.db``) holds churn
v1 (champion, with a card) and v2 (challenger, registered before cards: none).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from mlplatform.cli.app import app

CARD_HINT = "Versions with a card: 1. Write one: `mlp models card churn/1`."


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    from mlplatform.components.model_card import CardInputs, Predictions, build_card, log_card
    from mlplatform.tracking import register_model, set_alias

    root = tmp_path_factory.mktemp("project")
    (root / ".mlplatform").mkdir()
    uri = f"sqlite:///{root / '.mlplatform' / 'mlflow.db'}"
    x, y = load_iris(return_X_y=True, as_frame=True)
    for version in (1, 2):
        model = LogisticRegression(max_iter=300 + 100 * version).fit(x, y)
        predicted = model.predict(x)
        metrics = {
            "accuracy": accuracy_score(y, predicted),
            "f1_macro": f1_score(y, predicted, average="macro"),
        }
        register_model(
            model,
            "churn",
            tracking_uri=uri,
            signature_input=x.head(5),
            tags={},
            model_digest=f"sha256:{version}",
            metrics=metrics,
        )
        if version == 1:
            inputs = CardInputs(
                "churn", "multiclass", metrics, version=1, predictions=Predictions.of(model, x, y)
            )
            log_card("churn", 1, build_card(inputs), uri)
    set_alias("churn", "champion", 1, tracking_uri=uri)
    set_alias("churn", "challenger", 2, tracking_uri=uri)
    return root


@pytest.fixture
def project(home, monkeypatch):
    """The registry's project as the working directory, with no MLPLATFORM_* overrides; the
    cards a test writes there are removed after it."""
    for name in list(os.environ):
        if name.startswith("MLPLATFORM_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(home)
    yield home
    for written in home.glob("*.html"):
        written.unlink()


def _logged_card(home: Path) -> str:
    from mlplatform.components.model_card import load_card

    uri = f"sqlite:///{home / '.mlplatform' / 'mlflow.db'}"
    return load_card("churn", 1, tracking_uri=uri)[1]


@pytest.mark.parametrize("model", ["churn@champion", "churn/1", "churn@1", "churn"])
def test_it_writes_the_versions_card_under_its_default_name(project, runner, model):
    # WHEN the card of v1 (named any way; a bare NAME is its champion) is asked for
    result = runner.invoke(app, ["models", "card", model])

    # THEN churn-v1-card.html holds the card logged with v1
    assert result.exit_code == 0, result.output
    written = project / "churn-v1-card.html"
    assert written.read_text(encoding="utf-8") == _logged_card(project)
    assert "churn v1: model card written to churn-v1-card.html" in result.output


def test_dash_o_writes_where_asked_and_the_numbers_are_the_versions(project, runner, tmp_path):
    # WHEN written to a new folder with -o
    target = tmp_path / "cards" / "card.html"
    result = runner.invoke(app, ["models", "card", "churn@champion", "-o", str(target)])

    # THEN the file is there, and its metrics are those `mlp models show` reports for v1
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    shown = runner.invoke(app, ["models", "show", "churn/1", "--format", "json"])
    metrics = json.loads(shown.output)[0]["metrics"]
    cells = re.findall(r'data-metric="([^"]+)" data-value="([^"]+)"', html)
    assert {name: float(value) for name, value in cells} == metrics
    assert not list(project.glob("*.html"))


def test_a_version_without_a_card_errors_with_a_hint_that_works(project, runner):
    # WHEN the challenger (v2, no card) is asked for
    failed = runner.invoke(app, ["models", "card", "churn@challenger"])

    # THEN it fails clearly, naming the versions that have a card, and writes nothing
    assert failed.exit_code == 2, failed.output
    assert "model 'churn' version 2 has no model card" in failed.output
    assert CARD_HINT in " ".join(failed.output.split())
    assert not list(project.glob("*.html"))

    # AND the command the hint gives works
    command = re.search(r"`mlp (models card [^`]+)`", CARD_HINT)
    assert command is not None
    followed = runner.invoke(app, command.group(1).split())
    assert followed.exit_code == 0, followed.output
    assert (project / "churn-v1-card.html").exists()


def test_an_unknown_alias_says_how_to_see_the_aliases(project, runner):
    failed = runner.invoke(app, ["models", "card", "churn@staging"])
    assert failed.exit_code == 2, failed.output
    assert "model 'churn' has no alias 'staging'" in failed.output
    assert "mlp models show churn" in failed.output


def test_in_an_empty_project_it_says_there_is_no_model_and_creates_nothing(
    runner, tmp_path, monkeypatch
):
    # GIVEN a folder with no registry WHEN a card is asked for
    for name in list(os.environ):
        if name.startswith("MLPLATFORM_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    failed = runner.invoke(app, ["models", "card", "nope@champion"])

    # THEN there is no such model (exit 2), and the read-only command created nothing
    assert failed.exit_code == 2, failed.output
    assert "there is no registered model named 'nope'" in failed.output
    assert list(tmp_path.iterdir()) == []
