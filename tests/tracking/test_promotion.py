"""Audited alias moves: promote records who/when/why, rollback returns to the previous holder,
and a rejected operation leaves the registry exactly as it was."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlplatform.errors import PromotionRejectedError, RegistryError
from mlplatform.tracking import (
    alias_history,
    champion,
    get_version,
    promote,
    register_model,
    rollback,
    set_alias,
)

from .conftest import fresh_uri


@pytest.fixture(scope="module")
def three_versions(empty_mlflow_db, tmp_path_factory, models, features) -> Path:
    """A database holding versions 1-3 of 'churn', copied for each test."""
    folder = tmp_path_factory.mktemp("three-versions")
    uri = fresh_uri(empty_mlflow_db, folder)
    for n in (1, 2, 3):
        register_model(
            models["logreg"],
            "churn",
            tracking_uri=uri,
            signature_input=features,
            tags={},
            model_digest=f"sha256:{n}",
        )
    return folder / "mlflow.db"


@pytest.fixture
def uri(three_versions, tmp_path) -> str:
    return fresh_uri(three_versions, tmp_path)


def snapshot(uri: str) -> dict:
    """Everything a promotion may touch: aliases, model tags, every version's tags."""
    client = MlflowClient(uri)
    model = client.get_registered_model("churn")
    versions = client.search_model_versions("name = 'churn'")
    return {
        "aliases": dict(model.aliases),
        "model_tags": dict(model.tags),
        "version_tags": {v.version: dict(v.tags) for v in versions},
    }


def test_promote_moves_the_alias_and_records_who_when_and_why(uri):
    # GIVEN three versions and no champion
    before = datetime.now(UTC) - timedelta(seconds=1)

    # WHEN version 2 is promoted
    info = promote("churn", "champion", 2, tracking_uri=uri, user="ada", reason="best f1")

    # THEN champion points to it and the version says who, when (UTC ISO) and why
    assert info.version == 2
    assert "champion" in info.aliases
    assert champion("churn", tracking_uri=uri).version == 2
    tags = get_version("churn", 2, tracking_uri=uri).tags
    assert tags["mlplatform.promoted.champion.by"] == "ada"
    assert tags["mlplatform.promoted.champion.reason"] == "best f1"
    assert tags["mlplatform.promoted.champion.action"] == "promote"
    at = datetime.fromisoformat(tags["mlplatform.promoted.champion.at"])
    assert at.tzinfo is not None
    assert before <= at <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_model_keeps_the_alias_history_as_json(uri):
    # WHEN the champion moves twice
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="first")
    promote("churn", "champion", 3, tracking_uri=uri, user="bob", reason="retrained")

    # THEN the registered model's history tag lists both moves in order
    raw = MlflowClient(uri).get_registered_model("churn").tags["mlplatform.alias_history.champion"]
    entries = json.loads(raw)
    assert [(e["version"], e["by"], e["reason"]) for e in entries] == [
        (1, "ada", "first"),
        (3, "bob", "retrained"),
    ]
    assert [c.version for c in alias_history("churn", tracking_uri=uri)] == [1, 3]


def test_promoting_the_current_holder_again_is_recorded_but_not_a_rollback_step(uri):
    # GIVEN champion 1, then 3
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="first")
    promote("churn", "champion", 3, tracking_uri=uri, user="ada", reason="retrained")

    # WHEN 3 is promoted again with a new reason
    promote("churn", "champion", 3, tracking_uri=uri, user="bob", reason="confirmed by A/B")

    # THEN the new who/why is recorded on the version and in the history
    tags = get_version("churn", 3, tracking_uri=uri).tags
    assert tags["mlplatform.promoted.champion.by"] == "bob"
    assert tags["mlplatform.promoted.champion.reason"] == "confirmed by A/B"
    assert len(alias_history("churn", tracking_uri=uri)) == 3
    # AND a rollback still returns to the previous holder, not to 3 itself
    assert rollback("churn", tracking_uri=uri, user="bob", reason="x").version == 1


def test_rollback_restores_the_previous_champion_and_records_it(uri):
    # GIVEN version 1 then version 3 were promoted to champion
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="first")
    promote("churn", "champion", 3, tracking_uri=uri, user="bob", reason="retrained")

    # WHEN the champion is rolled back
    info = rollback("churn", tracking_uri=uri, user="carol", reason="latency regression")

    # THEN version 1 is champion again, the move is recorded on both versions and in history
    assert info.version == 1
    assert champion("churn", tracking_uri=uri).version == 1
    restored = get_version("churn", 1, tracking_uri=uri).tags
    assert restored["mlplatform.promoted.champion.by"] == "carol"
    assert restored["mlplatform.promoted.champion.reason"] == "latency regression"
    assert restored["mlplatform.promoted.champion.action"] == "rollback"
    demoted = get_version("churn", 3, tracking_uri=uri).tags
    assert demoted["mlplatform.rolled_back.champion.by"] == "carol"
    history = alias_history("churn", tracking_uri=uri)
    assert [(c.version, c.action) for c in history][-1] == (1, "rollback")


def test_rollbacks_walk_back_through_every_previous_holder(uri):
    # GIVEN champions 1, 2, 3 in turn
    for v in (1, 2, 3):
        promote("churn", "champion", v, tracking_uri=uri, user="ada", reason=f"v{v}")

    # WHEN rolling back twice, THEN it returns to 2 and then 1 (not back and forth)
    assert rollback("churn", tracking_uri=uri, user="bob", reason="x").version == 2
    assert rollback("churn", tracking_uri=uri, user="bob", reason="y").version == 1

    # AND a third rollback has no previous holder left
    with pytest.raises(PromotionRejectedError):
        rollback("churn", tracking_uri=uri, user="bob", reason="z")


def test_rollback_without_a_previous_holder_is_rejected_and_changes_nothing(uri):
    # GIVEN a champion that was the first ever promoted
    promote("churn", "champion", 2, tracking_uri=uri, user="ada", reason="first")
    before = snapshot(uri)

    # WHEN it is rolled back
    with pytest.raises(PromotionRejectedError, match="first version") as caught:
        rollback("churn", tracking_uri=uri, user="bob", reason="oops")

    # THEN the error says nothing changed, and nothing did
    assert "Nothing was changed" in caught.value.hint
    assert snapshot(uri) == before


def test_rollback_when_the_alias_was_never_set_is_rejected(uri):
    before = snapshot(uri)
    with pytest.raises(PromotionRejectedError, match="not set"):
        rollback("churn", tracking_uri=uri, user="bob", reason="oops")
    assert snapshot(uri) == before


def test_rollback_after_the_alias_moved_outside_promote_is_rejected(uri):
    # GIVEN champion history 1 -> 2, then the alias set to 3 without an audit record
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="a")
    promote("churn", "champion", 2, tracking_uri=uri, user="ada", reason="b")
    set_alias("churn", "champion", 3, tracking_uri=uri)
    before = snapshot(uri)

    # WHEN it is rolled back, THEN it refuses to guess the previous holder
    with pytest.raises(PromotionRejectedError, match="history does not end there"):
        rollback("churn", tracking_uri=uri, user="bob", reason="oops")
    assert snapshot(uri) == before


def test_promoting_an_unknown_version_is_rejected_and_changes_nothing(uri):
    # GIVEN a champion
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="first")
    before = snapshot(uri)

    # WHEN a version that does not exist is promoted
    with pytest.raises(PromotionRejectedError, match="has no version 9"):
        promote("churn", "champion", 9, tracking_uri=uri, user="bob", reason="typo")

    # THEN aliases, model tags and version tags are as they were
    assert snapshot(uri) == before


def test_an_invalid_alias_is_rejected_and_changes_nothing(uri):
    before = snapshot(uri)
    with pytest.raises(PromotionRejectedError, match="not a valid alias"):
        promote("churn", "latest", 1, tracking_uri=uri, user="bob", reason="x")
    assert snapshot(uri) == before


def test_promoting_in_an_unknown_model_is_a_registry_error(uri):
    with pytest.raises(RegistryError, match="no registered model named 'ghost'"):
        promote("ghost", "champion", 1, tracking_uri=uri, user="bob", reason="x")
