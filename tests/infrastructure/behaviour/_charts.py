"""The upstream charts' pods as far as our values decide them (no chart source here).

Each row names a component's value prefix, its workload kind, its labels and ports, and the
chart defaults we rely on (read from the chart at the pinned version, noted per row). A pod is
built from ``<prefix>.nodeSelector``, ``.tolerations``, ``.affinity`` (``global.*`` where the chart
falls back to it), ``.resources`` and the security contexts, over those defaults. What a chart
template hard-codes is not seen unless a row records it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._tree import catalog

EXISTS_NOSCHEDULE = [{"operator": "Exists", "effect": "NoSchedule"}]


@dataclass(frozen=True)
class Component:
    name: str
    prefix: str  # dotted value path of the component ("" for top level)
    kind: str = "Deployment"
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str, int], ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)  # chart defaults we rely on
    pod_security: str = "podSecurityContext"  # key under the prefix
    container_security: str = "securityContext"
    placement: str = ""  # sub-path holding nodeSelector/tolerations/affinity, if not prefix
    global_fallback: bool = False
    security: str | None = None  # value path holding the two security keys, if not prefix
    resources: str = "resources"  # key (dotted) under the prefix
    host_paths: tuple[str, ...] = ()  # hostPath volumes the chart's template adds
    extra_volumes: str = ""  # key (dotted) under the prefix holding more pod volumes


def _c(name: str, prefix: str, **kw: Any) -> Component:
    return Component(name, prefix, **kw)


CHART_PODS: dict[str, tuple[Component, ...]] = {
    "argo-cd": tuple(
        _c(n, p, kind=k, global_fallback=True, labels={"app.kubernetes.io/name": f"argocd-{n}"})
        for n, p, k in [
            ("application-controller", "controller", "StatefulSet"),
            ("server", "server", "Deployment"),
            ("repo-server", "repoServer", "Deployment"),
            ("applicationset-controller", "applicationSet", "Deployment"),
            ("redis", "redis", "Deployment"),
            ("dex-server", "dex", "Deployment"),
            ("notifications-controller", "notifications", "Deployment"),
        ]
    ),
    "argo-workflows": (
        _c(
            "workflow-controller",
            "controller",
            ports=(("metrics", 9090),),
            labels={"app.kubernetes.io/component": "workflow-controller"},
        ),
        _c(
            "server",
            "server",
            ports=(("web", 2746),),
            labels={"app.kubernetes.io/component": "server"},
        ),
    ),
    "aws-load-balancer-controller": (_c("controller", ""),),
    "cert-manager": (
        _c("controller", ""),
        _c("webhook", "webhook"),
        _c("cainjector", "cainjector"),
    ),
    "chaos-mesh": (
        _c("controller-manager", "controllerManager"),
        _c("dashboard", "dashboard"),
        _c("chaos-daemon", "chaosDaemon", kind="DaemonSet"),
    ),
    "envoy-gateway": (_c("envoy-gateway", "deployment", placement="deployment.pod"),),
    "external-secrets": (
        _c("controller", ""),
        _c("webhook", "webhook"),
        _c("cert-controller", "certController"),
    ),
    "karpenter": (_c("controller", ""),),
    # keda 2.20.2: placement at the top level, resources and security contexts per component
    "keda": tuple(
        _c(
            n,
            "",
            pod_security=f"podSecurityContext.{key}",
            container_security=f"securityContext.{key}",
            resources=f"resources.{key}",
            labels={"app": f"keda-{n}"},
        )
        for n, key in (
            ("operator", "operator"),
            ("operator-metrics-apiserver", "metricServer"),
            ("admission-webhooks", "webhooks"),
        )
    ),
    # keda-add-ons-http 0.15.0: placement and resources per component, the security contexts
    # at the top level for every pod; the templates also hard-code nodeSelector
    # kubernetes.io/os: linux (not recorded: the pool table carries no OS label).
    "keda-add-ons-http": tuple(
        _c(
            n,
            prefix,
            security="",
            labels={"app.kubernetes.io/name": "http-add-on", "app.kubernetes.io/component": comp},
            ports=ports,
        )
        for n, prefix, comp, ports in (
            ("controller-manager", "operator", "operator", (("metrics", 8443), ("probes", 8081))),
            ("external-scaler", "scaler", "scaler", (("grpc", 9090), ("metrics", 2223))),
            ("interceptor", "interceptor", "interceptor", (("admin", 9090), ("proxy", 8080))),
        )
    ),
    # kserve-resources v0.20: kserve.controller.securityContext is the pod's,
    # containerSecurityContext the manager container's.
    "kserve": (
        _c(
            "kserve-controller-manager",
            "kserve.controller",
            pod_security="securityContext",
            container_security="containerSecurityContext",
            labels={"control-plane": "kserve-controller-manager"},
            ports=(("webhook-server", 9443), ("metrics", 8080)),
        ),
    ),
    "kube-prometheus-stack": (
        _c(
            "prometheus",
            "prometheus.prometheusSpec",
            kind="StatefulSet",
            labels={"app.kubernetes.io/name": "prometheus"},
        ),
        _c("alertmanager", "alertmanager.alertmanagerSpec", kind="StatefulSet"),
        _c("grafana", "grafana"),
        _c("operator", "prometheusOperator"),
        _c("kube-state-metrics", "kube-state-metrics"),
        # prometheus-node-exporter's default tolerations: NoSchedule, Exists
        _c(
            "node-exporter",
            "prometheus-node-exporter",
            kind="DaemonSet",
            defaults={"tolerations": EXISTS_NOSCHEDULE},
        ),
    ),
    "kyverno": tuple(
        _c(p, p)
        for p in (
            "admissionController",
            "backgroundController",
            "cleanupController",
            "reportsController",
        )
    ),
    "loki": (_c("loki", "singleBinary", kind="StatefulSet"),),
    "minio": (_c("minio", ""),),
    # community-charts mlflow: podSecurityContext and securityContext default to {}.
    "mlflow": (
        _c("mlflow", "", labels={"app.kubernetes.io/name": "mlflow"}, ports=(("http", 5000),)),
    ),
    # feast-feature-server 0.66.0 templates/deployment.yaml: pod labels are the selector labels
    # (name, instance); container port "online" 6566; the metrics port 8000 is on the Service only
    "feast-feature-server": (
        _c(
            "server",
            "",
            labels={"app.kubernetes.io/name": "feast-feature-server"},
            ports=(("online", 6566),),
        ),
    ),
    "nvidia-device-plugin": (_c("device-plugin", "", kind="DaemonSet"),),
    "opentelemetry-collector": (_c("collector", ""),),
    # opentelemetry-collector 0.158.x in mode daemonset (templates/_pod.tpl): presets.logsCollection
    # mounts /var/log/pods and /var/lib/docker/containers, storeCheckpoints /var/lib/otelcol;
    # pod labels app.kubernetes.io/name=opentelemetry-collector, component=agent-collector
    "opentelemetry-collector-agent": (
        _c(
            "agent",
            "",
            kind="DaemonSet",
            labels={
                "app.kubernetes.io/name": "opentelemetry-collector",
                "component": "agent-collector",
            },
            ports=(("metrics", 8888),),
            host_paths=("/var/log/pods", "/var/lib/docker/containers", "/var/lib/otelcol"),
            extra_volumes="extraVolumes",
        ),
    ),
    # dcgm-exporter 4.8.2 templates/daemonset.yaml: selector labels name/instance/component,
    # port "metrics" 9400, hostPath volume of kubeletPath (/var/lib/kubelet/pod-resources);
    # securityContext default: root, SYS_ADMIN added, ALL dropped
    "dcgm-exporter": (
        _c(
            "dcgm-exporter",
            "",
            kind="DaemonSet",
            labels={
                "app.kubernetes.io/name": "dcgm-exporter",
                "app.kubernetes.io/component": "dcgm-exporter",
            },
            ports=(("metrics", 9400),),
            host_paths=("/var/lib/kubelet/pod-resources",),
            defaults={
                "tolerations": [
                    {
                        "key": "node-role.kubernetes.io/control-plane",
                        "operator": "Exists",
                        "effect": "NoSchedule",
                    }
                ]
            },
        ),
    ),
    # opencost 2.5.x: the exporter container's security context is opencost.exporter's, the
    # pod's podSecurityContext top level; API port "http" 9003
    "opencost": (
        _c(
            "opencost",
            "",
            labels={"app.kubernetes.io/name": "opencost"},
            ports=(("http", 9003),),
            security="",
            container_security="opencost.exporter.securityContext",
            resources="opencost.exporter.resources",
        ),
    ),
    "tempo": (_c("tempo", "", kind="StatefulSet"),),
    # tetragon's default tolerations: Exists (every taint)
    "tetragon": (
        _c("tetragon", "", kind="DaemonSet", defaults={"tolerations": [{"operator": "Exists"}]}),
        _c("operator", "tetragonOperator"),
    ),
    # kserve-llmisvc-resources v0.20: kserve.llmisvc.controller.securityContext is the pod's,
    # containerSecurityContext the manager container's.
    "kserve-llmisvc": (
        _c(
            "llmisvc-controller-manager",
            "kserve.llmisvc.controller",
            pod_security="securityContext",
            container_security="containerSecurityContext",
            labels={"control-plane": "llmisvc-controller-manager"},
            ports=(("webhook-server", 9443), ("metrics", 8443)),
        ),
    ),
    # lws 0.8.0: podSecurityContext and securityContext at the top level.
    "lws": (
        _c(
            "controller-manager",
            "",
            labels={"control-plane": "controller-manager"},
            ports=(("webhook-server", 9443),),
        ),
    ),
    # body-based-routing v1.5.0: the template sets no security context and takes none from
    # the values (the pod runs in mlplatform-system, which enforces no Pod Security level).
    "body-based-routing": (
        _c(
            "body-based-router",
            "bbr",
            labels={"app": "body-based-router"},
            ports=(("grpc", 9004), ("health", 9005)),
        ),
    ),
    "kserve-crd": (),
    "kserve-llmisvc-crd": (),
    "inference-extension-crds": (),
    "kserve-runtime-configs": (),
    "platform-config": (),
}

Values = Callable[..., dict[str, Any]]


def _at(values: Mapping[str, Any], dotted: str) -> Any:
    value: Any = values
    for part in [p for p in dotted.split(".") if p]:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if value is not None else {}


def chart_pods(
    release: str, cloud: str, values: Values
) -> list[tuple[str, str, str, dict[str, str], dict[str, Any]]]:
    """(kind, namespace, name, labels, pod spec) of each component of ``release``."""
    vals = values(release, cloud)
    namespace = catalog()[release]["namespace"]
    found = []
    for comp in CHART_PODS[release]:
        found.append(
            (
                comp.kind,
                namespace,
                f"{release}-{comp.name}",
                {
                    "app.kubernetes.io/instance": release,
                    **comp.labels,
                    **_at(vals, comp.prefix).get("podLabels", {}),
                },
                _pod(comp, vals),
            )
        )
    return found


def _pod(comp: Component, vals: Mapping[str, Any]) -> dict[str, Any]:
    own, where = _at(vals, comp.prefix), _at(vals, comp.placement or comp.prefix)
    secured = own if comp.security is None else _at(vals, comp.security)
    pod: dict[str, Any] = {}
    for key in ("nodeSelector", "tolerations", "affinity"):
        value = where.get(key) or (comp.global_fallback and _at(vals, "global").get(key))
        value = value or comp.defaults.get(key)
        if value:
            pod[key] = value
    pod["securityContext"] = _at(secured, comp.pod_security)
    container = {
        "name": comp.name,
        "resources": _at(own, comp.resources),
        "securityContext": _at(secured, comp.container_security),
        "ports": [{"name": n, "containerPort": p} for n, p in comp.ports],
    }
    pod["containers"] = [container]
    volumes = [
        {"name": f"host-{i}", "hostPath": {"path": path}} for i, path in enumerate(comp.host_paths)
    ]
    volumes += list(_at(own, comp.extra_volumes) or []) if comp.extra_volumes else []
    if volumes:
        pod["volumes"] = volumes
    return pod
