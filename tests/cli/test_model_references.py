"""Every command that names a model version accepts every form of the one grammar
(docs/model-references.md) and refuses a bad one with the same error; canaries likewise.

GIVEN a real MLflow registry on SQLite: churn v1 (champion) and v2 (challenger), each with a
drift reference profile (v2's of shifted data, so a drift check tells the versions apart).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import mlplatform.serving
from mlplatform.cli.app import app
from mlplatform.errors import CanaryError, MlplatformError, ModelReferenceError
from mlplatform.serving.__main__ import config_from_args, parser

MODEL = "churn"
# every form, and the version it names (champion -> 1, challenger -> 2)
FORMS = [
    (MODEL, 1),
    (f"{MODEL}@champion", 1),
    (f"{MODEL}@challenger", 2),
    (f"{MODEL}@2", 2),
    (f"{MODEL}/2", 2),
    (f"models:/{MODEL}@champion", 1),
    (f"models:/{MODEL}/2", 2),
]
BAD = f"{MODEL}@v2"  # MLflow reserves v<digits>: one error everywhere
S3 = ["--storage-uri", "s3://models/churn/1"]


def shown(result) -> str:
    """What the user is told of an error: `mlp` prints ours (headline, hint, details); a bare
    Typer app lets them propagate."""
    exc = result.exception
    raised = (
        f"{exc.headline}\n{exc.hint}\n{exc.details}" if isinstance(exc, MlplatformError) else ""
    )
    return " ".join((result.output + raised).split())


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> str:
    from mlplatform.components.register import save_reference_profile
    from mlplatform.tracking import promote, register_model, set_alias

    folder = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    x, y = load_iris(return_X_y=True, as_frame=True)
    for version, shift in ((1, 0.0), (2, 5.0)):
        register_model(
            LogisticRegression(max_iter=300).fit(x, y),
            MODEL,
            tracking_uri=uri,
            signature_input=x.head(20),
            tags={},
            model_digest=f"sha256:{version}",
        )
        save_reference_profile(MODEL, version, x + shift, tracking_uri=uri)
    promote(MODEL, "champion", 1, tracking_uri=uri, user="ada", reason="first")
    set_alias(MODEL, "challenger", 2, tracking_uri=uri)
    return uri


@pytest.fixture
def mlp(registry, project, runner):
    """`mlp --tracking-uri REGISTRY ...` in an empty project; iris.parquet is unshifted data."""
    pd.DataFrame(load_iris(as_frame=True).data).to_parquet(project / "iris.parquet")
    return lambda *args: runner.invoke(app, ["--tracking-uri", registry, *args])


@pytest.mark.parametrize(("ref", "version"), FORMS)
def test_mlp_deploy_model(mlp, ref, version):
    result = mlp("deploy", "model", ref, "--cloud", "aws", *S3, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    isvc = json.loads(result.stdout)["items"][1]
    assert isvc["metadata"]["labels"]["mlplatform.io/model-version"] == f"{version}.0.0"


@pytest.mark.parametrize(("ref", "version"), FORMS)
def test_mlp_drift_check(mlp, ref, version):
    # THEN v1's profile matches the data (exit 0), v2's shifted one does not (exit 1)
    result = mlp("drift", "check", "-r", ref, "-c", "iris.parquet", "-f", "json")
    assert result.exit_code == (0 if version == 1 else 1), result.output


@pytest.mark.parametrize(("ref", "version"), FORMS)
def test_mlp_serve(mlp, monkeypatch, ref, version):
    # GIVEN the server loop replaced (it would block); the model really loads
    served = []
    monkeypatch.setattr(mlplatform.serving, "serve", lambda app, *a, **kw: served.append(app))
    result = mlp("serve", ref, "--canary", "challenger=10", "--port", "0")
    assert result.exit_code == 0, result.output
    (server,) = served
    assert server.service.primary.version == str(version)
    assert [v.name for v in server.service.variants][1:] == ["challenger"]


@pytest.mark.parametrize(("ref", "version"), FORMS)
def test_the_serving_container(registry, ref, version):
    config = config_from_args(parser().parse_args(["--model-uri", ref, "--canary", "1=5"]))
    assert config.name == MODEL
    primary, canary = config.variants
    expected = {1: "models:/churn@champion", 2: "models:/churn@challenger"}.get(version)
    assert primary.model_uri in (expected, f"models:/churn/{version}")
    assert (canary.name, canary.model_uri, canary.weight) == ("v1", "models:/churn/1", 5)


@pytest.mark.parametrize(
    "args",
    [
        ("deploy", "model", BAD, "--cloud", "aws", *S3, "--dry-run"),
        ("drift", "check", "-r", BAD, "-c", "iris.parquet"),
        ("serve", BAD),
    ],
)
def test_a_bad_reference_is_the_same_error_in_every_command(mlp, args):
    result = mlp(*args)
    assert result.exit_code != 0
    assert f"{BAD!r} is not a model reference: MLflow reserves the alias 'v2'" in shown(result)
    assert "NAME@ALIAS" in shown(result)


def test_the_container_refuses_a_bad_reference_with_the_same_error():
    with pytest.raises(ModelReferenceError) as caught:
        config_from_args(parser().parse_args(["--model-uri", BAD]))
    assert (
        f"{BAD!r} is not a model reference: MLflow reserves the alias 'v2'" in caught.value.details
    )


@pytest.mark.parametrize("canary", ["challenger=2.5", "challenger=100", "challenger"])
def test_serve_deploy_and_the_container_refuse_the_same_canaries_alike(mlp, canary):
    with pytest.raises(CanaryError) as caught:
        config_from_args(parser().parse_args(["--model-uri", MODEL, "--canary", canary]))
    served = mlp("serve", MODEL, "--canary", canary)
    deployed = mlp("deploy", "model", MODEL, "--cloud", "aws", *S3, "--canary", canary)
    for result in (served, deployed):
        assert result.exit_code != 0
        assert caught.value.headline in shown(result)
        assert "whole percentage" in shown(result)


def test_mlp_models_show_takes_the_name_or_every_form(mlp):
    # GIVEN the whole model by NAME: every version
    whole = mlp("models", "show", MODEL, "-f", "json")
    assert whole.exit_code == 0, whole.output
    assert sorted(v["version"] for v in json.loads(whole.stdout)) == [1, 2]
    # AND each form of the grammar: the one version it names
    for ref, version in FORMS[1:]:
        result = mlp("models", "show", ref, "-f", "json")
        assert result.exit_code == 0, result.output
        assert [v["version"] for v in json.loads(result.stdout)] == [version], ref
    # AND a bad reference: the grammar's one error
    bad = mlp("models", "show", BAD)
    assert bad.exit_code == 2
    assert "is not a model reference" in shown(bad)


def test_every_command_help_shows_the_forms(runner):
    for path in (["serve"], ["deploy", "model"], ["drift", "check"], ["models", "show"]):
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0
        flat = " ".join(result.output.split())
        assert "NAME@ALIAS" in flat, path
        assert "NAME/VERSION" in flat, path
        assert "Example" in flat, path
