"""Every overlay builds, and every document validates strictly (the script does both)."""

from __future__ import annotations

import copy

import pytest

from ._manifests import KUSTOMIZE, OVERLAYS, built, find, script

TARGETS = ("base", *(f"overlays/{c}" for c in OVERLAYS), "../../examples/chaos-testing")


@pytest.mark.parametrize("target", TARGETS)
def test_every_document_validates_strictly(target: str, crd_schemas: object) -> None:
    # GIVEN the built target WHEN each document is checked THEN nothing is wrong
    docs = built(target)
    problems = [f"{script().ident(d)} {m}" for d in docs for m in script().errors(d)]
    assert problems == []
    assert len(docs) >= (6 if target.endswith("chaos-testing") else 60)


def test_the_script_passes_end_to_end(crd_schemas: object) -> None:
    assert script().main() == 0


def test_a_misplaced_field_fails_the_schema(crd_schemas: object) -> None:
    # GIVEN a valid ScaledObject with a typo WHEN validated THEN the strict schema rejects it
    doc = copy.deepcopy(find(built("base"), "ScaledObject")[0])
    doc["spec"]["minReplicas"] = 1
    assert any("minReplicas" in m for m in script().errors(doc))


def test_a_custom_kind_without_a_schema_fails(crd_schemas: object) -> None:
    doc = {"apiVersion": "kyverno.io/v2", "kind": "GeneratingPolicy", "metadata": {"name": "x"}}
    assert any("no schema" in m for m in script().errors(doc))


def test_a_core_kind_without_checks_fails() -> None:
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "y"}}
    assert any("no checks" in m for m in script().errors(doc))


def test_core_checks_catch_a_bad_network_policy() -> None:
    doc = copy.deepcopy(find(built("base"), "NetworkPolicy")[0])
    doc["spec"]["policyTypes"] = ["Inbound"]
    doc["metadata"]["labels"]["tier"] = 1
    messages = list(script().errors(doc))
    assert any("Inbound" in m for m in messages)
    assert any("must be a string" in m for m in messages)


# Objects only one cloud needs: the AKS KEDA add-on's operator has no chart to create its
# monitor (on aws and gcp the keda chart does).
CLOUD_ONLY = {"azure": {"PodMonitor/monitoring/keda-operator"}}


def test_overlays_carry_only_the_delta() -> None:
    # GIVEN the overlays WHEN compared with base THEN the same objects, differing only where
    # a cloud must (identity annotations, node selectors, Application paths, CLOUD_ONLY)
    base = {script().ident(d) for d in built("base")}
    for cloud in OVERLAYS:
        extra = CLOUD_ONLY.get(cloud, set())
        assert {script().ident(d) for d in built(f"overlays/{cloud}")} == base | extra
        files = [p for p in (KUSTOMIZE / "overlays" / cloud).rglob("*.yaml")]
        assert all(p.name == "kustomization.yaml" or p.name.count(".") == 2 for p in files)


@pytest.mark.parametrize("cloud", OVERLAYS)
def test_application_paths_exist_and_name_the_cloud(cloud: str) -> None:
    apps = find(built(f"overlays/{cloud}"), "Application")
    assert {a["metadata"]["name"] for a in apps} >= {
        "mlplatform", "namespaces", "security", "governance", "monitoring", "autoscaling",
        "models",
    }  # fmt: skip
    for app in apps:
        path = app["spec"]["source"]["path"]
        assert "CLOUD" not in path
        assert (KUSTOMIZE.parents[1] / path / "kustomization.yaml").is_file(), path
        assert "/overlays/" not in path or f"/overlays/{cloud}/" in path


def test_sync_waves_follow_dependencies() -> None:
    apps = {a["metadata"]["name"]: a for a in find(built("overlays/aws"), "Application")}
    wave = {n: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
            for n, a in apps.items()}  # fmt: skip
    assert wave["namespaces"] < wave["security"] <= wave["governance"] < wave["models"]
    assert wave["security"] < wave["monitoring"]
    assert wave["security"] < wave["autoscaling"]
    for name, app in apps.items():
        automated = app["spec"]["syncPolicy"]["automated"]
        assert automated["selfHeal"] is True
        # never prune what deletes data: namespaces and model deployments
        assert automated["prune"] is (name not in ("namespaces", "models"))


def test_a_typo_in_a_core_kind_fails_the_builtin_schema() -> None:
    # GIVEN the placeholder Deployment with a misspelt container field WHEN validated THEN
    # the strict Kubernetes schema (kubernetes-validate, offline) names the unknown field
    doc = copy.deepcopy(find(built("base"), "Deployment")[0])
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    messages = list(script().builtin_schema_errors(doc))
    assert any("imagePullPolcy" in m for m in messages), messages
    assert {v for v in script().K8S_VERSIONS if any(v in m for m in messages)} == set(
        script().K8S_VERSIONS
    )


def test_an_unknown_field_in_a_core_kind_fails_the_builtin_schema() -> None:
    doc = copy.deepcopy(find(built("base"), "ResourceQuota")[0])
    doc["spec"]["scopeSelektor"] = {}
    assert any("scopeSelektor" in m for m in script().errors(doc))


def test_a_wrong_type_in_a_core_kind_fails_the_builtin_schema() -> None:
    doc = copy.deepcopy(find(built("base"), "PriorityClass")[0])
    doc["value"] = "-10"
    assert any(m.startswith(".value:") for m in script().builtin_schema_errors(doc))


def test_core_documents_pass_the_builtin_schema() -> None:
    core = [d for d in built("overlays/aws") if script().is_core(d)]
    assert len(core) >= 30
    assert [m for d in core for m in script().builtin_schema_errors(d)] == []
