"""Traces in the cluster: each model container's OpenTelemetry environment.

Every predictor (the primary and each canary) sends its spans over OTLP/HTTP to the platform's
collector (``mlplatform.telemetry.COLLECTOR_ENDPOINT``), which forwards them to Tempo. The
service name is the InferenceService's; the resource names the registered model, the version,
its MLflow run and alias, and the namespace, so a trace in Grafana says which version answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlplatform.telemetry import pod_env

if TYPE_CHECKING:
    from mlplatform.serving.deploy.render import DeploySpec, VariantSpec

__all__ = ["tracing_env"]


def tracing_env(spec: DeploySpec, variant: VariantSpec) -> list[dict[str, str]]:
    """The OTEL_* variables of ``variant``'s model container."""
    identity = {
        "mlplatform.model.name": spec.model,
        "mlplatform.model.version": str(variant.version),
        "mlplatform.model.run_id": variant.run_id,
        "mlplatform.model.alias": variant.alias,
        "k8s.namespace.name": spec.options.namespace,
    }
    return [{"name": k, "value": v} for k, v in pod_env(spec.name, identity)]
