"""Specs the render tests share: one realistic model, its two versions, each cloud's store."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlplatform.governance.check import Approval, VersionFacts
from mlplatform.serving.deploy import DeployOptions, DeploySpec, VariantSpec, storage_uri
from mlplatform.settings import CLUSTER_MLFLOW

DIGEST = "sha256:" + "0f" * 32
RUN_1 = "6a1f0c9d2b7e4c38a5d1e0f9b8c7a6d5"
RUN_2 = "b4e2d9c07f1a4e6b9c3d2e1f0a9b8c7d"
# Where each cloud's MLflow artifact store keeps a model version (what MLflow reports).
ARTIFACTS = {
    "aws": "s3://mlplatform-mlflow/1/models/m-{m}/artifacts",
    "azure": "abfss://mlflow@mlplatformartifacts.dfs.core.windows.net/1/models/m-{m}/artifacts",
    "gcp": "gs://mlplatform-mlflow/1/models/m-{m}/artifacts",
}


APPROVAL = Approval(1, "approved", "ada", "2026-08-01T10:00:00+00:00", "CHG-1042", "eval ok")


def governed(version: int = 3, **changes: Any) -> VersionFacts:
    """churn-model ``version`` as the registry records it: semver 1.<version>.0, owner
    ml-team, author alice, gate passed, approved by ada under CHG-1042."""
    base = VersionFacts(
        name="churn-model", version=version, semver=f"1.{version}.0", owner="ml-team",
        author="alice", run_id=RUN_1 if version == 3 else RUN_2, stage="production",
        gate="passed", approvals=(APPROVAL,),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def unapproved(version: int = 3) -> VersionFacts:
    """A governed version nobody approved."""
    return governed(version, approvals=(), stage="staging")


def options(cloud: str = "gcp", **changes: Any) -> DeployOptions:
    base = DeployOptions(
        cloud=cloud,
        image="ghcr.io/mlplatform/mlplatform:0.1.0",
        image_digest=DIGEST,
        owner="ml-team",
        hostname="{name}.models.example.com",
        tracking_uri=CLUSTER_MLFLOW,  # what `mlp deploy model` fills in
    )
    return dataclasses.replace(base, **changes)


def variant(cloud: str, version: int, **changes: Any) -> VariantSpec:
    location = ARTIFACTS[cloud].format(m=f"{version:032x}")
    run = RUN_1 if version == 3 else RUN_2
    base = VariantSpec(
        version, storage_uri(location, cloud), run, "1", "champion", facts=governed(version)
    )
    return dataclasses.replace(base, **changes)


def spec(
    cloud: str = "gcp",
    *,
    canary: int | None = None,
    facts: VersionFacts | str | None = "approved",
    **option_changes: Any,
) -> DeploySpec:
    """churn-model@champion (version 3), with challenger (version 4) at ``canary`` percent;
    ``facts``: the primary's registry facts ("approved": governed and approved)."""
    canaries = ()
    if canary is not None:
        canaries = (variant(cloud, 4, alias="challenger", percent=canary),)
    primary = variant(cloud, 3)
    if facts != "approved":
        primary = dataclasses.replace(primary, facts=facts)
    return DeploySpec("churn-model", primary, options(cloud, **option_changes), canaries)


def features_spec(cloud: str = "gcp", **changes: Any) -> DeploySpec:
    """``spec`` whose primary (not its canary) is tagged with feature service ``churn``."""
    base = spec(cloud, **changes)
    primary = dataclasses.replace(base.primary, feature_service="churn")
    return dataclasses.replace(base, primary=primary)
