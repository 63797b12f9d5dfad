"""`mlp deploy model` against a real MLflow registry on SQLite: dry-run output, files, errors.

The deploy sub-app is mounted on a root app built here the way `mlp` builds its own (a
callback that loads the settings), so these tests do not depend on its registration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Annotated

import pytest
import typer
import yaml
from typer.testing import CliRunner

from mlplatform.cli import deploy
from mlplatform.errors import CanaryError, DeployError
from mlplatform.settings import CLUSTER_MLFLOW, load_settings

from .conftest import MODEL

S3 = ["--storage-uri", "s3://models/churn/1"]


def make_app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def main(
        ctx: typer.Context, tracking_uri: Annotated[str | None, typer.Option()] = None
    ) -> None:
        ctx.obj = load_settings(tracking_uri=tracking_uri)

    root.add_typer(deploy.app, name="deploy")
    root.add_typer(deploy.undeploy_app, name="undeploy")
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder as the working directory, with no MLPLATFORM_* overrides."""
    for name in list(os.environ):
        if name.startswith(("MLPLATFORM_", "MLFLOW_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mlp(registry, project):
    runner = CliRunner()
    app = make_app()

    def invoke(*args: str):
        return runner.invoke(app, ["--tracking-uri", registry, "deploy", "model", *args])

    return invoke


def test_help_has_an_example():
    runner = CliRunner()
    paths = (["deploy", "--help"], ["deploy", "model", "--help"], ["undeploy", "model", "--help"])
    for path in paths:
        result = runner.invoke(make_app(), path)
        assert result.exit_code == 0, result.output
        assert "Example" in result.output


def test_dry_run_prints_the_documents_and_contacts_no_cluster(mlp, monkeypatch):
    # GIVEN no cluster at all
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    # WHEN rendering champion with the challenger as a 10 % canary
    result = mlp(
        f"{MODEL}@champion",
        "--cloud",
        "aws",
        "--canary",
        "challenger=10",
        *S3,
        "--storage-uri",
        "challenger=s3://models/churn/2",
        "--dry-run",
    )
    # THEN stdout is the multi-document YAML
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == [
        "ServingRuntime",
        "InferenceService",
        "HTTPRoute",
        "PodMonitor",
    ]
    isvc = docs[1]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://models/churn/1"
    assert isvc["spec"]["canary"][0]["predictor"]["name"] == "v2"
    assert isvc["metadata"]["labels"]["mlplatform.io/model-version"] == "1.0.0"
    assert "mlplatform.io/approved-by" not in isvc["metadata"]["annotations"]  # staging
    weights = [b["weight"] for b in docs[2]["spec"]["rules"][0]["backendRefs"]]
    assert weights == [90, 10]
    # AND the unset hostname is pointed out on stderr, not mixed into the YAML
    assert "deploy.hostname is not set" in result.stderr


def test_flags_override_the_settings(mlp, project):
    (project / "mlplatform.toml").write_text(
        textwrap.dedent(
            """
            owner = "fraud-team"
            [deploy]
            namespace = "models"
            max_replicas = 9
            hostname = "{name}.models.example.com"
            """
        )
    )
    result = mlp(
        f"{MODEL}@champion",
        "--cloud",
        "aws",
        *S3,
        "--dry-run",
        "--min-replicas",
        "2",
        "--autoscaler",
        "keda",
        "--name",
        "churn",
    )
    assert result.exit_code == 0, result.output
    isvc = list(yaml.safe_load_all(result.stdout))[1]
    assert isvc["metadata"]["namespace"] == "models"
    assert isvc["metadata"]["name"] == "churn"
    assert isvc["metadata"]["labels"]["mlplatform.io/owner"] == "fraud-team"
    assert (isvc["spec"]["predictor"]["minReplicas"], isvc["spec"]["predictor"]["maxReplicas"]) == (
        2,
        9,
    )
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    assert "hostname is not set" not in result.stderr


def test_json_to_a_file(mlp, project):
    out = project / "deploy.json"
    result = mlp(
        f"{MODEL}@champion",
        "--cloud",
        "gcp",
        "--storage-uri",
        "gs://m/churn/1",
        "--dry-run",
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    listed = json.loads(out.read_text())
    assert listed["kind"] == "List"
    assert listed["items"][1]["spec"]["predictor"]["model"]["storageUri"] == "gs://m/churn/1"
    assert "wrote 4 documents" in result.stderr


def test_local_artifacts_are_a_deploy_error(mlp):
    result = mlp(f"{MODEL}@champion", "--cloud", "gcp", "--dry-run")
    assert result.exit_code == 1
    assert isinstance(result.exception, DeployError)
    assert "on this machine" in result.exception.headline
    assert "--storage-uri gs://" in result.exception.hint


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cloud", "ibm"], "unknown cloud 'ibm'"),
        (["--canary", "nope=10"], "has no alias 'nope'"),
        (["--canary", "twin=10", "--storage-uri", "twin=s3://m/1"], "the same version"),
    ],
)
def test_bad_input_is_a_deploy_error(mlp, args, message):
    base = ["--cloud", "aws"] if "--cloud" not in args else []
    result = mlp(f"{MODEL}@champion", *base, *args, *S3, "--dry-run")
    assert result.exit_code == 1
    assert isinstance(result.exception, DeployError), result.output
    assert message in result.exception.headline


@pytest.mark.parametrize(
    ("canary", "message"),
    [("challenger", "is not ALIAS=PERCENT"), ("challenger=100", "not a whole percent"),
     ("challenger=2.5", "not a whole percent")],
)  # fmt: skip
def test_a_bad_canary_is_the_canary_error_mlp_serve_gives(mlp, canary, message):
    result = mlp(f"{MODEL}@champion", "--cloud", "aws", "--canary", canary, *S3, "--dry-run")
    assert result.exit_code == 1
    assert isinstance(result.exception, CanaryError), result.output
    assert message in result.exception.headline


def test_without_dry_run_a_missing_cluster_is_a_deploy_error(mlp, monkeypatch, project):
    monkeypatch.setenv("KUBECONFIG", str(project / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = mlp(f"{MODEL}@champion", "--cloud", "aws", *S3)
    assert result.exit_code == 1
    assert isinstance(result.exception, DeployError)
    assert result.exception.headline == "no Kubernetes cluster is configured"
    assert "--dry-run" in result.exception.hint


def test_the_real_mlp_prints_headline_and_hint_without_a_traceback(registry, project):
    # GIVEN `mlp` as users run it (the sub-app registered in the real CLI)
    from mlplatform.cli.app import app

    if "deploy" not in {g.name for g in app.registered_groups}:
        pytest.skip("the deploy sub-app is not registered in mlplatform.cli.app yet")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlplatform",
            "--tracking-uri",
            registry,
            "deploy",
            "model",
            f"{MODEL}@champion",
            "--cloud",
            "aws",
            "--dry-run",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "error: the model artifacts are on this machine" in proc.stderr
    assert "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sampling_flags_and_settings_reach_the_model_container(mlp, project):
    # GIVEN sampling set for `mlp serve` in the project: the cluster gets the same setting
    (project / "mlplatform.toml").write_text("[serving]\nsample_fraction = 0.02\n")
    result = mlp(f"{MODEL}@champion", "--cloud", "aws", *S3, "--dry-run")
    assert result.exit_code == 0, result.output
    args = list(yaml.safe_load_all(result.stdout))[1]["spec"]["predictor"]["model"]["args"]
    # AND the container learns which registered version its folder is, and where the
    # in-cluster MLflow is (not the URI this machine reached the registry by)
    assert args == [
        "--sample-fraction", "0.02", "--sample-retention-days", "30",
        "--samples-store", "s3://models",
        "--registered-as", f"{MODEL}/1", "--tracking-uri", CLUSTER_MLFLOW,
    ]  # fmt: skip
    # AND the flags override it
    result = mlp(
        f"{MODEL}@champion", "--cloud", "aws", *S3, "--dry-run",
        "--sample-fraction", "0.1", "--sample-retention-days", "7",
        "--samples-store", "s3://samples",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    args = list(yaml.safe_load_all(result.stdout))[1]["spec"]["predictor"]["model"]["args"]
    assert args[1::2] == ["0.1", "7", "s3://samples", f"{MODEL}/1", CLUSTER_MLFLOW]


def test_each_variant_is_monitored_as_its_own_registered_version(mlp, project):
    # GIVEN sampling on, champion (version 1) with challenger (version 2) as a 10 % canary
    result = mlp(
        f"{MODEL}@champion", "--cloud", "aws", *S3, "--dry-run", "--sample-fraction", "0.05",
        "--canary", "challenger=10", "--storage-uri", "challenger=s3://models/churn/2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    isvc = list(yaml.safe_load_all(result.stdout))[1]["spec"]
    # THEN each model container names its own version, and both read the in-cluster MLflow
    for predictor, version in ((isvc["predictor"], 1), (isvc["canary"][0]["predictor"], 2)):
        args = predictor["model"]["args"]
        assert args[args.index("--registered-as") + 1] == f"{MODEL}/{version}"
        assert args[args.index("--tracking-uri") + 1] == CLUSTER_MLFLOW


def test_scale_to_zero_renders_the_wake_path(mlp):
    result = mlp(
        f"{MODEL}@champion", "--cloud", "aws", *S3, "--dry-run",
        "--autoscaler", "keda", "--min-replicas", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert docs[-1]["kind"] == "HTTPScaledObject"
    assert docs[2]["spec"]["rules"][0]["backendRefs"][0]["name"] == (
        "keda-add-ons-http-interceptor-proxy"
    )


def test_undeploy_needs_a_cluster_to_find_what_to_delete(registry, project, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(project / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = CliRunner().invoke(
        make_app(), ["--tracking-uri", registry, "undeploy", "model", "churn-model"]
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, DeployError)
    assert result.exception.headline == "no Kubernetes cluster is configured"
