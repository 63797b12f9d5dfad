"""The platform's Helm releases: one versions file, values layered common -> cloud delta.

GIVEN helm/versions.yaml, the values folders and modules/platform WHEN they are read THEN every
chart is pinned exactly in that one file, every release's values exist and lint clean, the
one helm_release resource takes repository/chart/version/namespace from it, and each cloud
gets the components of the design."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from ._tree import CLOUDS, HELM, INFRA, TERRAFORM, catalog, first, module, modules, releases_on

EXACT_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")
FIELDS = {"repository", "chart", "version", "namespace", "clouds", "wave"}
LOCAL_CHARTS = HELM / "charts"

# The design's component table (DESIGN.md, issue 7): release names per cloud.
EVERY_CLOUD = {
    "envoy-gateway",
    "cert-manager",
    "argo-cd",
    "kserve-crd",
    "kserve",
    "mlflow",
    "feast-feature-server",
    "argo-workflows",
    "kube-prometheus-stack",
    "loki",
    "tempo",
    "opentelemetry-collector",
    "external-secrets",
    "kyverno",
    "tetragon",
    "chaos-mesh",
    "minio",
    "platform-config",
    "keda-add-ons-http",
    # what LLMInferenceService needs (issue 15)
    "inference-extension-crds",
    "kserve-llmisvc-crd",
    "kserve-llmisvc",
    "kserve-runtime-configs",
    "lws",
    "body-based-routing",
    # logs, GPU metrics and cost in the cluster (issue 19)
    "opentelemetry-collector-agent",
    "dcgm-exporter",
    "opencost",
}
PER_CLOUD = {
    "aws": EVERY_CLOUD
    | {"keda", "karpenter", "aws-load-balancer-controller", "nvidia-device-plugin"},
    "azure": EVERY_CLOUD | {"nvidia-device-plugin"},
    "gcp": EVERY_CLOUD | {"keda"},
}

YAMLLINT_CONFIG = HELM / ".yamllint.yaml"
YAMLLINT = YamlLintConfig(file=str(YAMLLINT_CONFIG))


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_chart_is_pinned_with_all_fields(name: str) -> None:
    chart = catalog()[name]
    assert set(chart) >= FIELDS, f"{name}: missing {FIELDS - set(chart)}"
    assert EXACT_CHART_VERSION.match(str(chart["version"])), (
        f"{name}: {chart['version']!r} is not exact"
    )
    assert str(chart["repository"]).startswith(("https://", "oci://")) or chart["repository"] == ""
    assert set(chart["clouds"]) <= set(CLOUDS)
    assert chart["clouds"]
    assert chart["wave"] in (0, 1, 2, 3)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_cloud_installs_the_design_components(cloud: str) -> None:
    assert set(releases_on(cloud)) == PER_CLOUD[cloud]


def test_keda_is_the_aks_add_on_not_a_chart_on_azure() -> None:
    assert "keda" not in releases_on("azure")
    cluster = module("modules/aks").resources()[("azurerm_kubernetes_cluster", "this")]
    assert first(cluster["workload_autoscaler_profile"])["keda_enabled"] is True


def test_loki_and_tempo_come_from_grafana_community() -> None:
    for name in ("loki", "tempo"):
        assert catalog()[name]["repository"] == "https://grafana-community.github.io/helm-charts"


def test_no_retired_ingress_nginx_anywhere() -> None:
    """ingress-nginx was retired in March 2026 (ADR 0007): no chart, class or annotation of it."""
    assert not any("nginx" in chart["chart"] for chart in catalog().values())
    for path in INFRA.rglob("*"):
        if path.is_file() and path.suffix in {".tf", ".yaml", ".tpl"}:
            code = re.sub(r"(?m)#.*$", "", path.read_text())
            assert "ingress-nginx" not in code, path
            assert "nginx.ingress.kubernetes.io" not in code, path


def test_minio_is_optional_and_off_by_default() -> None:
    assert catalog()["minio"].get("optional") is True
    variables = module("modules/platform").variables()
    assert variables["enable_minio"]["default"] is False


def test_kserve_runs_in_standard_mode_with_the_gateway_api() -> None:
    values = yaml.safe_load((HELM / "common" / "kserve.yaml").read_text())["kserve"]["controller"]
    assert values["deploymentMode"] == "Standard"
    assert values["gateway"]["ingressGateway"]["enableGatewayApi"] is True
    assert catalog()["kserve-crd"]["wave"] < catalog()["kserve"]["wave"]
    assert catalog()["cert-manager"]["wave"] < catalog()["kserve"]["wave"]


def test_crd_owners_install_before_their_users() -> None:
    waves = {name: chart["wave"] for name, chart in catalog().items()}
    assert waves["kube-prometheus-stack"] < waves["cert-manager"]  # ServiceMonitors
    assert waves["envoy-gateway"] < waves["platform-config"]  # Gateway, HTTPRoute
    assert waves["external-secrets"] < waves["platform-config"] < waves["mlflow"]  # DB secret
    assert waves["karpenter"] < waves["platform-config"]  # NodePools
    # LLMInferenceService: CRDs, then its controller (cert-manager Certificate), then presets
    assert waves["kserve-crd"] < waves["kserve-llmisvc-crd"]  # ClusterStorageContainer owner
    assert waves["inference-extension-crds"] < waves["kserve-llmisvc"]  # InferencePool
    assert waves["lws"] < waves["kserve-llmisvc"]  # LeaderWorkerSet
    assert waves["cert-manager"] < waves["kserve-llmisvc"]  # webhook Certificate
    assert waves["kserve-llmisvc"] < waves["kserve-runtime-configs"]  # preset webhook


def test_the_llm_controller_leaves_shared_objects_and_crds_to_their_one_owner() -> None:
    """kserve-llmisvc-resources would also create the inferenceservice-config ConfigMap, the
    Issuer and the ClusterStorageContainers (the kserve release's) and an RC copy of the
    Inference Extension CRDs: two releases cannot own one object, so it creates neither, and
    the inference-extension-crds chart holds every CRD it then skips (but the legacy
    x-k8s.io InferencePool, which its controller uses only when present)."""
    values = yaml.safe_load((HELM / "common" / "kserve-llmisvc.yaml").read_text())["kserve"]
    assert values["createSharedResources"] is False
    assert values["llmisvc"]["createGIECRDs"] is False
    chart = LOCAL_CHARTS / catalog()["inference-extension-crds"]["chart"] / "templates"
    crds = {yaml.safe_load(p.read_text())["metadata"]["name"]: p for p in chart.glob("*.yaml")}
    assert set(crds) >= {
        "inferencepools.inference.networking.k8s.io",
        "inferenceobjectives.llm-d.ai",
        "inferencemodelrewrites.llm-d.ai",
        "inferenceobjectives.inference.networking.x-k8s.io",
    }
    pool = yaml.safe_load(crds["inferencepools.inference.networking.k8s.io"].read_text())
    bundle = pool["metadata"]["annotations"]["inference.networking.k8s.io/bundle-version"]
    assert bundle == "v" + catalog()["inference-extension-crds"]["version"]
    assert catalog()["body-based-routing"]["version"] == bundle  # one GIE release


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_release_has_common_values(name: str) -> None:
    assert (HELM / "common" / f"{name}.yaml").is_file()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cloud_values_are_deltas_of_releases_on_that_cloud(cloud: str) -> None:
    stray = {path.stem for path in (HELM / cloud).glob("*.yaml")} - set(releases_on(cloud))
    assert not stray, f"helm/{cloud}: values for releases not installed there: {stray}"
    for path in (HELM / cloud).glob("*.yaml"):
        delta = yaml.safe_load(path.read_text())
        common = yaml.safe_load((HELM / "common" / path.name).read_text()) or {}
        assert delta, f"{path}: empty delta"
        assert delta != common, f"{path}: a delta must change something"


def _values_files() -> list[Path]:
    return sorted(
        [
            *HELM.glob("*.yaml"),
            *HELM.glob("*/*.yaml"),
            *(LOCAL_CHARTS / "platform-config").glob("*.yaml"),
            *LOCAL_CHARTS.glob("*/files/**/*.yaml"),
        ]
    )


@pytest.mark.parametrize("path", _values_files(), ids=lambda p: str(p.relative_to(HELM)))
def test_values_files_lint_clean(path: Path) -> None:
    assert not YAMLLINT.is_file_ignored(str(path.relative_to(HELM))), (
        f"{path} is excluded from yamllint"
    )
    problems = list(linter.run(path.read_text(), YAMLLINT, str(path)))
    assert not problems, "\n".join(
        f"{path}:{p.line}:{p.column} {p.desc} ({p.rule})" for p in problems
    )


def test_the_platform_module_reads_the_versions_file() -> None:
    text = module("modules/platform").text()
    assert 'yamldecode(file("${local.helm_dir}/versions.yaml"))' in text


def test_the_only_helm_release_takes_its_pins_from_the_versions_file() -> None:
    releases = [
        (m.name, key) for m in modules() for key in m.resources() if key[0] == "helm_release"
    ]
    assert releases == [("modules/platform/_release", ("helm_release", "this"))]
    body = module("modules/platform/_release").resources()[("helm_release", "this")]
    assert body["for_each"] == "${var.releases}"
    assert "each.value.repository" in body["repository"]
    assert "each.value.chart" in body["chart"]
    assert body["version"] == "${each.value.version}"
    assert body["namespace"] == "${each.value.namespace}"
    platform = module("modules/platform").text()
    for field in ("repository", "chart", "version", "namespace"):
        assert f"{field:<10} = chart.{field}" in platform, field


def test_no_chart_version_is_pinned_outside_the_versions_file() -> None:
    for mod in modules():
        text = mod.text()
        assert not re.search(r'\bchart\s*=\s*"[^"$]', text), f"{mod.name} names a chart literally"
        assert not re.search(r'\brepository\s*=\s*"https?://', text), (
            f"{mod.name} names a chart repository"
        )


def test_local_chart_versions_match_their_chart_yaml() -> None:
    for name, chart in catalog().items():
        if chart["repository"] == "":
            meta = yaml.safe_load((LOCAL_CHARTS / chart["chart"] / "Chart.yaml").read_text())
            assert meta["version"] == chart["version"], name


def test_platform_config_templates_have_balanced_actions() -> None:
    """No helm here to render: at least every block action is closed."""
    opening = re.compile(r"\{\{-?\s*(if|range|with|define)\b")
    closing = re.compile(r"\{\{-?\s*end\b")
    for path in (LOCAL_CHARTS / "platform-config" / "templates").glob("*"):
        text = path.read_text()
        assert text.count("{{") == text.count("}}"), path
        assert len(opening.findall(text)) == len(closing.findall(text)), path


def _nodepools() -> dict[str, dict]:
    folder = LOCAL_CHARTS / "platform-config" / "files" / "karpenter"
    return {
        doc["metadata"]["name"]: doc
        for doc in (yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml"))
    }


def test_karpenter_nodepools_validate_against_the_strict_schema(crd_schemas: Path) -> None:
    schema = json.loads((crd_schemas / "karpenter.sh" / "nodepool_v1.json").read_text())
    for name, doc in _nodepools().items():
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
        assert not errors, f"{name}: {errors[:5]}"


def test_karpenter_nodepools_are_the_design_ones_with_their_taints() -> None:
    pools = _nodepools()
    assert set(pools) == {"gpu-workloads", "training-workloads"}
    taints = {name: pool["spec"]["template"]["spec"]["taints"] for name, pool in pools.items()}
    assert taints["gpu-workloads"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    ]
    assert taints["training-workloads"] == [
        {"key": "workload", "value": "training", "effect": "NoSchedule"}
    ]
    assert pools["gpu-workloads"]["spec"]["limits"]["nvidia.com/gpu"]


def test_nodepool_names_match_what_the_argo_compiler_selects() -> None:
    """src/mlplatform/pipelines/argo/clouds.py selects pods onto these NodePools on EKS."""
    source = INFRA.parent / "src" / "mlplatform" / "pipelines" / "argo" / "clouds.py"
    if source.is_file():
        text = source.read_text()
        for name in _nodepools():
            assert name in text, f"the Argo compiler does not select NodePool {name}"


def test_values_generated_by_terraform_target_releases_that_exist() -> None:
    text = (TERRAFORM / "modules" / "platform" / "values.tf").read_text()
    block = text[text.index("generated_values = {") :]
    generated = set(re.findall(r"(?m)^    ([a-z0-9-]+) = ", block))
    assert generated
    assert generated <= set(catalog()), generated - set(catalog())
