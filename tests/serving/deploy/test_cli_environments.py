"""`mlp deploy model --env dev|staging|prod`: every object labelled with the environment, prod
checked against the production rules (an unapproved version refused, nothing written), prod
with another --stage refused, an unknown environment refused with the choices.

A real MLflow registry (SQLite); the governed registry fixture of test_cli_governance.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlplatform.errors import ConfigError, PromotionRejectedError
from mlplatform.grammar import Environment, deploy_stage

from .conftest import MODEL
from .test_cli import S3
from .test_cli_governance import audit, deploy

REPO = Path(__file__).resolve().parents[3]


def test_the_environments_are_the_ones_the_repository_defines():
    files = {p.stem for p in (REPO / "infrastructure" / "environments").glob("*.yaml")}
    defined = files - {"differences", "promotions"}
    assert {e.value for e in Environment} == defined


@pytest.mark.parametrize(
    ("env", "stage", "expected"),
    [
        (Environment.dev, None, "development"),
        (Environment.staging, None, "staging"),
        (Environment.prod, None, "production"),
        (Environment.staging, "production", "production"),
        (Environment.prod, "production", "production"),
    ],
)
def test_each_environment_has_its_stage(env, stage, expected):
    assert deploy_stage(env, stage) == expected


def test_prod_refuses_another_stage():
    with pytest.raises(ConfigError) as caught:
        deploy_stage(Environment.prod, "staging")
    assert "production models only" in caught.value.headline
    assert "mlp models approve" in caught.value.hint


def test_prod_labels_every_object_and_applies_the_production_rules(governed):
    # GIVEN champion (v1) approved for production WHEN rendered for prod
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--env", "prod",
                    *S3, "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    # THEN every object names the environment, and the production approval is on it
    assert documents
    assert all(d["metadata"]["labels"]["mlplatform.io/environment"] == "prod" for d in documents)
    isvc = next(d for d in documents if d["kind"] == "InferenceService")
    assert isvc["metadata"]["annotations"]["mlplatform.io/approved-by"] == "bob"


def test_staging_takes_the_unapproved_version_that_prod_refuses(governed, project):
    # GIVEN challenger (v2): governed, not approved for production
    out = project / "prod.yaml"
    refused = deploy(governed, f"{MODEL}@challenger", "--cloud", "aws", "--env", "prod",
                     *S3, "-o", str(out))  # fmt: skip
    # THEN prod refuses it (production.approval) and writes nothing; the refusal is recorded
    assert isinstance(refused.exception, PromotionRejectedError), refused.output
    assert "production.approval" in refused.exception.headline
    assert not out.exists()
    assert [r.what for r in audit(governed)] == ["refused"]
    # AND staging renders it, labelled staging
    staged = deploy(governed, f"{MODEL}@challenger", "--cloud", "aws", "--env", "staging",
                    *S3, "--dry-run")  # fmt: skip
    assert staged.exit_code == 0, staged.output
    labels = [d["metadata"]["labels"] for d in yaml.safe_load_all(staged.stdout)]
    assert {label["mlplatform.io/environment"] for label in labels} == {"staging"}


def test_prod_with_a_non_production_stage_is_refused(governed):
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--env", "prod",
                    "--stage", "staging", *S3, "--dry-run")  # fmt: skip
    assert isinstance(result.exception, ConfigError), result.output
    assert "production models only" in result.exception.headline


def test_an_unknown_environment_is_refused_with_the_choices(governed):
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--env", "qa",
                    *S3, "--dry-run")  # fmt: skip
    assert result.exit_code == 2
    for name in ("dev", "staging", "prod"):
        assert name in result.output
