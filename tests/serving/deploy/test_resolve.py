"""Model references and --canary ALIAS=PCT resolved against a real MLflow registry (the
grammar itself is tested in tests/grammar)."""

from __future__ import annotations

import pytest

from mlplatform.errors import CanaryError, DeployError, ModelReferenceError
from mlplatform.serving.deploy import DeployOptions, parse_storage_uris, render, resolve

from .conftest import MODEL

OPTIONS = DeployOptions(cloud="aws", image="ghcr.io/mlplatform/mlplatform:0.1.0")
S3 = "s3://models/churn/1"


def test_parse_storage_uris():
    assert parse_storage_uris(["s3://b/k=v/1", "challenger=s3://b/2"]) == {
        "": "s3://b/k=v/1",
        "challenger": "s3://b/2",
    }
    with pytest.raises(DeployError, match="given twice for the primary"):
        parse_storage_uris(["s3://b/1", "s3://b/2"])


def test_resolve_reads_versions_lineage_and_governance_facts(registry):
    # GIVEN champion -> v1 (promoted by ada) and challenger -> v2, artifacts copied to S3
    spec = resolve(
        f"{MODEL}@champion",
        OPTIONS,
        tracking_uri=registry,
        canaries=["challenger=20"],
        storage_uris={"": S3, "challenger": "s3://models/churn/2"},
    )
    # THEN each alias is its version, with its run, experiment and storage URI
    assert (spec.primary.version, spec.primary.alias, spec.primary.storage_uri) == (
        1,
        "champion",
        S3,
    )
    (canary,) = spec.canaries
    assert (canary.version, canary.alias, canary.percent) == (2, "challenger", 20)
    assert len(spec.primary.run_id) == 32
    assert spec.primary.experiment_id
    assert spec.primary.run_id != canary.run_id
    # and each version's governance facts from the registry (nothing governed here yet)
    assert (spec.primary.facts.version, canary.facts.version) == (1, 2)
    assert spec.primary.facts.run_id == spec.primary.run_id
    assert render(spec)[2]["spec"]["rules"][0]["backendRefs"][1]["weight"] == 20


@pytest.mark.parametrize("ref", [f"{MODEL}@2", f"{MODEL}/2", f"models:/{MODEL}/2"])
def test_a_version_number_works_as_the_ref(registry, ref):
    spec = resolve(ref, OPTIONS, tracking_uri=registry, storage_uris={"": S3})
    assert (spec.primary.version, spec.primary.alias, spec.primary.facts.version) == (2, "", 2)


@pytest.mark.parametrize("ref", [MODEL, f"models:/{MODEL}@champion"])
def test_a_bare_name_and_an_mlflow_uri_name_the_alias(registry, ref):
    spec = resolve(ref, OPTIONS, tracking_uri=registry, storage_uris={"": S3})
    assert (spec.name, spec.primary.version, spec.primary.alias) == (MODEL, 1, "champion")


def test_a_canary_by_version_number(registry):
    spec = resolve(
        f"{MODEL}@champion",
        OPTIONS,
        tracking_uri=registry,
        canaries=["2=15"],
        storage_uris={"": S3, "2": "s3://models/churn/2"},
    )
    (canary,) = spec.canaries
    assert (canary.version, canary.alias, canary.percent) == (2, "", 15)
    assert canary.storage_uri == "s3://models/churn/2"


@pytest.mark.parametrize(
    ("ref", "canaries", "error"),
    [("churn-model@v2", [], ModelReferenceError), ("models:/churn-model", [], ModelReferenceError),
     (f"{MODEL}@champion", ["challenger=2.5"], CanaryError),
     (f"{MODEL}@champion", ["a=60", "b=40"], CanaryError)],
)  # fmt: skip
def test_bad_syntax_is_refused_before_the_registry_is_read(ref, canaries, error):
    with pytest.raises(error):
        resolve(ref, OPTIONS, tracking_uri="sqlite:///nowhere/mlflow.db", canaries=canaries)


def test_local_artifacts_are_refused_with_what_to_do(registry):
    # GIVEN the local profile's registry: artifacts are files on this machine
    with pytest.raises(DeployError, match="on this machine") as caught:
        resolve(f"{MODEL}@champion", OPTIONS, tracking_uri=registry)
    assert "--storage-uri s3://" in caught.value.hint
    assert "profile" in caught.value.hint


@pytest.mark.parametrize(
    ("ref", "canaries", "message"),
    [
        (f"{MODEL}@nope", [], "has no alias 'nope'"),
        ("no-such-model@champion", [], "no registered model named 'no-such-model'"),
        (f"{MODEL}@champion", ["nope=10"], "has no alias 'nope'"),
    ],
)
def test_unknown_model_or_alias_is_a_deploy_error(registry, ref, canaries, message):
    with pytest.raises(DeployError, match=message) as caught:
        resolve(ref, OPTIONS, tracking_uri=registry, canaries=canaries, storage_uris={"": S3})
    assert "mlp models show" in caught.value.hint


def test_a_canary_alias_on_the_primarys_version_is_a_deploy_error(registry):
    spec = resolve(
        f"{MODEL}@champion",
        OPTIONS,
        tracking_uri=registry,
        canaries=["twin=10"],
        storage_uris={"": S3, "twin": S3},
    )
    with pytest.raises(DeployError, match="canary twin is version 1, the same version as champion"):
        render(spec)


def test_a_storage_uri_for_an_alias_that_is_no_canary_is_refused(registry):
    with pytest.raises(DeployError, match="which is not a --canary"):
        resolve(
            f"{MODEL}@champion",
            OPTIONS,
            tracking_uri=registry,
            storage_uris={"": S3, "challenger": S3},
        )
