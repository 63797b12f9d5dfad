"""The cluster's feature store reaches its clients: pipeline step pods and model-server pods.

GIVEN the platform-config chart's ConfigMap and ExternalSecret in the workflow and serving
namespaces (templates/feature-store-clients.yaml, the file modules/platform encodes), the Argo
compiler's step pods (the churn features example, compiled as the CLI compiles a project with a
feature repository) and `mlp deploy model`'s predictor for a version tagged with a feature
service WHEN each is read the way its consumer reads it (Feast's RepoConfig on the file as the
pod sees it, the kubelet resolving the pod's ConfigMap, Secret and keys in its namespace, the
restricted profile, the Kyverno policies, the NetworkPolicy evaluator) THEN the pods would open
the store, be admitted, and reach PostgreSQL, while pods without the feature store would not.
No cluster: what is verified only offline is listed in docs/features.md.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from feast.repo_config import RepoConfig

from mlplatform.features import CONFIG_ENV
from mlplatform.pipelines.argo import CompileOptions, compile_pipeline
from mlplatform.pipelines.discovery import discover
from mlplatform.serving.deploy import render

from ._tree import CLOUDS, HELM
from .behaviour._network import Endpoint, allowed
from .behaviour._psa import levels, violations
from .behaviour._rendered import all_docs, chart_docs
from .kubernetes import _policies as P
from .kubernetes._manifests import built, find, one, script

REPO = Path(__file__).resolve().parents[2]
CONFIG = HELM / "files" / "feast-feature-server" / "feature_store.yaml"
TEMPLATE = HELM / "charts" / "platform-config" / "templates" / "feature-store-clients.yaml"
VALUES_TF = HELM.parent / "terraform" / "modules" / "platform" / "values.tf"
NAME = "mlplatform-feature-store"
CLIENT_NAMESPACES = ("argo", "kserve")
POSTGRES = Endpoint("managed PostgreSQL", ip="10.20.0.5")
Doc = dict[str, Any]


# ---- what the chart renders ----------------------------------------------------------------
def _variables() -> set[str]:
    code = re.sub(r"(?m)^\s*#.*$", "", CONFIG.read_text())
    return set(re.findall(r"\$\{(\w+)\}", code))


def _external_secrets() -> list[Doc]:
    """The template's ExternalSecrets, each template action replaced by a placeholder (no
    helm here), namespaces filled in from the chart's values."""
    docs = []
    for part in TEMPLATE.read_text().split("\n---"):
        if "kind: ExternalSecret" not in part:
            continue
        part = part.replace('{{ "{{ .password }}" | quote }}', "'{{ .password }}'")
        part = part.replace("{{ .Values.pipelines.namespace }}", "argo")
        part = part.replace("{{ .Values.serving.namespace }}", "kserve")
        part = re.sub(r"(?m)^\s*\{\{-.*?\}\}\s*$", "", part, flags=re.DOTALL)
        part = re.sub(r"\{\{ [^{}]*? \}\}", "placeholder", part)
        docs.append(yaml.safe_load(part))
    return docs


def _config_maps(cloud: str = "aws") -> list[Doc]:
    return [
        d for d in chart_docs(cloud) if d["kind"] == "ConfigMap" and d["metadata"]["name"] == NAME
    ]


def test_each_client_namespace_gets_the_configmap_and_the_secret() -> None:
    assert sorted(d["metadata"]["namespace"] for d in _config_maps()) == list(CLIENT_NAMESPACES)
    secrets = _external_secrets()
    assert sorted(d["metadata"]["namespace"] for d in secrets) == list(CLIENT_NAMESPACES)
    assert {d["spec"]["target"]["name"] for d in secrets} == {NAME}


def test_modules_platform_passes_the_feature_servers_own_file() -> None:
    # the ConfigMap's content is the file the feature server loads, not a copy of it
    tf = VALUES_TF.read_text()
    block = tf[tf.index("platform-config = {") :]
    line = next(ln for ln in block.splitlines() if "featureStore" in ln)
    assert 'configBase64 = base64encode(file("${local.helm_dir}/files/feast-feature-server/' in line
    assert "feature_store.yaml" in line


def _rendered_config_map() -> Doc:
    """The ConfigMap as helm renders it with Terraform's value (base64 of the file)."""
    (doc,) = [d for d in _config_maps() if d["metadata"]["namespace"] == "argo"]
    encoded = base64.b64encode(CONFIG.read_bytes()).decode()
    return {**doc, "binaryData": {k: encoded for k in doc["binaryData"]}}


def test_the_configmap_holds_the_file_and_validates_strictly(crd_schemas: Path) -> None:
    doc = _rendered_config_map()
    assert base64.b64decode(doc["binaryData"]["feature_store.yaml"]) == CONFIG.read_bytes()
    assert list(script().errors(doc)) == []
    assert list(script().errors({**doc, "binaryDta": doc["binaryData"]}))  # strict: can fail


def test_the_secrets_keys_are_exactly_the_files_variables() -> None:
    for secret in _external_secrets():
        assert set(secret["spec"]["target"]["template"]["data"]) == _variables()
        # the password comes from the cloud secret store, as MLflow's and the server's do
        assert secret["spec"]["data"][0]["secretKey"] == "password"
    password = 'FEAST_DB_PASSWORD: {{ "{{ .password }}" | quote }}'
    assert TEMPLATE.read_text().count(password) == len(CLIENT_NAMESPACES)


def test_the_external_secrets_validate_strictly(crd_schemas: Path) -> None:
    for secret in _external_secrets():
        assert list(script().errors(secret)) == []


# ---- the pods: compiled steps and a rendered predictor --------------------------------------
def _step_pods(cloud: str, feature_store: str | None = CONFIG_ENV) -> dict[str, Doc]:
    """Each container template of the features example as the pod Argo makes of it."""
    with contextlib.chdir(REPO):
        pipe = discover(["examples/pipelines/churn/features_pipeline.py"])[
            "churn-features-training"
        ]
        options = CompileOptions(cloud=cloud, feature_store_env=feature_store)
        (workflow,) = compile_pipeline(pipe.graph, {}, options)
    spec = workflow["spec"]
    pods = {}
    for t in spec["templates"]:
        if "container" not in t:
            continue
        pod_spec = {
            "securityContext": spec["securityContext"],
            "serviceAccountName": spec["serviceAccountName"],
            "volumes": spec["volumes"],
            "containers": [{"name": "main", **t["container"]}],
        }
        labels = {**spec["podMetadata"]["labels"], **t["metadata"]["labels"]}
        meta = {"name": t["name"], "namespace": workflow["metadata"]["namespace"], "labels": labels}
        pods[t["name"]] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}
    return pods


def _predictor_pod(cloud: str, *, feature_service: str = "churn") -> Doc:
    """The predictor pod KServe makes of the rendered InferenceService: the runtime's container
    merged with the model's (env, envFrom, args, mounts by path), the volumes merged by name."""
    from serving.deploy._specs import features_spec, spec

    chosen = features_spec(cloud) if feature_service else spec(cloud)
    docs = render(chosen)
    runtime = next(d for d in docs if d["kind"] == "ServingRuntime")["spec"]
    isvc = next(d for d in docs if d["kind"] == "InferenceService")
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    container = dict(runtime["containers"][0])
    container["args"] = [*container["args"], *model.get("args", [])]
    for key in ("env", "envFrom", "resources", "securityContext"):
        if key in model:
            container[key] = model[key]
    container["volumeMounts"] = [*container["volumeMounts"], *model.get("volumeMounts", [])]
    pod_spec = {
        "securityContext": predictor["securityContext"],
        "serviceAccountName": predictor["serviceAccountName"],
        "volumes": [*runtime["volumes"], *predictor.get("volumes", [])],
        "containers": [container],
    }
    labels = {**predictor["labels"], "serving.kserve.io/inferenceservice": isvc["metadata"]["name"]}
    meta = {"name": "churn-model-predictor-x", "namespace": isvc["metadata"]["namespace"],
            "labels": labels}  # fmt: skip
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}


def _clients(cloud: str) -> dict[str, Doc]:
    steps = _step_pods(cloud)
    return {
        "historical_features step": steps["step-historical-features"],
        "materialize_features step": steps["step-materialize-features"],
        "predictor of a tagged version": _predictor_pod(cloud),
    }


def _what_the_kubelet_gives(pod: Doc) -> tuple[Path, dict[str, str]]:
    """The file the container reads (mount + ConfigMap item) and the variables it gets from
    the Secret, resolved against the objects the chart renders in the pod's namespace."""
    namespace = pod["metadata"]["namespace"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    path = Path(env[CONFIG_ENV])
    (mount,) = [m for m in container["volumeMounts"] if path.is_relative_to(m["mountPath"])]
    assert mount.get("readOnly") is True
    source = volumes[mount["name"]]["configMap"]
    (config_map,) = [d for d in _config_maps() if d["metadata"]["namespace"] == namespace]
    assert source["name"] == config_map["metadata"]["name"]
    items = {i["path"]: i["key"] for i in source["items"]}
    assert items[str(path.relative_to(mount["mountPath"]))] in config_map["binaryData"]
    variables: dict[str, str] = {}
    for ref in container.get("envFrom", []):
        (secret,) = [s for s in _external_secrets()
                     if s["metadata"]["namespace"] == namespace
                     and s["spec"]["target"]["name"] == ref["secretRef"]["name"]]  # fmt: skip
        variables.update({k: f"<{k}>" for k in secret["spec"]["target"]["template"]["data"]})
    return path, variables


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_client_finds_the_file_and_every_variable_in_its_namespace(cloud: str) -> None:
    for why, pod in _clients(cloud).items():
        _, variables = _what_the_kubelet_gives(pod)
        assert _variables() <= set(variables), why


def test_feast_opens_the_config_as_a_pod_sees_it() -> None:
    # GIVEN the variables a pod gets WHEN the file is expanded as store_from_environ expands it
    _, variables = _what_the_kubelet_gives(_clients("aws")["historical_features step"])
    env = {**variables, "FEAST_DB_PORT": "5432"}
    text = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), m.group(0)), CONFIG.read_text())
    config = RepoConfig(**yaml.safe_load(text))
    # THEN Feast takes it: the online store and the registry on the database, offline dask
    assert config.online_store.type == "postgres"
    assert config.online_store.host == "<FEAST_DB_HOST>"
    assert config.registry.registry_type == "sql"
    assert config.offline_store.type == "dask"


def test_only_the_feature_store_pods_get_it() -> None:
    # every step of a project with a feature repository (the store's steps cannot be told
    # apart at compile time), no step of a project without one, and only tagged predictors
    assert all("envFrom" in p["spec"]["containers"][0] for p in _step_pods("aws").values())
    steps = _step_pods("aws", feature_store=None)
    assert not any("envFrom" in p["spec"]["containers"][0] for p in steps.values())
    assert not any(len(p["spec"]["volumes"]) > 1 for p in steps.values())
    untagged = _predictor_pod("aws", feature_service="")
    (container,) = untagged["spec"]["containers"]
    assert "envFrom" not in container
    assert all(v["name"] != "feature-store" for v in untagged["spec"]["volumes"])
    assert "--feature-service" not in container["args"]
    tagged = _predictor_pod("aws")["spec"]["containers"][0]["args"]
    assert tagged[tagged.index("--feature-service") + 1] == "churn"


def test_without_a_feature_repository_steps_get_no_feature_store(tmp_path: Path) -> None:
    from mlplatform.settings import Settings
    from mlplatform.workspace import Workspace

    with_repo = Settings(features={"repo": tmp_path})
    without = Settings(features={"repo": tmp_path / "missing"})
    assert Workspace(with_repo).compile_options("aws").feature_store_env == CONFIG_ENV
    assert Workspace(without).compile_options("aws").feature_store_env is None


# ---- admission: Pod Security and Kyverno ---------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_clients_meet_their_namespaces_pod_security_level(cloud: str) -> None:
    # (a ConfigMap volume and envFrom are allowed at every level; the pods meet restricted
    # wherever their namespace enforces less)
    namespaces = levels(find(built(f"overlays/{cloud}"), "Namespace"))
    for why, pod in _clients(cloud).items():
        level = namespaces[pod["metadata"]["namespace"]]
        assert violations(level, pod["spec"]) == [], why
        assert violations("restricted", pod["spec"]) == [], why


def test_the_restricted_check_can_fail_for_a_client() -> None:
    pod = json.loads(json.dumps(_clients("aws")["predictor of a tagged version"]))
    pod["spec"]["volumes"].append({"name": "host", "hostPath": {"path": "/etc"}})
    assert violations("restricted", pod["spec"]) != []


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("require-resource-limits", P.require_resource_limits),
        ("disallow-latest-tag", P.disallow_latest_tag),
        ("restrict-image-registries", P.restrict_image_registries),
    ],
)
def test_the_kyverno_policies_admit_the_clients(name: str, check: Any) -> None:
    policy = one(built("base"), "ValidatingPolicy", name)
    for why, pod in _clients("aws").items():
        if P.in_scope(policy, pod):
            assert check(policy, pod) == [], why


# ---- network -------------------------------------------------------------------------------
def _endpoint(pod: Doc) -> Endpoint:
    meta = pod["metadata"]
    return Endpoint(meta["name"], meta["namespace"], dict(meta["labels"]))


def _ns(cloud: str) -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["metadata"].get("labels", {})
            for d in find(built(f"overlays/{cloud}"), "Namespace")}  # fmt: skip


@pytest.mark.parametrize("cloud", CLOUDS)
def test_clients_reach_postgresql_and_other_pods_do_not(cloud: str) -> None:
    pols = [d for d in all_docs(cloud) if d["kind"] == "NetworkPolicy"]
    ns = _ns(cloud)
    clients = _clients(cloud)
    reach = [why for why, pod in clients.items()
             if not allowed(pols, _endpoint(pod), POSTGRES, 5432, namespaces=ns)]  # fmt: skip
    assert reach == []
    others = {
        "a step without the feature store": _step_pods(cloud, None)["step-historical-features"],
        "a predictor of an untagged version": _predictor_pod(cloud, feature_service=""),
    }
    leaks = [why for why, pod in others.items()
             if allowed(pols, _endpoint(pod), POSTGRES, 5432, namespaces=ns)]  # fmt: skip
    assert leaks == []


def test_no_role_lets_the_client_service_accounts_read_secrets() -> None:
    # the kubelet mounts the Secret for the pod; the pods' own identities need no secret access
    roles = [d for d in chart_docs("aws") if d["kind"] in ("Role", "ClusterRole")]
    for role in roles:
        for rule in role.get("rules", []):
            assert "secrets" not in rule.get("resources", []), role["metadata"]["name"]
