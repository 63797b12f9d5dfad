"""Sampling in the cluster: the flags reach the model server's container, the samples go to
the model's bucket, and Prometheus scrapes the port and path the drift gauges are on."""

from __future__ import annotations

import pytest

from mlplatform.errors import DeployError
from mlplatform.grammar import ModelRef
from mlplatform.serving.__main__ import config_from_args, parser
from mlplatform.serving.deploy import render, samples_store
from mlplatform.serving.deploy.render import MODEL_DIR, PORT
from mlplatform.settings import CLUSTER_MLFLOW

from ._specs import spec


def by_kind(docs):
    return {d["kind"]: d for d in docs}


def container_argv(docs, predictor, model_dir):
    """The model server's argv as KServe builds it: the runtime's args, then the model's;
    ``/mnt/models`` (the storage initializer's download) is ``model_dir`` here."""
    runtime = by_kind(docs)["ServingRuntime"]["spec"]["containers"][0]
    fill = {"{{.Name}}": "churn-model", MODEL_DIR: str(model_dir)}
    args = [fill.get(a, a) for a in runtime["args"]]
    return args + predictor["model"].get("args", [])


@pytest.mark.parametrize(
    ("cloud", "store"),
    [
        ("aws", "s3://mlplatform-mlflow"),
        ("gcp", "gs://mlplatform-mlflow"),
        ("azure", "abfs://mlflow@mlplatformartifacts.dfs.core.windows.net"),
    ],
)
def test_the_sampling_flags_reach_every_model_server(cloud, store, tmp_path):
    # GIVEN sampling 5 % for 7 days, with a canary
    docs = render(spec(cloud, canary=10, sample_fraction=0.05, sample_retention_days=7))
    isvc = by_kind(docs)["InferenceService"]
    predictors = (isvc["spec"]["predictor"], isvc["spec"]["canary"][0]["predictor"])
    for predictor, version in zip(predictors, (3, 4), strict=True):
        # WHEN the container's argv is parsed by the model server's own parser
        config = config_from_args(parser().parse_args(container_argv(docs, predictor, tmp_path)))
        # THEN sampling is on, in the model's bucket, with the retention asked for
        assert config.sampling.fraction == 0.05
        assert config.sampling.retention_days == 7
        assert config.sampling.store_url == store
        # AND the folder KServe copies in is served and monitored as its registered version,
        # against the profiles of the in-cluster MLflow
        (served,) = config.variants
        assert served.registered_as == ModelRef("churn-model", version=version)
        assert config.tracking_uri == CLUSTER_MLFLOW
        # AND it listens on the port the PodMonitor scrapes
        assert config.port == PORT


def test_sampling_is_off_by_default_and_then_no_flag_is_passed(tmp_path):
    docs = render(spec())
    predictor = by_kind(docs)["InferenceService"]["spec"]["predictor"]
    assert "args" not in predictor["model"]
    config = config_from_args(parser().parse_args(container_argv(docs, predictor, tmp_path)))
    assert config.sampling.fraction == 0
    assert config.sampling.store_url is None
    assert config.variants[0].registered_as is None


def test_sampling_needs_the_registry_the_predictors_read_profiles_from():
    # a library caller that leaves DeployOptions.tracking_uri unset gets drift or an error,
    # never a sampler whose monitors silently find no profile
    with pytest.raises(DeployError, match="no MLflow tracking URI") as caught:
        render(spec(sample_fraction=0.1, tracking_uri=None))
    assert "tracking_uri" in caught.value.hint
    assert render(spec(tracking_uri=None))  # no sampling, no registry needed


def test_the_runtime_is_shared_so_sampling_is_per_model():
    # the ServingRuntime serves every model of the namespace: no per-model flag on it
    sampled, plain = render(spec(sample_fraction=0.5)), render(spec())
    assert by_kind(sampled)["ServingRuntime"] == by_kind(plain)["ServingRuntime"]


def test_an_explicit_store_wins_and_azure_gets_its_account():
    docs = render(spec("azure", sample_fraction=0.1))
    model = by_kind(docs)["InferenceService"]["spec"]["predictor"]["model"]
    assert _sampling_env(model) == [
        {"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": "mlplatformartifacts"}
    ]
    other = render(spec("aws", sample_fraction=0.1, samples_store="s3://samples-eu"))
    args = by_kind(other)["InferenceService"]["spec"]["predictor"]["model"]["args"]
    assert args[args.index("--samples-store") + 1] == "s3://samples-eu"
    assert _sampling_env(by_kind(other)["InferenceService"]["spec"]["predictor"]["model"]) == []


def _sampling_env(model: dict) -> list[dict]:
    """The model container's env less the tracing variables (serving.deploy.tracing)."""
    return [e for e in model.get("env", []) if not e["name"].startswith("OTEL_")]


def test_a_model_not_on_a_bucket_needs_an_explicit_store():
    with pytest.raises(DeployError, match="not on a bucket") as caught:
        samples_store("pvc://models/churn/3")
    assert "--samples-store" in caught.value.hint


def test_the_pod_monitor_scrapes_metrics_where_the_server_exports_drift_gauges():
    docs = render(spec(sample_fraction=0.1))
    (endpoint,) = by_kind(docs)["PodMonitor"]["spec"]["podMetricsEndpoints"]
    runtime = by_kind(docs)["ServingRuntime"]["spec"]["containers"][0]
    assert (endpoint["portNumber"], endpoint["path"]) == (PORT, "/metrics")
    assert {"containerPort": PORT, "protocol": "TCP"} in runtime["ports"]
