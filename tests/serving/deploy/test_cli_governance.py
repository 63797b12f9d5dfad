"""`mlp deploy model --stage production` takes its approval from the registry, refuses what
the rules do not allow (nothing written, a `refused` audit record), and an applied deploy or
an undeploy is recorded in the audit log; printing records nothing.

A real MLflow registry (SQLite) and the project's real audit log; the cluster is the
in-memory stand-in of ``_cluster.py`` (no API server runs here).
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from mlplatform.errors import PromotionRejectedError
from mlplatform.governance.audit import records
from mlplatform.serving.deploy import KubernetesApplier
from mlplatform.settings import load_settings
from mlplatform.workspace import Workspace

from ._cluster import FakeCluster
from .conftest import APPROVED, MODEL
from .test_cli import S3, make_app


def deploy(uri: str, *args: str):
    return CliRunner().invoke(make_app(), ["--tracking-uri", uri, "deploy", "model", *args])


def audit(uri: str) -> list:
    ws = Workspace(load_settings(tracking_uri=uri))
    return records(store_root=ws.store.root, storage_options=ws.store.storage_options, model=MODEL)


def test_production_carries_the_registry_approval_and_printing_records_nothing(governed):
    # GIVEN champion (v1) approved by bob in the registry WHEN printed for production
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--stage", "production",
                    *S3, "--dry-run")  # fmt: skip
    # THEN the approval, author, semver and owner are the registry's
    assert result.exit_code == 0, result.output
    isvc = list(yaml.safe_load_all(result.stdout))[1]
    annotations, labels = isvc["metadata"]["annotations"], isvc["metadata"]["labels"]
    assert annotations["mlplatform.io/approved-by"] == "bob"
    assert annotations["mlplatform.io/approval-ticket"] == "MLOPS-7"
    assert annotations["mlplatform.io/approved-at"] == APPROVED.at
    assert annotations["mlplatform.io/author"] == "alice"
    assert (labels["mlplatform.io/model-version"], labels["mlplatform.io/owner"]) == (
        "1.1.0",
        "churn-team",
    )
    # AND nothing was recorded: printing is not deploying
    assert audit(governed) == []


def test_the_approval_flags_are_gone(governed):
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--approved-by", "me",
                    *S3, "--dry-run")  # fmt: skip
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_an_unapproved_version_is_refused_nothing_is_written_and_the_refusal_is_recorded(
    governed, project
):
    # GIVEN challenger (v2): governed, not approved WHEN deployed to production into a file
    out = project / "out.yaml"
    result = deploy(governed, f"{MODEL}@challenger", "--cloud", "aws", "--stage", "production",
                    *S3, "-o", str(out))  # fmt: skip
    # THEN it is refused, naming the rule, and nothing was written
    assert result.exit_code == 1
    assert isinstance(result.exception, PromotionRejectedError), result.output
    assert "production.approval" in result.exception.headline
    assert "nothing was written or applied" in result.exception.hint.lower()
    assert not out.exists()
    # AND the refusal is in the audit log, by the settings' user
    (record,) = audit(governed)
    assert (record.what, record.version, record.who) == ("refused", "2", load_settings().user)
    assert "production.approval" in (record.note or "")


def test_a_canary_that_is_not_approved_refuses_the_production_deploy(governed):
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--stage", "production",
                    "--canary", "challenger=10", *S3, "--storage-uri",
                    "challenger=s3://models/churn/2", "--dry-run")  # fmt: skip
    assert isinstance(result.exception, PromotionRejectedError), result.output
    assert "churn-model v2" in (result.exception.details or "")
    assert [r.what for r in audit(governed)] == ["refused"]


def test_an_ungoverned_version_is_refused_with_every_missing_rule(registry, project):
    # GIVEN the plain registry: nothing governed on v1
    result = deploy(registry, f"{MODEL}@champion", "--cloud", "aws", "--stage", "production",
                    *S3, "--dry-run")  # fmt: skip
    assert isinstance(result.exception, PromotionRejectedError), result.output
    for rule in ("metadata.semver", "production.gate", "production.approval"):
        assert rule in result.exception.headline


@pytest.fixture
def cluster(monkeypatch):
    """The in-memory cluster every KubernetesApplier the CLI makes talks to."""
    fake = FakeCluster()

    def applier(context=None):
        return KubernetesApplier(context, client=fake)

    monkeypatch.setattr("mlplatform.serving.deploy.KubernetesApplier", applier)
    return fake


def test_applying_records_a_deploy_and_undeploy_records_what_it_deleted(governed, cluster):
    # WHEN champion is applied to production
    result = deploy(governed, f"{MODEL}@champion", "--cloud", "aws", "--stage", "production",
                    "--namespace", "models", *S3)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "InferenceService" in " ".join(cluster.names())
    # THEN one deploy record says what now serves, where
    (record,) = audit(governed)
    assert (record.what, record.version) == ("deploy", "1")
    assert record.after == {
        "model": MODEL,
        "stage": "production",
        "namespace": "models",
        "version": 1,
        "semver": "1.1.0",
        "canaries": [],
    }
    # WHEN it is undeployed: a plan first (nothing recorded), then --yes
    undeploy = ["--tracking-uri", governed, "undeploy", "model", MODEL, "--namespace", "models"]
    assert CliRunner().invoke(make_app(), undeploy).exit_code == 0
    assert len(audit(governed)) == 1
    done = CliRunner().invoke(make_app(), [*undeploy, "--yes"])
    assert done.exit_code == 0, done.output
    last = audit(governed)[-1]
    assert (last.what, last.before["namespace"]) == ("undeploy", "models")
    assert any(o.startswith("InferenceService/models/") for o in last.before["objects"])
