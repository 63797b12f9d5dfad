"""Applying: server-side apply through the dynamic client, errors mapped to DeployError.

No API server runs here, so the dynamic client is a fake that records calls and answers the
way ``kubernetes.dynamic`` does (discovery by apiVersion and kind, then a PATCH).
"""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from mlplatform.errors import DeployError
from mlplatform.serving.deploy import KubernetesApplier, apply_all, render
from mlplatform.serving.deploy.apply import FIELD_MANAGER

from ._specs import spec


class FakeDynamicClient:
    def __init__(self, missing: str | None = None, refuse: str | None = None) -> None:
        self.missing, self.refuse, self.calls = missing, refuse, []
        self.resources = self

    def get(self, *, api_version: str, kind: str) -> str:
        if kind == self.missing:
            raise ResourceNotFoundError(f"No matches found for {api_version} {kind}")
        return f"{api_version}/{kind}"

    def server_side_apply(self, resource, **kwargs) -> None:
        if resource.endswith(f"/{self.refuse}"):
            raise ApiException(status=422, reason="Unprocessable Entity")
        self.calls.append((resource, kwargs))


def test_every_document_is_server_side_applied_in_order_by_mlp():
    fake = FakeDynamicClient()
    applied = apply_all(render(spec(canary=10)), KubernetesApplier(client=fake))
    assert applied == [
        "ServingRuntime/kserve/mlplatform-serving",
        "InferenceService/kserve/churn-model",
        "HTTPRoute/kserve/churn-model",
        "PodMonitor/kserve/churn-model",
    ]
    resource, kwargs = fake.calls[1]
    assert resource == "serving.kserve.io/v1beta1/InferenceService"
    assert kwargs["field_manager"] == FIELD_MANAGER == "mlp"
    assert kwargs["force_conflicts"] is False
    assert kwargs["namespace"] == "kserve"
    assert kwargs["body"]["spec"]["canary"][0]["predictor"]["name"] == "v4"


def test_a_cluster_without_the_crd_says_so():
    applier = KubernetesApplier(client=FakeDynamicClient(missing="PodMonitor"))
    with pytest.raises(
        DeployError, match=r"does not serve PodMonitor \(monitoring.coreos.com/v1\)"
    ):
        apply_all(render(spec()), applier)


def test_a_refusal_names_the_object_and_the_status():
    applier = KubernetesApplier(client=FakeDynamicClient(refuse="HTTPRoute"))
    with pytest.raises(DeployError, match="refused HTTPRoute/kserve/churn-model: 422"):
        apply_all(render(spec()), applier)


def test_no_kubeconfig_is_a_deploy_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(DeployError, match="no Kubernetes cluster is configured"):
        KubernetesApplier().client()
