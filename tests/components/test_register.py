"""Tests of the register step: lineage, idempotency, and aliases that follow the quality gate."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from _mlflow_store import sqlite_store
from mlplatform.components.champion import decide
from mlplatform.components.features import featurize
from mlplatform.components.ingest import ingest
from mlplatform.components.register import register
from mlplatform.components.train import train
from mlplatform.errors import ConfigError
from mlplatform.pipelines.context import StepContext, running
from mlplatform.tracking import champion, get_version, list_versions

PASSED = {"passed": True, "failures": []}


def evaluation(
    accuracy: float, gate: dict = PASSED, *, against: tuple[int, float] | None = None
) -> dict:
    """An evaluate result; ``against``: the champion's version and its accuracy on the same
    test set (as ``evaluate`` scores it)."""
    result = {
        "task": "binary",
        "metrics": {"accuracy": accuracy, "f1_macro": accuracy},
        "gate": gate,
        "champion": None,
    }
    if against is not None:
        version, theirs = against
        beats, reason = decide("accuracy", 0.0, accuracy, theirs)
        result["champion"] = {
            "version": version,
            "comparable": True,
            "metric": "accuracy",
            "margin": 0.0,
            "challenger": accuracy,
            "champion": theirs,
            "champion_metrics": {"accuracy": theirs, "f1_macro": theirs},
            "beats_champion": beats,
            "reason": f"{reason} (champion v{version}, same test set)",
        }
    return result


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, dict[str, Pipeline]]:
    train_frame, _, transformer = featurize(ingest("synthetic://classification", rows=300, seed=0))
    small = {"logreg": {}, "gbm": {"max_iter": 20}, "random_forest": {"n_estimators": 10}}
    models = {n: train(train_frame, transformer, model=n, hyperparams=h) for n, h in small.items()}
    return train_frame, models


@pytest.fixture
def tracking_uri(tmp_path_factory, tmp_path, monkeypatch) -> str:
    """A real MLflow store on a copy of a once-per-session migrated SQLite database."""
    uri = sqlite_store(tmp_path_factory, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_a_model_that_failed_the_gate_is_registered_but_gets_no_alias(data, tracking_uri):
    # GIVEN an evaluation whose gate failed
    train_frame, models = data
    failed = {"passed": False, "failures": ["accuracy 0.6000 < min_accuracy 0.7000"]}

    # WHEN the model is registered
    result = register(models["logreg"], evaluation(0.6, failed), train_frame, model_name="churn")

    # THEN it is a version for the record, but neither champion nor challenger
    assert (result["version"], result["created"], result["promoted"]) == (1, True, False)
    assert result["aliases"] == []
    assert "quality gate failed (accuracy 0.6000 < min_accuracy 0.7000)" in result["reason"]
    assert champion("churn", tracking_uri=tracking_uri) is None
    assert get_version("churn", 1, tracking_uri=tracking_uri).tags["mlplatform.gate"] == "failed"


def test_in_a_pipeline_run_it_logs_into_the_step_run_with_lineage_tags(
    data, tracking_uri, monkeypatch
):
    # GIVEN the step's tracking run and a pipeline context with input digests, run by alice
    monkeypatch.setenv("MLPLATFORM_USER", "alice")
    monkeypatch.setenv("MLPLATFORM_OWNER", "churn-team")
    train_frame, models = data
    client = MlflowClient(tracking_uri)
    step_run = client.create_run(client.create_experiment("exp")).info.run_id
    context = StepContext(
        pipeline="standard-training",
        run_id="20260101-000000-abcdef",
        node="register",
        cache_key="k-register",
        cache_keys={"train": "k-train", "evaluate": "k-evaluate"},
        inputs={
            "model": {"uri": "file:///m", "digest": "sha256:model", "type": "sklearn"},
            "train": {"uri": "file:///t", "digest": "sha256:train", "type": "parquet"},
        },
        tracking_run_id=step_run,
        git_commit="0123abc",
    )

    # WHEN the first model that passes the gate is registered
    with running(context):
        result = register(models["gbm"], evaluation(0.9), train_frame, model_name="churn")

    # THEN it becomes champion and challenger, logged into the step's run, with lineage
    assert result["promoted"] is True
    assert result["aliases"] == ["challenger", "champion"]
    info = get_version("churn", result["version"], tracking_uri=tracking_uri)
    assert info.run_id == step_run
    assert info.metrics["accuracy"] == 0.9
    assert info.tags["mlplatform.model_digest"] == "sha256:model"
    assert info.tags["mlplatform.data_digest"] == "sha256:train"
    assert info.tags["mlplatform.pipeline"] == "standard-training"
    assert info.tags["mlplatform.pipeline_run_id"] == "20260101-000000-abcdef"
    assert info.tags["mlplatform.git_commit"] == "0123abc"
    assert json.loads(info.tags["mlplatform.cache_keys"]) == dict(context.cache_keys)
    assert info.tags["mlplatform.promoted.champion.by"] == "alice"
    reason = info.tags["mlplatform.promoted.champion.reason"]
    assert reason.startswith("pipeline standard-training run 20260101-000000-abcdef: ")
    # AND it carries what governance reads: owner, author, gate, a first semantic version
    assert info.tags["mlplatform.owner"] == "churn-team"
    assert info.tags["mlplatform.author"] == "alice"
    assert info.tags["mlplatform.gate"] == "passed"
    assert (result["semver"], info.tags["mlplatform.semver"]) == ("1.0.0", "1.0.0")


def test_registering_the_same_model_again_adds_no_version(data, tracking_uri):
    # GIVEN a registered model
    train_frame, models = data
    first = register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")

    # WHEN the same model is registered again (outside a pipeline: digest of its pickle)
    again = register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")

    # THEN the existing version is returned and nothing was added
    assert (again["version"], again["created"]) == (first["version"], False)
    assert len(list_versions("churn", tracking_uri=tracking_uri)) == 1
    assert again["promoted"] is False
    assert "already the champion" in again["reason"]


def test_only_a_model_that_beats_the_champion_is_promoted(data, tracking_uri):
    # GIVEN a champion with accuracy 0.8
    train_frame, models = data
    register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")

    # WHEN a better model and then a worse one are registered
    better = register(
        models["gbm"], evaluation(0.9, against=(1, 0.8)), train_frame, model_name="churn"
    )
    worse = register(
        models["random_forest"],
        evaluation(0.85, against=(2, 0.9)),
        train_frame,
        model_name="churn",
    )

    # THEN the better one took the champion, the worse one is only challenger
    assert (better["version"], better["promoted"]) == (2, True)
    assert better["reason"] == "gate passed; accuracy 0.9000 > 0.8000 (champion v1, same test set)"
    assert (worse["version"], worse["promoted"], worse["aliases"]) == (3, False, ["challenger"])
    assert champion("churn", tracking_uri=tracking_uri).version == 2


def test_with_promotion_off_the_model_is_only_challenger(data, tracking_uri):
    train_frame, models = data
    result = register(
        models["logreg"], evaluation(0.9), train_frame, model_name="churn", promote=False
    )
    assert (result["promoted"], result["aliases"]) == (False, ["challenger"])
    assert champion("churn", tracking_uri=tracking_uri) is None


def test_without_a_tracking_uri_it_says_how_to_set_one(data, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    train_frame, models = data
    with pytest.raises(ConfigError, match="needs MLFLOW_TRACKING_URI"):
        register(models["logreg"], evaluation(0.9), train_frame)


def test_registrations_and_alias_moves_are_in_the_audit_log(
    data, tracking_uri, tmp_path, monkeypatch
):
    # GIVEN a pipeline run with an artifact store and the platform key
    from mlplatform.artifacts.signing import CACHE_KEY_ENV
    from mlplatform.governance.audit import records, verify

    store = str(tmp_path / "store")
    monkeypatch.setenv(CACHE_KEY_ENV, "k" * 64)
    monkeypatch.setenv("MLPLATFORM_USER", "alice")
    train_frame, models = data
    context = StepContext(
        pipeline="standard-training", run_id="r1", node="register", cache_key="k", store_root=store
    )

    # WHEN two models are registered, the second one retrained (same signature)
    with running(context):
        first = register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")
        second = register(
            models["gbm"], evaluation(0.9, against=(1, 0.8)), train_frame, model_name="churn"
        )

    # THEN the second one is a minor version, and every change has a signed record
    assert (first["semver"], second["semver"]) == ("1.0.0", "1.1.0")
    found = [
        (r.what, r.version, r.who)
        for r in records(store_root=store, storage_options=None, model="churn")
    ]
    assert found == [
        ("register", "1", "alice"),
        ("alias", "1", "alice"),  # challenger
        ("alias", "1", "alice"),  # champion
        ("register", "2", "alice"),
        ("alias", "2", "alice"),
        ("alias", "2", "alice"),
    ]
    moved = [
        r.after
        for r in records(store_root=store, storage_options=None, model="churn")
        if r.what == "alias"
    ]
    assert moved[-1] == {"alias": "champion", "version": 2}
    assert (
        verify(
            store_root=store,
            storage_options=None,
            key="k" * 64,
            tracking_uri=tracking_uri,
            model="churn",
        )
        == []
    )


def test_a_champion_tied_to_production_is_not_moved_by_the_pipeline(
    data, tracking_uri, monkeypatch
):
    # GIVEN a project that ties champion to production
    monkeypatch.setenv("MLPLATFORM_PRODUCTION_ALIASES", json.dumps(["champion"]))
    train_frame, models = data

    # WHEN a model that passes the gate is registered with promotion on
    result = register(models["gbm"], evaluation(0.9), train_frame, model_name="churn")

    # THEN it is only challenger, and the reason says how to reach production
    assert (result["promoted"], result["aliases"]) == (False, ["challenger"])
    assert "champion is tied to production" in result["reason"]
    assert "mlp models promote churn/1 --stage production" in result["reason"]
    assert champion("churn", tracking_uri=tracking_uri) is None


def test_both_figures_are_recorded_on_the_version(data, tracking_uri):
    # GIVEN a champion, and a challenger evaluated against it on the same test set
    train_frame, models = data
    register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")

    # WHEN the challenger is registered
    result = register(
        models["gbm"], evaluation(0.9, against=(1, 0.8)), train_frame, model_name="churn"
    )

    # THEN its version holds both figures side by side, and the comparison as tags
    info = get_version("churn", result["version"], tracking_uri=tracking_uri)
    assert (info.metrics["accuracy"], info.metrics["champion.accuracy"]) == (0.9, 0.8)
    assert info.tags["mlplatform.task"] == "binary"
    assert info.tags["mlplatform.compared_with"] == "v1"
    assert (
        info.tags["mlplatform.comparison"]
        == "accuracy 0.9000 > 0.8000 (champion v1, same test set)"
    )


def test_a_champion_that_moved_since_the_evaluation_is_not_replaced(data, tracking_uri):
    # GIVEN champion v2, while the evaluation compared with v1
    train_frame, models = data
    register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")
    register(models["gbm"], evaluation(0.9, against=(1, 0.8)), train_frame, model_name="churn")

    # WHEN a model evaluated against v1 is registered
    result = register(
        models["random_forest"],
        evaluation(0.95, against=(1, 0.8)),
        train_frame,
        model_name="churn",
    )

    # THEN it is not promoted, and the reason says why
    assert (result["promoted"], result["aliases"]) == (False, ["challenger"])
    assert "the champion is v2 but the evaluation compared with v1" in result["reason"]
    assert champion("churn", tracking_uri=tracking_uri).version == 2


def test_a_champion_that_was_not_comparable_is_kept(data, tracking_uri):
    train_frame, models = data
    register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")
    reason = "champion v1 is not comparable: it is a regression model, this run trains binary"
    not_comparable = {
        **evaluation(0.99),
        "champion": {"version": 1, "comparable": False, "beats_champion": False, "reason": reason},
    }
    result = register(models["gbm"], not_comparable, train_frame, model_name="churn")
    assert result["promoted"] is False
    assert result["reason"] == f"gate passed; {reason}; no automatic promotion"
    assert champion("churn", tracking_uri=tracking_uri).version == 1


def test_each_new_version_gets_a_model_card_matching_its_metrics(data, tracking_uri):
    # GIVEN a champion, and a challenger registered with its test split
    import re

    from mlplatform.components.model_card import CARD_TAG, load_card

    train_frame, models = data
    test_frame = train_frame.sample(80, random_state=1)
    register(models["logreg"], evaluation(0.8), train_frame, model_name="churn")
    result = register(
        models["gbm"], evaluation(0.9, against=(1, 0.8)), train_frame,
        model_name="churn", test=test_frame, source="synthetic://classification",
    )  # fmt: skip
    # THEN its card is logged beside it, its numbers are the version's MLflow metrics
    info = get_version("churn", result["version"], tracking_uri=tracking_uri)
    assert info.tags[CARD_TAG].endswith("/model_card.html")
    version, html = load_card("churn", result["version"], tracking_uri=tracking_uri)
    assert version == result["version"]
    shown = dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]+)"', html))
    assert {k: float(v) for k, v in shown.items()} == {
        k: v for k, v in info.metrics.items() if not k.startswith("champion.")
    }
    # AND it names the source, the champion it was compared with, and shows the plots
    assert "synthetic://classification" in html
    assert "v1" in html
    assert "beats the champion" in html
    assert 'data-plot="confusion' in html
    # AND a version registered again keeps its card (nothing is logged twice)
    again = register(models["gbm"], evaluation(0.9), train_frame, model_name="churn",
                     test=test_frame)  # fmt: skip
    assert again["created"] is False
    assert (
        get_version("churn", result["version"], tracking_uri=tracking_uri).tags[CARD_TAG]
        == (info.tags[CARD_TAG])
    )
