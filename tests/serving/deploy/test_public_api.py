"""The deploy package's public API is declared and pinned."""

from __future__ import annotations

import mlplatform.serving.deploy as deploy


def test_public_api_is_pinned():
    assert sorted(deploy.__all__) == sorted(
        [
            "CLOUDS",
            "Applier",
            "DeployOptions",
            "DeploySpec",
            "KubernetesApplier",
            "ObjectRef",
            "Resources",
            "VariantSpec",
            "apply_all",
            "parse_storage_uris",
            "planned",
            "prune",
            "render",
            "resolve",
            "samples_store",
            "service_name",
            "storage_uri",
            "to_json",
            "to_yaml",
            "undeploy",
        ]
    )
    assert all(hasattr(deploy, name) for name in deploy.__all__)


def test_clouds_are_the_three_the_platform_supports():
    assert sorted(deploy.CLOUDS) == ["aws", "azure", "gcp"]
