"""Logs, GPU metrics and cost in the cluster (issue 19): the releases' wiring, as far as it can be
checked without a cluster.

GIVEN helm/versions.yaml, the values (common < cloud), each cloud's node pools, namespaces and
NetworkPolicies WHEN the log agent, the DCGM exporter and OpenCost are read as the charts would
build them (``behaviour/_charts``: chart defaults recorded per row) THEN the agent runs on every
node pool and reaches Loki's OTLP endpoint with a collector config whose every pipeline names
components that exist, Tetragon's event file is the one it tails, the DCGM exporter runs on the
GPU pools only and its ServiceMonitor keeps the GPU workload's labels, and OpenCost reads the
Prometheus the platform installs.

Not verified here (no cluster, no collector binary): that the collector accepts the config
(component schemas, the stanza expressions), that Loki accepts the OTLP payloads, that DCGM
finds the driver on each cloud's GPU image, that OpenCost reaches a cloud's price list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from mlplatform.cost import rates

from ._tree import CLOUDS, HELM, catalog, releases_on
from .behaviour._charts import CHART_PODS, chart_pods
from .behaviour._network import Endpoint, allowed
from .behaviour._pools import pools
from .behaviour._psa import baseline_violations, levels, violations
from .behaviour._rendered import values
from .behaviour._scheduling import why_not
from .kubernetes._manifests import built
from .kubernetes._pss import restricted_violations

AGENT, DCGM, OPENCOST = "opentelemetry-collector-agent", "dcgm-exporter", "opencost"
NEW = (AGENT, DCGM, OPENCOST)

# Chart facts the checks rely on (read at the versions noted in the values files' headers).
# opentelemetry-collector 0.158.x values.yaml: the default config's components that stay.
COLLECTOR_DEFAULT_CONFIG: dict[str, Any] = {
    "extensions": {"health_check": {"endpoint": "${env:MY_POD_IP}:13133"}},
    "processors": {"batch": {}, "memory_limiter": {"check_interval": "5s"}},
    "receivers": {"otlp": {}, "jaeger": {}, "zipkin": {}, "prometheus": {}},
    "exporters": {"debug": {}},
    "service": {
        "extensions": ["health_check"],
        "pipelines": {
            "logs": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                     "exporters": ["debug"]},
            "metrics": {"receivers": ["otlp", "prometheus"],
                        "processors": ["memory_limiter", "batch"], "exporters": ["debug"]},
            "traces": {"receivers": ["otlp", "jaeger", "zipkin"],
                       "processors": ["memory_limiter", "batch"], "exporters": ["debug"]},
        },
    },
}  # fmt: skip
# loki 18.x: the monolithic Service is the release's fullname, http port loki.server's 3100
LOKI_HTTP_PORT = 3100
# kube-prometheus-stack: Service <release>-prometheus, prometheus.service.port 9090
PROMETHEUS_PORT = 9090
# dcgm-exporter 4.8.2 templates/service.yaml and service-monitor.yaml: both name the port
# "metrics"; the series' labels (internal/pkg/collector, transformation/const.go)
DCGM_PORT_NAME = "metrics"
DCGM_LABELS = {"gpu", "UUID", "device", "modelName", "Hostname", "pci_bus_id"}
DCGM_POD_LABELS = {"namespace", "pod", "container"}


# ---- the collector config as the chart builds it --------------------------------------------
def _helm_merge(base: Any, over: Any) -> Any:
    """Helm's values coalescing: maps merge, everything else replaces, null deletes a key."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _helm_merge(base.get(key), value) if key in base else value
        return merged
    return over


def agent_config(cloud: str) -> dict[str, Any]:
    """The agent's collector config: chart defaults < values, then the presets
    (templates/_config.tpl: logsCollection adds receiver ``filelog`` to the logs pipeline and,
    with storeCheckpoints, extension ``file_storage``; kubernetesAttributes prepends processor
    ``k8sattributes`` to every pipeline)."""
    vals = values(AGENT, cloud)
    config = _helm_merge(COLLECTOR_DEFAULT_CONFIG, vals.get("config", {}))
    presets = vals.get("presets", {})
    pipelines = config["service"]["pipelines"]
    if presets.get("logsCollection", {}).get("enabled"):
        config["receivers"]["filelog"] = {"include": ["/var/log/pods/*/*/*.log"]}
        logs = pipelines.setdefault("logs", {})
        logs["receivers"] = [*logs.get("receivers", []), "filelog"]
        if presets["logsCollection"].get("storeCheckpoints"):
            config["extensions"]["file_storage"] = {"directory": "/var/lib/otelcol"}
            config["service"]["extensions"] = [*config["service"]["extensions"], "file_storage"]
    if presets.get("kubernetesAttributes", {}).get("enabled"):
        config["processors"]["k8sattributes"] = {}
        for pipeline in pipelines.values():
            pipeline["processors"] = ["k8sattributes", *pipeline.get("processors", [])]
    return config


def undefined_components(config: Mapping[str, Any]) -> list[str]:
    """What a pipeline or the service names but the config does not define."""
    missing = [
        f"{name}: {kind} {component}"
        for name, pipeline in config["service"]["pipelines"].items()
        for kind in ("receivers", "processors", "exporters")
        for component in pipeline.get(kind, [])
        if component not in config.get(kind, {})
    ]
    missing += [
        f"service: extension {e}"
        for e in config["service"].get("extensions", [])
        if e not in config.get("extensions", {})
    ]
    missing += [f"storage {s}" for s in _storages(config) if s not in config.get("extensions", {})]
    return missing


def _storages(config: Mapping[str, Any]) -> list[str]:
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "storage" and isinstance(value, str):
                    found.append(value)
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for section in ("receivers", "exporters"):
        visit(config.get(section, {}))
    return found


def _pods(release: str, cloud: str) -> list[tuple[str, str, str, dict[str, str], dict[str, Any]]]:
    return chart_pods(release, cloud, values)


def _one_pod(release: str, cloud: str) -> dict[str, Any]:
    (found,) = _pods(release, cloud)
    return found[4]


# ---- pins -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_cloud_installs_the_new_releases_with_pins_and_values(cloud: str) -> None:
    for name in NEW:
        assert name in releases_on(cloud), (cloud, name)
        assert (HELM / "common" / f"{name}.yaml").is_file(), name
        assert name in CHART_PODS, f"behaviour/_charts.py has no row for {name}"


def test_the_agent_is_the_gateway_chart_at_the_same_pin() -> None:
    gateway, agent = catalog()["opentelemetry-collector"], catalog()[AGENT]
    for key in ("repository", "chart", "version"):
        assert agent[key] == gateway[key], key
    assert values(AGENT, "aws")["mode"] == "daemonset"


def test_scraped_releases_install_after_the_prometheus_operator() -> None:
    """Their ServiceMonitors and PodMonitors need the CRDs of kube-prometheus-stack (wave 0)."""
    for name in NEW:
        assert catalog()[name]["wave"] > catalog()["kube-prometheus-stack"]["wave"], name


# ---- the log agent --------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_agent_runs_on_every_node_pool(cloud: str) -> None:
    pod = _one_pod(AGENT, cloud)
    refused = {p.name: why_not(pod, p) for p in pools(cloud) if why_not(pod, p)}
    assert not refused, refused
    assert any(p.gpu for p in pools(cloud))
    assert any(p.taints for p in pools(cloud))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_agent_meets_its_namespace_pod_security_level(cloud: str) -> None:
    (_, namespace, _, _, pod) = _pods(AGENT, cloud)[0]
    level = levels(d for d in built(f"overlays/{cloud}") if d["kind"] == "Namespace").get(
        namespace, "privileged"
    )
    assert violations(level, pod) == [], level
    # host access is read-only file access, nothing more: only hostPath volumes keep it out of
    # baseline (no privileged container, host namespace or host port)
    problems = baseline_violations(pod)
    assert problems
    assert all(p.startswith("hostPath volume") for p in problems), problems
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True


def test_the_agent_binds_no_host_port() -> None:
    ports = values(AGENT, "aws")["ports"]
    open_ports = [name for name, port in ports.items() if port.get("enabled", True)]
    assert open_ports == ["metrics"], open_ports  # the chart default gives hostPort only to these
    assert "hostPort" not in ports["metrics"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_agent_pipeline_names_defined_components(cloud: str) -> None:
    config = agent_config(cloud)
    assert undefined_components(config) == []
    assert set(config["service"]["pipelines"]) == {"logs"}
    logs = config["service"]["pipelines"]["logs"]
    assert {"filelog", "filelog/tetragon"} <= set(logs["receivers"])
    assert logs["processors"][0] == "k8sattributes"
    assert logs["exporters"] == ["otlphttp/loki"]


def test_the_pipeline_check_finds_a_missing_component() -> None:
    config = agent_config("aws")
    config["service"]["pipelines"]["logs"]["exporters"] = ["otlphttp/elsewhere"]
    config["exporters"]["otlphttp/loki"]["sending_queue"]["storage"] = "no_such_storage"
    assert undefined_components(config) == [
        "logs: exporters otlphttp/elsewhere",
        "storage no_such_storage",
    ]


def _loki_otlp_url() -> str:
    loki = catalog()["loki"]
    assert values("loki", "aws")["deploymentMode"] == "SingleBinary"
    return f"http://loki.{loki['namespace']}.svc:{LOKI_HTTP_PORT}/otlp"


@pytest.mark.parametrize("release", [AGENT, "opentelemetry-collector"])
def test_collectors_send_logs_to_lokis_service_and_port(release: str) -> None:
    exporter = values(release, "aws")["config"]["exporters"]["otlphttp/loki"]
    assert exporter["endpoint"] == _loki_otlp_url()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_agent_reaches_loki_through_the_network_policies(cloud: str) -> None:
    docs = built(f"overlays/{cloud}")
    namespaces = {
        d["metadata"]["name"]: d["metadata"].get("labels", {})
        for d in docs
        if d["kind"] == "Namespace"
    }
    (_, agent_ns, _, agent_labels, _) = _pods(AGENT, cloud)[0]
    (_, loki_ns, _, loki_labels, _) = _pods("loki", cloud)[0]
    agent = Endpoint("agent", agent_ns, agent_labels)
    loki = Endpoint("loki", loki_ns, loki_labels, (("http-metrics", LOKI_HTTP_PORT, "TCP"),))
    assert allowed(docs, agent, loki, LOKI_HTTP_PORT, namespaces=namespaces)
    # the check can refuse: a default deny in the agent's namespace would stop it
    deny = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": agent_ns},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
    }
    assert not allowed([*docs, deny], agent, loki, LOKI_HTTP_PORT, namespaces=namespaces)


# ---- Tetragon's events ----------------------------------------------------------------------
def test_the_agent_tails_the_file_tetragon_writes_from_a_read_only_mount() -> None:
    tetragon = values("tetragon", "aws")
    directory = tetragon["exportDirectory"]
    path = f"{directory}/{tetragon['tetragon']['exportFilename']}"
    agent = values(AGENT, "aws")
    assert agent_config("aws")["receivers"]["filelog/tetragon"]["include"] == [path]
    mounts = {m["name"]: m for m in agent["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in agent["extraVolumes"]}
    (name,) = [n for n, v in volumes.items() if v["hostPath"]["path"] == directory]
    assert mounts[name]["mountPath"] == directory
    assert mounts[name]["readOnly"] is True
    pod = _one_pod(AGENT, "aws")
    assert directory in {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}


def _operators() -> list[dict[str, Any]]:
    return list(agent_config("aws")["receivers"]["filelog/tetragon"]["operators"])


def test_tetragon_events_carry_the_process_pod_and_source_tetragon() -> None:
    operators = _operators()
    assert operators[0]["type"] == "json_parser"
    kinds = set(re.findall(r'"?process_(\w+)"?', " ".join(str(o.get("from")) for o in operators)))
    exported = set(
        re.findall(r"PROCESS_(\w+)", values("tetragon", "aws")["tetragon"]["exportAllowList"])
    )
    assert {k.lower() for k in exported} <= kinds, "an exported event type keeps no pod"
    targets = {o["to"] for o in operators if o["type"] == "copy"}
    assert targets == {'resource["k8s.namespace.name"]', 'resource["k8s.pod.name"]'}
    (source,) = [o for o in operators if o["type"] == "add"]
    assert (source["field"], source["value"]) == ('resource["source"]', "tetragon")


def test_loki_indexes_the_source_attribute_the_agent_sets() -> None:
    limits = values("loki", "aws")["loki"]["limits_config"]
    indexed = {
        a
        for rule in limits["otlp_config"]["resource_attributes"]["attributes_config"]
        if rule["action"] == "index_label"
        for a in rule["attributes"]
    }
    assert "source" in indexed
    assert limits["allow_structured_metadata"] is True
    workload = agent_config("aws")["processors"]["resource/workload"]["attributes"]
    assert {"key": "source", "value": "workload", "action": "insert"} in workload


# ---- DCGM exporter --------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_dcgm_exporter_runs_on_exactly_the_gpu_pools(cloud: str) -> None:
    pod = _one_pod(DCGM, cloud)
    landed = {p.name for p in pools(cloud) if why_not(pod, p) is None}
    gpu = {p.name for p in pools(cloud) if p.gpu}
    assert gpu
    assert landed == gpu, {p.name: why_not(pod, p) for p in pools(cloud)}


def test_the_dcgm_service_monitor_keeps_the_workloads_labels() -> None:
    vals = values(DCGM, "aws")
    monitor = vals["serviceMonitor"]
    assert monitor["enabled"] is True
    assert monitor["honorLabels"] is True
    assert vals.get("service", {}).get("enable", True) is True
    (_, _, _, _, pod) = _pods(DCGM, "aws")[0]
    assert [p["name"] for p in pod["containers"][0]["ports"]] == [DCGM_PORT_NAME]


def test_the_dcgm_metrics_include_gpu_utilisation_with_the_labels_the_alert_reads() -> None:
    vals = values(DCGM, "aws")
    counters = vals.get("customMetrics")
    assert counters is None or re.search(r"(?m)^\s*DCGM_FI_DEV_GPU_UTIL\s*,", counters)
    args = vals.get("arguments", ["-f", "/etc/dcgm-exporter/default-counters.csv"])
    assert args[args.index("-f") + 1] == "/etc/dcgm-exporter/default-counters.csv"
    platform = (HELM.parent.parent / "src/mlplatform/alerts/platform.py").read_text()
    (by,) = re.findall(r"avg by \(([^)]*)\) \(DCGM_FI_DEV_GPU_UTIL\)", platform)
    assert {label.strip() for label in by.split(",")} <= DCGM_LABELS | DCGM_POD_LABELS


def test_the_gke_delta_keeps_the_counters_mount_and_adds_the_driver() -> None:
    common, gcp = values(DCGM, "aws"), values(DCGM, "gcp")
    assert "extraVolumeMounts" not in common or all(
        m in gcp["extraVolumeMounts"] for m in common["extraVolumeMounts"]
    )
    mounts = {m["mountPath"]: m for m in gcp["extraVolumeMounts"]}
    # the chart's extraConfigMapVolumes default: volume exporter-metrics-volume, key "metrics"
    counters = mounts["/etc/dcgm-exporter/default-counters.csv"]
    assert (counters["name"], counters["subPath"]) == (
        "exporter-metrics-volume",
        "default-counters.csv",
    )
    assert mounts["/usr/local/nvidia"]["readOnly"] is True
    assert {v["hostPath"] for v in gcp["extraHostVolumes"]} == {"/home/kubernetes/bin/nvidia"}
    assert {"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"} in gcp["extraEnv"]
    assert "extraHostVolumes" not in common


# ---- OpenCost -------------------------------------------------------------------------------
@pytest.mark.parametrize("cloud", CLOUDS)
def test_opencost_reads_the_prometheus_the_platform_installs(cloud: str) -> None:
    internal = values(OPENCOST, cloud)["opencost"]["prometheus"]["internal"]
    kps_values = values("kube-prometheus-stack", cloud)
    assert "fullnameOverride" not in kps_values
    assert "nameOverride" not in kps_values
    assert kps_values["prometheus"].get("service", {}).get("port", PROMETHEUS_PORT) == 9090
    assert internal == {
        "enabled": True,
        "serviceName": "kube-prometheus-stack-prometheus",
        "namespaceName": catalog()["kube-prometheus-stack"]["namespace"],
        "port": PROMETHEUS_PORT,
    }


def test_opencost_exports_metrics_and_inference_cost() -> None:
    opencost = values(OPENCOST, "aws")["opencost"]
    assert opencost["metrics"]["serviceMonitor"]["enabled"] is True
    assert opencost["exporter"]["extraEnv"]["INFERENCE_COST_ENABLED"] == "true"
    label = opencost["exporter"]["extraEnv"]["INFERENCE_MODEL_LABEL"]
    render = (HELM.parent.parent / "src/mlplatform/llm/deploy/render.py").read_text()
    assert f'"{label}"' in render, "vLLM pods do not carry the model label OpenCost joins on"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_opencost_would_pass_the_restricted_profile(cloud: str) -> None:
    """monitoring enforces privileged; OpenCost needs nothing of it."""
    assert restricted_violations(_one_pod(OPENCOST, cloud)) == []


def test_gke_opencost_prices_are_the_designs_flat_rates() -> None:
    model = values(OPENCOST, "gcp")["opencost"]["customPricing"]
    assert model["enabled"] is True
    cost = model["costModel"]
    assert cost["CPU"] == rates.CPU_CORE_HOUR
    assert cost["GPU"] == rates.GPU_HOUR
    assert cost["RAM"] == pytest.approx(rates.MEMORY_GB_HOUR * 2**30 / 1e9, abs=1e-6)
    assert "customPricing" not in values(OPENCOST, "aws")["opencost"]


def test_values_files_are_plain_yaml() -> None:
    for name in NEW:
        for folder in ("common", *CLOUDS):
            path = HELM / folder / f"{name}.yaml"
            if path.is_file():
                assert isinstance(yaml.safe_load(path.read_text()), dict), path
