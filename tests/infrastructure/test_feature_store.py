"""The Feast feature server in the cluster (issue 18): pinned chart, config, PSA, policies, network.

GIVEN the feast-feature-server release (helm/versions.yaml), its values (helm/common), the
feature_store.yaml modules/platform encodes, the platform-config ExternalSecret and the built
overlays WHEN each is read the way its consumer reads it (Feast's own RepoConfig, the restricted
profile, the Kyverno policies' parameters, the NetworkPolicy evaluator, the ServiceMonitor's
selector against the Service the chart renders) THEN the server would run, be reachable only by
its clients and be scraped. No cluster and no chart download: the chart's templates at 0.66.0
are transcribed where a test needs them (``_service``), with file and tag.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from feast.repo_config import RepoConfig

from ._tree import CLOUDS, HELM, catalog, releases_on
from .behaviour._network import Endpoint, allowed, selects
from .behaviour._psa import levels, violations
from .behaviour._rendered import all_docs, values, workloads
from .kubernetes import _policies as P
from .kubernetes._manifests import built, find, one, script

RELEASE = "feast-feature-server"
CONFIG = HELM / "files" / RELEASE / "feature_store.yaml"
SECRETS = HELM / "charts" / "platform-config" / "templates" / "secrets.yaml"
Doc = dict[str, Any]


def _values(cloud: str = "aws") -> Doc:
    return values(RELEASE, cloud)


def _server(cloud: str) -> Any:
    (found,) = [w for w in workloads(cloud) if w.source == f"helm values {RELEASE}"]
    return found


def _service(vals: Doc) -> Doc:
    """The Service the chart renders (feast-dev/feast v0.66.0,
    infra/charts/feast-feature-server/templates/service.yaml and _helpers.tpl): labels are the
    selector labels (name = nameOverride or the chart name, instance = the release name), port
    "http" -> the mode's container port, and "metrics" 8000 when metrics.enabled."""
    labels = {
        "app.kubernetes.io/name": vals.get("nameOverride") or RELEASE,
        "app.kubernetes.io/instance": RELEASE,  # modules/platform names the release by its key
    }
    ports = [{"name": "http", "port": vals["service"]["port"], "targetPort": vals["feast_mode"]}]
    if vals["metrics"]["enabled"]:
        ports.append({"name": "metrics", "port": 8000, "targetPort": 8000})
    meta = {"name": vals.get("fullnameOverride", RELEASE), "namespace": "feast", "labels": labels}
    return {"kind": "Service", "metadata": meta, "spec": {"ports": ports, "selector": labels}}


# ---- pinned, and placed after its Secret ---------------------------------------------------
def test_the_chart_is_pinned_on_every_cloud_after_its_secret() -> None:
    chart = catalog()[RELEASE]
    assert chart["repository"] == "https://feast-helm-charts.storage.googleapis.com"
    assert (chart["chart"], chart["version"], chart["namespace"]) == (RELEASE, "0.66.0", "feast")
    assert chart["wave"] > catalog()["platform-config"]["wave"]  # the ExternalSecret's chart
    assert all(RELEASE in releases_on(cloud) for cloud in CLOUDS)


def test_the_server_runs_the_sdk_version_of_the_project() -> None:
    # the SDK writes the registry the server reads: same Feast version (pyproject pins 0.67.0)
    from importlib.metadata import version

    image = _values()["image"]
    assert image["repository"] == "quay.io/feastdev/feature-server"
    assert image["tag"] == version("feast")


def test_modules_platform_encodes_the_config_file() -> None:
    tf = (HELM.parent / "terraform" / "modules" / "platform" / "values.tf").read_text()
    assert f'"${{local.helm_dir}}/files/{RELEASE}/feature_store.yaml"' in tf
    assert "feature_store_yaml_base64 = base64encode(file(" in tf


# ---- the configuration Feast loads ---------------------------------------------------------
def _env_names() -> set[str]:
    code = re.sub(r"(?m)^\s*#.*$", "", CONFIG.read_text())
    return set(re.findall(r"\$\{(\w+)\}", code))


def _external_secret() -> Doc:
    """platform-config's feast-database ExternalSecret, each template action replaced by a
    placeholder string (no helm here), the way test_cel_rules reads the Karpenter template."""
    part = next(p for p in SECRETS.read_text().split("\n---") if "name: feast-database" in p)
    part = part.replace('{{ "{{ .password }}" | quote }}', "'{{ .password }}'")
    part = re.sub(r"(?m)^\s*\{\{-.*?\}\}\s*$", "", part, flags=re.DOTALL)
    part = re.sub(r"\{\{ [^{}]*? \}\}", "placeholder", part)
    doc: Doc = yaml.safe_load(part)
    return doc


def _loaded(env: dict[str, str]) -> RepoConfig:
    """As Feast loads it: os.path.expandvars, then RepoConfig (feast/repo_config.py)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        raw = yaml.safe_load(os.path.expandvars(CONFIG.read_text()))
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return RepoConfig(**raw)


def test_feast_accepts_the_cluster_config() -> None:
    env = {
        "FEAST_DB_HOST": "db.example.internal",
        "FEAST_DB_PORT": "5432",
        "FEAST_DB_NAME": "mlflow",
        "FEAST_DB_USER": "mlflow",
        "FEAST_DB_PASSWORD": "s3cret",
    }
    assert _env_names() == set(env)
    config = _loaded(env)
    assert config.project == "mlplatform"
    assert config.online_store.type == "postgres"
    assert config.online_store.host == "db.example.internal"
    assert config.online_store.db_schema == "feast"
    assert config.online_store.sslmode == "require"
    assert config.registry.registry_type == "sql"
    assert config.registry.path.startswith(
        "postgresql+psycopg://mlflow:s3cret@db.example.internal:"
    )
    assert config.offline_store.type == "dask"


def test_no_secret_is_in_the_config_or_the_values() -> None:
    assert "password: ${FEAST_DB_PASSWORD}" in CONFIG.read_text()
    assert all(set(e) == {"name", "valueFrom"} for e in _values()["extraEnvs"])


def test_every_variable_comes_from_the_feast_database_secret() -> None:
    # GIVEN the chart's env WHEN each ${VAR} of the config is looked up THEN it reads a key of
    # the Secret that platform-config's ExternalSecret writes (its template's keys)
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in _values()["extraEnvs"]}
    assert set(env) == _env_names()
    secret = _external_secret()
    keys = set(secret["spec"]["target"]["template"]["data"])
    assert secret["metadata"]["namespace"] == catalog()[RELEASE]["namespace"]
    for ref in env.values():
        assert ref["name"] == secret["spec"]["target"]["name"]
        assert ref["key"] in keys, ref
    assert "feast-database" in SECRETS.read_text()


def test_the_external_secret_validates_strictly(crd_schemas: Path) -> None:
    secret = _external_secret()
    assert secret["spec"]["data"][0]["remoteRef"]["key"] == "placeholder"
    assert list(script().errors(secret)) == []


def test_the_registry_shares_no_table_with_mlflow() -> None:
    # the SQL registry's tables live in the default schema of MLflow's database
    # importing the model modules registers MLflow's tables on Base.metadata
    import mlflow.store.model_registry.dbmodels.models
    import mlflow.store.tracking.dbmodels.models
    from feast.infra.registry import sql as feast_sql
    from mlflow.store.db.base_sql_model import Base

    assert mlflow.store.model_registry.dbmodels.models.SqlRegisteredModel
    assert mlflow.store.tracking.dbmodels.models.SqlExperiment

    feast_tables = set(feast_sql.metadata.tables)
    assert {"projects", "feature_views", "entities"} <= feast_tables
    assert feast_tables & set(Base.metadata.tables) == set()


# ---- Pod Security and Kyverno ----------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_server_pod_meets_its_namespace_level(cloud: str) -> None:
    namespaces = levels(find(built(f"overlays/{cloud}"), "Namespace"))
    server = _server(cloud)
    assert server.namespace == "feast"
    assert namespaces["feast"] == "restricted"
    assert violations("restricted", server.pod_spec) == []


def test_the_restricted_check_can_fail_for_this_pod() -> None:
    spec = json.loads(json.dumps(_server("aws").pod_spec))
    spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert violations("restricted", spec) != []


def test_the_root_file_system_is_read_only_with_a_writable_tmp() -> None:
    # Feast writes the decoded feature_store.yaml to tempfile.mkdtemp() (repo_operations.py)
    vals = _values()
    assert vals["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in vals["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in vals["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def _pod(cloud: str) -> Doc:
    server, vals = _server(cloud), _values(cloud)
    spec = json.loads(json.dumps(server.pod_spec))
    image = vals["image"]
    spec["containers"][0]["image"] = f"{image['repository']}:{image['tag']}"
    meta = {"name": "feast-feature-server-x", "namespace": "feast", "labels": dict(server.labels)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("require-resource-limits", P.require_resource_limits),
        ("disallow-latest-tag", P.disallow_latest_tag),
        ("restrict-image-registries", P.restrict_image_registries),
    ],
)
def test_the_kyverno_policies_police_and_admit_the_server(name: str, check: Any) -> None:
    policy = one(built("base"), "ValidatingPolicy", name)
    pod = _pod("aws")
    assert P.in_scope(policy, pod)
    assert check(policy, pod) == []
    pod["spec"]["containers"][0]["image"] = "docker.io/someone/feature-server:latest"
    pod["spec"]["containers"][0]["resources"] = {}
    assert check(policy, pod) != []  # the same check refuses a bad pod


# ---- network -----------------------------------------------------------------------------
def _endpoint(cloud: str) -> Endpoint:
    s = _server(cloud)
    ports = tuple(
        (p["name"], p["containerPort"], "TCP") for p in s.pod_spec["containers"][0]["ports"]
    )
    # the chart's container declares only "online"; the metrics exporter listens on 8000
    return Endpoint("feature server", s.namespace, dict(s.labels), (*ports, ("", 8000, "TCP")))


def _named(cloud: str, source: str, name: str) -> Endpoint:
    w = next(w for w in workloads(cloud) if w.source.startswith(source) and name in w.name)
    return Endpoint(w.ident, w.namespace, dict(w.labels))


def _ns(cloud: str) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["metadata"].get("labels", {})
            for d in find(built(f"overlays/{cloud}"), "Namespace")}  # fmt: skip


def _policies(cloud: str) -> list[Doc]:
    return [d for d in all_docs(cloud) if d["kind"] == "NetworkPolicy"]


POSTGRES = Endpoint("managed PostgreSQL", ip="10.20.0.5")
BUCKET = Endpoint("object store", ip="52.216.8.1")
INTERNET = Endpoint("the internet", ip="203.0.113.7")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_clients_reach_the_server_and_the_server_reaches_its_stores(cloud: str) -> None:
    server, ns, pols = _endpoint(cloud), _ns(cloud), _policies(cloud)
    needed = [
        ("a predictor fetches features", _named(cloud, "mlp deploy model", "predictor"), server,
         6566),
        ("a notebook fetches features", Endpoint("notebook", "mlops", {"app": "nb"}), server, 6566),
        ("Prometheus scrapes the server",
         _named(cloud, "helm values kube-prometheus-stack", "prometheus"), server, 8000),
        ("the server reads the online store and registry", server, POSTGRES, 5432),
        ("the server reads the bucket", server, BUCKET, 443),
    ]  # fmt: skip
    assert [why for why, s, d, p in needed if not allowed(pols, s, d, p, namespaces=ns)] == []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_other_flows_to_and_from_the_server_are_denied(cloud: str) -> None:
    server, ns, pols = _endpoint(cloud), _ns(cloud), _policies(cloud)
    denied = [
        ("a pipeline step calls the server", _named(cloud, "argo compiler", "step-train"), server,
         6566),
        ("a pod without policies calls the server", Endpoint("x", "default", {"a": "b"}), server,
         6566),
        ("the gateway calls the server (not published)",
         Endpoint("envoy", "envoy-gateway-system", {"app.kubernetes.io/name": "envoy"}), server,
         6566),
        ("a predictor reads the metrics port", _named(cloud, "mlp deploy model", "predictor"),
         server, 8000),
        ("the server opens SSH to the internet", server, INTERNET, 22),
        ("the server calls MLflow", server, _named(cloud, "helm values mlflow", "mlflow"), 5000),
    ]  # fmt: skip
    assert [why for why, s, d, p in denied if allowed(pols, s, d, p, namespaces=ns)] == []


# ---- monitoring ----------------------------------------------------------------------------
def test_the_service_monitor_selects_the_chart_service_on_its_metrics_port() -> None:
    monitor = one(built("base"), "ServiceMonitor", RELEASE)
    service = _service(_values())
    spec = monitor["spec"]
    assert spec["namespaceSelector"]["matchNames"] == [catalog()[RELEASE]["namespace"]]
    assert selects(spec["selector"], service["metadata"]["labels"])
    ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
    assert [e["port"] for e in spec["endpoints"]] == ["metrics"]
    assert ports["metrics"] == 8000
    # and the Service's selector picks the pod the chart renders
    assert selects({"matchLabels": service["spec"]["selector"]}, _server("aws").labels)


def test_without_metrics_the_monitor_would_find_no_port() -> None:
    vals = json.loads(json.dumps(_values()))
    vals["metrics"]["enabled"] = False
    assert "metrics" not in {p["name"] for p in _service(vals)["spec"]["ports"]}


def test_the_service_monitor_validates_strictly(crd_schemas: Path) -> None:
    assert list(script().errors(one(built("base"), "ServiceMonitor", RELEASE))) == []


# ---- why the chart and not the operator (ADR draft) ----------------------------------------
def test_the_operator_cr_cannot_ask_for_a_restricted_container(crd_schemas: Path) -> None:
    # GIVEN the vendored FeatureStore schema (feast v0.66.0) WHEN its server settings are read
    # THEN a pod-level securityContext exists but no container-level one: allowPrivilegeEscalation
    # and capabilities (restricted asks for both per container) cannot be set through the CR,
    # and the operator sets none itself (internal/controller/services/services.go, v0.66.0)
    schema = json.loads((crd_schemas / "feast.dev" / "featurestore_v1.json").read_text())
    services = schema["properties"]["spec"]["properties"]["services"]["properties"]
    pod_level = services["securityContext"]["properties"]
    assert "runAsNonRoot" in pod_level
    assert "allowPrivilegeEscalation" not in pod_level
    server = services["onlineStore"]["properties"]["server"]["properties"]
    assert "securityContext" not in server
