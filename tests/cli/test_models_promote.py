"""`mlp models promote` names the version to promote with the one model reference grammar
(docs/model-references.md), or NAME with --version; a bad or ambiguous one changes nothing.

GIVEN a real MLflow registry on SQLite: churn v1 (champion), v2 (challenger), v3.
"""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlplatform.cli.app import app


def _register(uri: str, versions: int) -> None:
    """Versions 1..``versions`` of churn, each a different iris model."""
    from mlplatform.tracking import register_model

    x, y = load_iris(return_X_y=True, as_frame=True)
    for version in range(1, versions + 1):
        register_model(
            LogisticRegression(max_iter=50 * version).fit(x, y),
            "churn",
            tracking_uri=uri,
            signature_input=x.head(5),
            tags={},
            model_digest=f"sha256:{version}",
        )


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> str:
    from mlplatform.tracking import promote, set_alias

    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    _register(uri, 3)
    promote("churn", "champion", 1, tracking_uri=uri, user="ada", reason="first")
    set_alias("churn", "challenger", 2, tracking_uri=uri)
    return uri


@pytest.fixture(autouse=True)
def _champion_at_v1(registry):
    """Each test starts from the champion at v1 (the registry is shared by the module)."""
    from mlplatform.tracking import set_alias

    set_alias("churn", "champion", 1, tracking_uri=registry)


def _champion(uri: str) -> str:
    return str(MlflowClient(uri).get_model_version_by_alias("churn", "champion").version)


@pytest.mark.parametrize(
    ("args", "version"),
    [
        (["churn@challenger"], "2"),
        (["churn@3"], "3"),
        (["churn/3"], "3"),
        (["models:/churn/2"], "2"),
        (["churn", "--version", "3"], "3"),
    ],
)
def test_promote_takes_every_form_that_names_a_version(registry, project, runner, args, version):
    # WHEN the champion is promoted to the version the reference names
    result = runner.invoke(
        app, ["--tracking-uri", registry, "models", "promote", *args, "--reason", "test"]
    )
    # THEN the alias moved there
    assert result.exit_code == 0, result.output
    assert _champion(registry) == version
    assert f"-> version {version}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["churn"], "does not say which version to promote"),
        (["churn@2", "--version", "3"], "already names a version"),
        (["churn@v2"], "is not a model reference"),
        (["churn@nope"], "has no alias 'nope'"),
        (["churn/9"], "has no version 9"),
    ],
)
def test_a_bad_or_ambiguous_version_changes_nothing(registry, project, runner, args, message):
    result = runner.invoke(app, ["--tracking-uri", registry, "models", "promote", *args])
    # THEN an error (exit 2) names what was wrong, and the champion did not move
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _champion(registry) == "1"


@pytest.mark.parametrize(
    ("ref", "versions"),
    [("churn", [3, 2, 1]), ("churn@challenger", [2]), ("churn/3", [3]), ("models:/churn@1", [1])],
)
def test_show_takes_a_name_or_a_reference(registry, project, runner, ref, versions):
    # WHEN a model, or one version of it, is shown as JSON
    result = runner.invoke(app, ["--tracking-uri", registry, "models", "show", ref, "-f", "json"])
    # THEN a bare NAME lists every version, a reference only the version it names
    assert result.exit_code == 0, result.output
    assert [v["version"] for v in json.loads(result.stdout)] == versions


def test_rollback_takes_name_at_alias(tmp_path, project, runner):
    # GIVEN a fresh registry where the challenger alias moved from v1 to v2 through promote
    from mlplatform.tracking import promote

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _register(uri, 2)
    for version in (1, 2):
        promote("churn", "challenger", version, tracking_uri=uri, user="ada", reason="test")
    mlp = ["--tracking-uri", uri, "models", "rollback"]
    # WHEN a version (not an alias) is named, or the alias twice differently THEN refused
    assert runner.invoke(app, [*mlp, "churn/2"]).exit_code == 2
    assert runner.invoke(app, [*mlp, "churn@challenger", "--alias", "champion"]).exit_code == 2
    # WHEN NAME@ALIAS is rolled back THEN that alias is back on v1
    result = runner.invoke(app, [*mlp, "churn@challenger", "--reason", "regression"])
    assert result.exit_code == 0, result.output
    holder = MlflowClient(uri).get_model_version_by_alias("churn", "challenger").version
    assert str(holder) == "1"
